/**
 * persist-archive: persistent archival of JavaScript values as importable ES modules.
 * @packageDocumentation
 */
export * from "./errors.js";
export { type LoadOptions, load } from "./load/index.js";
export type { TypedArray } from "./runtime/persist-runtime.mjs";
export { NDArray } from "./runtime/persist-runtime.mjs";
