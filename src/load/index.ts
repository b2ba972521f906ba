/** Safe (and trusted) loading of archives. */
export { MAX_DEPTH } from "./interpreter.js";
export { type InterpretSourceOptions, interpretSource, type LoadOptions, load } from "./load.js";
export { RUNTIME_SPECIFIER } from "./resolve.js";
