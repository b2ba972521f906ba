/**
 * persist-archive: persistent archival of JavaScript values as importable ES modules.
 * @packageDocumentation
 */

export type { ArrayFormat, NamedArray } from "./arrays/containers.js";
export { readArrayFiles, writeArrayFiles } from "./arrays/containers.js";
export type { NpyReadOptions } from "./arrays/npy.js";
export { npy } from "./arrays/npy.js";
export * from "./errors.js";
export type { TypedArray } from "./runtime/persist-runtime.mjs";
export { NDArray } from "./runtime/persist-runtime.mjs";
