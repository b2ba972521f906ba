/**
 * persist-archive: persistent archival of JavaScript values as importable ES modules.
 * @packageDocumentation
 */

export { DataSet, type DataSetOpenOptions } from "./dataset/dataset.js";
export * from "./errors.js";
export type { TypedArray } from "./runtime/persist-runtime.mjs";
export { NDArray } from "./runtime/persist-runtime.mjs";
