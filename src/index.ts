/**
 * persist-archive: persistent archival of JavaScript values as importable ES modules.
 * @packageDocumentation
 */

export { Archive, type ArchiveOptions, type SaveOptions, type SaveResult } from "./archive.js";
export type { ArrayFormat, NamedArray } from "./arrays/containers.js";
export { readArrayFiles, writeArrayFiles } from "./arrays/containers.js";
export { LazyArray, type LoadsAs } from "./arrays/lazy.js";
export type { NpyReadOptions } from "./arrays/npy.js";
export { npy } from "./arrays/npy.js";
export {
  DataSet,
  type DataSetOpenOptions,
  type GetOptions,
  type QueryOptions,
} from "./dataset/dataset.js";
export {
  ArchiveError,
  type ArchiveErrorOptions,
  DuplicateError,
  type ErrorLocation,
  FormatError,
  InvalidNameError,
  LazyLoadError,
  LockTimeoutError,
  NotFoundError,
  ReadOnlyError,
  UnsafeArchiveError,
  UnsupportedValueError,
} from "./errors.js";
export { type LoadOptions, load } from "./load/index.js";
export type { TypedArray } from "./runtime/persist-runtime.mjs";
export { NDArray } from "./runtime/persist-runtime.mjs";
export type { DataFormat } from "./store/layout.js";
export { Archivable } from "./values/archivable.js";
export { type AnyFunction, type RegisterOptions, register } from "./values/registry.js";
export { type PersistentRep, persist } from "./values/symbols.js";
