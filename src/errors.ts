/**
 * Every error persist-archive throws on purpose extends {@link ArchiveError}, so callers can tell
 * "the archive or the input is wrong" from bugs. Messages say what went wrong, where (value path,
 * file, line:column) and what to do about it.
 */

/** Where an error happened: any of a value path, a file, a position in that file. */
export interface ErrorLocation {
  /** Path of the value inside the archived graph, e.g. `results.runs[3].model`. */
  valuePath?: string;
  /** File the problem was found in. */
  file?: string;
  /** 1-based line in `file`. */
  line?: number;
  /** 1-based column in `file`. */
  column?: number;
}

/** Options of {@link ArchiveError}'s constructor: where it happened, and what caused it. */
export interface ArchiveErrorOptions extends ErrorLocation {
  /** The underlying error, kept as the standard `error.cause`. */
  cause?: unknown;
}

// Errors from the runtime file beside archives (which cannot import this module) carry this brand
// with a kind; see src/runtime/persist-runtime.mjs.
const RUNTIME_ERROR = Symbol.for("persist-archive.error");

/**
 * Base class of every deliberate error of persist-archive. `instanceof ArchiveError` (and
 * `instanceof FormatError`) is also true for the errors the archive runtime throws, including an
 * archive's own copy of it, e.g. a corrupt `.npy` found by a native `import()`.
 */
export class ArchiveError extends Error {
  /**
   * True for this library's errors, and for errors thrown by an archive's own copy of the runtime
   * (branded, since that file cannot import this class): `ArchiveError` matches all of them,
   * `FormatError` those of kind "format".
   */
  // `this` is the class `instanceof` was asked about (ArchiveError or a subclass): on purpose.
  // biome-ignore-start lint/complexity/noThisInStatic: dispatch on the subclass being tested
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    if (typeof value !== "object" || value === null) return false;
    const kind = (value as Record<symbol, unknown>)[RUNTIME_ERROR];
    if (kind === undefined) return false;
    return this === ArchiveError || (this === FormatError && kind === "format");
  }
  // biome-ignore-end lint/complexity/noThisInStatic: dispatch on the subclass being tested

  /** Path of the value inside the archived graph, e.g. `results.runs[3].model`, if known. */
  readonly valuePath: string | undefined;
  /** File the problem was found in, if any. */
  readonly file: string | undefined;
  /** 1-based line in `file`, if known. */
  readonly line: number | undefined;
  /** 1-based column in `file`, if known. */
  readonly column: number | undefined;

  /** `message` says what, where and what to do; `options` carry the location and the cause. */
  constructor(message: string, options: ArchiveErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.valuePath = options.valuePath;
    this.file = options.file;
    this.line = options.line;
    this.column = options.column;
  }
}

/** A name is not a valid identifier, is reserved, or starts with `_` without being allowed. */
export class InvalidNameError extends ArchiveError {}

/** A different value was inserted under a name that is already taken. */
export class DuplicateError extends ArchiveError {}

/** A value cannot be archived (unregistered class, closure, WeakMap, Promise, ...). */
export class UnsupportedValueError extends ArchiveError {}

/** A data file (npy, npz, hdf5) or an archive file is malformed. */
export class FormatError extends ArchiveError {}

/** The safe loader met something outside the archive language. */
export class UnsafeArchiveError extends ArchiveError {}

/** A name, file or directory that was asked for does not exist. */
export class NotFoundError extends ArchiveError {}

/** A write was attempted on something opened read-only. */
export class ReadOnlyError extends ArchiveError {}

/** The write lock could not be obtained in time. */
export class LockTimeoutError extends ArchiveError {}

/**
 * A lazy load (`{ lazy: true }`) met a use of an external array that needs its data (a copy into
 * another type, a reshape the file's layout cannot serve, a value computed from it): load without
 * `lazy` to get that value.
 */
export class LazyLoadError extends ArchiveError {}

/** @internal `file:line:col` (or the parts that are known) for messages. */
export function formatLocation(loc: ErrorLocation): string {
  let out = loc.file ?? "";
  if (loc.line !== undefined) {
    out += `${out ? ":" : "line "}${loc.line}`;
    if (loc.column !== undefined) out += `:${loc.column}`;
  }
  return out;
}
