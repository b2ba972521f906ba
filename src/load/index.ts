/** Safe (and trusted) loading of archives. */
export { ARCHIVE_END_MARKER, checkComplete, declaredFormat, isTruncated } from "./complete.js";
export { listImports } from "./imports.js";
export { MAX_DEPTH } from "./interpreter.js";
export {
  type InterpretSourceOptions,
  interpretSource,
  type LoadOptions,
  load,
  MAX_MODULE_BYTES,
} from "./load.js";
export { RUNTIME_SPECIFIER } from "./resolve.js";
