/**
 * load(): read an archive back, safely by default. See docs/archive-language.md for the language the
 * safe path reads, and trusted.ts for `trusted: true`.
 */
import { stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { ArchiveError, FormatError, NotFoundError } from "../errors.js";
import type { ArrayReadOptions } from "../runtime/persist-runtime.mjs";
import { isInside, readConfinedText, realRoot } from "../store/confined.js";
import { checkComplete } from "./complete.js";
import { Interpreter } from "./interpreter.js";
import type { ModuleMap } from "./resolve.js";
import { importTrusted } from "./trusted.js";

/** Options of {@link load}: how the archive is read, and where its imports come from. */
export interface LoadOptions {
  /** Evaluate the module as code (fresh on every call) instead of interpreting it. Default false. */
  trusted?: boolean;
  /** Import specifier → module namespace; takes precedence over register() and Node resolution. */
  modules?: Record<string, Record<string, unknown>>;
  /**
   * Folder every file the safe loader reads must really lie in (after symlinks). Default: the
   * package directory, or the directory of the entry module. Widen it to accept an archive whose
   * files are symlinks into a folder you trust.
   */
  root?: string;
  /** For `s3://bucket/prefix/run1` paths: how to reach the store (default: the AWS_* variables). */
  s3?: import("../store/s3-store.js").S3Options;
  /**
   * Bytes of array data one external data file may produce per byte of its own size. Default
   * 1032 (the most deflate can expand): a small npz or HDF5 file cannot declare gigabytes. Raise
   * it (e.g. `Infinity`) for trusted files, such as an HDF5 file whose chunks were never written.
   */
  maxExpansion?: number;
  /**
   * Read external arrays (npy, npz, HDF5) from their headers only: each comes back as a
   * {@link LazyArray} (`dtype`, `shape`, `order`, `size`; `read()` and `rows(start, stop)` read
   * data on demand, with the same checks as a full load). Default false. Safe and trusted modes.
   *
   * Where the eager load gives a typed array (`_arrays.x.data` in the module, or a view on a
   * stored ArrayBuffer) rather than an NDArray, the LazyArray's `loadsAs` says so ("Float64Array",
   * "ArrayBuffer", "DataView", ...; "NDArray" otherwise) and `(await lazy.read()).data` is that
   * typed array. Views on one buffer stay lazy (each reads only its own bytes). A use of an array
   * in the module that needs its data (a converting copy, a Fortran-order reshape, an imported
   * class that computes from it) throws LazyLoadError: load without `lazy` for such archives.
   * In trusted mode, code in the module that receives a LazyArray gets it as is.
   */
  lazy?: boolean;
}

export interface InterpretSourceOptions {
  /** File the text came from: named in errors, and the base for external array locations. */
  file: string;
  modules?: ModuleMap | undefined;
  /** Folder external array files must lie in; default: the directory of `file`. */
  root?: string | undefined;
  /** See LoadOptions.maxExpansion. */
  maxExpansion?: number | undefined;
  /** See LoadOptions.lazy. */
  lazy?: boolean | undefined;
  /**
   * @internal Opens the data files instead of the file system (an S3 item's objects through
   * ranged GETs, store/s3-lazy.ts); it confines what it opens itself.
   */
  open?: ArrayReadOptions["open"];
}

/**
 * Interprets archive-language text without executing it and returns its exports.
 * Throws UnsafeArchiveError (with file:line:column) for anything outside the language, FormatError
 * when a value in it cannot be built.
 */
export async function interpretSource(
  text: string,
  options: InterpretSourceOptions,
): Promise<Record<string, unknown>> {
  const file = options.file;
  try {
    checkComplete(text, file);
    const interpreter = new Interpreter(text, {
      file,
      modules: options.modules,
      root: options.root ?? dirname(file),
      maxExpansion: options.maxExpansion,
      lazy: options.lazy,
      open: options.open,
    });
    for (;;) {
      const pending = interpreter.run();
      if (!pending) return interpreter.exports;
      await interpreter.completeArrays(pending);
    }
  } catch (error) {
    if (error instanceof ArchiveError) throw error;
    // Not expected: the interpreter checks what it reads. Still report it as the archive's problem.
    const why = error instanceof Error ? error.message : String(error);
    throw new FormatError(`cannot read ${file}: ${why}`, { file, cause: error });
  }
}

/**
 * Loads an archive: an entry module, a package directory, or a DataSet item module.
 * Reads the files again on every call. Returns the exports as a plain object.
 *
 * `T` types the result for the caller (no runtime check), e.g.
 * `load<typeof import("./run1/index.mjs")>("run1")` or `load<{ results: Results }>(path)`.
 *
 * Every file the safe path reads (package.json, the entry module, external array files) must be a
 * regular file whose real path lies inside the archive's folder (`options.root`, by default the
 * package directory or the entry module's directory); see src/store/confined.ts.
 */
export async function load<T = Record<string, unknown>>(
  path: string,
  options: LoadOptions = {},
): Promise<T> {
  if (typeof path === "string" && path.startsWith("s3://")) {
    // Object storage (store/s3-archive.ts): downloaded to a temp folder, then loaded from there;
    // a lazy load downloads no data files and reads them by ranged GETs.
    const { loadLazilyFromS3, withDownloadedArchive } = await import("../store/s3-archive.js");
    const { s3, ...rest } = options;
    if (rest.lazy) {
      const { modules, maxExpansion, trusted } = rest;
      return (await loadLazilyFromS3(path, s3, { modules, maxExpansion, trusted })) as T;
    }
    return withDownloadedArchive(path, s3, (local) => load<T>(local, rest));
  }
  const { entry, root } = await entryModule(path, options.root);
  if (options.trusted) {
    const lazy = options.lazy ? { maxExpansion: options.maxExpansion } : undefined;
    return (await importTrusted(entry, options.modules, lazy)) as T;
  }
  const text = await readConfinedText(entry, {
    root,
    what: "archive module",
    maxBytes: MAX_MODULE_BYTES,
  });
  return (await interpretSource(text, {
    file: entry,
    modules: options.modules,
    root,
    maxExpansion: options.maxExpansion,
    lazy: options.lazy,
  })) as T;
}

/**
 * Longest module text the safe loader reads: V8's longest string is 2^29 - 24 characters, and a
 * bigger file could not be one string anyway (such data belongs in external array files).
 */
export const MAX_MODULE_BYTES: number = 2 ** 29 - 24;

/** package.json is metadata: anything bigger than this (64 MiB) is not an archive's. */
const MAX_PACKAGE_JSON_BYTES = 64 << 20;

/** Deepest `exports` nesting followed in package.json (real ones use 2-4 levels). */
const MAX_EXPORTS_DEPTH = 32;

/** The module file `path` names (itself, or a package directory's entry) and its root folder. */
/** @internal The entry module and the root folder of the archive at `path` (load(), s3-archive.ts). */
export async function entryModule(
  path: string,
  rootOption: string | undefined,
): Promise<{ entry: string; root: string }> {
  const full = resolve(path);
  // stat, not open: it never blocks on a FIFO; what the path is gets checked again on open.
  const info = await stat(full).catch(() => undefined);
  if (!info) {
    throw new NotFoundError(
      `no archive at ${full}: pass the entry module or the package directory`,
      {
        file: full,
      },
    );
  }
  if (!info.isDirectory()) {
    const root = await realRoot(rootOption ?? dirname(full));
    return { entry: full, root };
  }
  const root = await realRoot(rootOption ?? full);
  let entry = "index.mjs";
  const pkgFile = join(full, "package.json");
  const pkgText = await readConfinedText(pkgFile, {
    root,
    what: "package.json",
    maxBytes: MAX_PACKAGE_JSON_BYTES,
  }).catch((error: unknown) => {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  });
  if (pkgText !== undefined) {
    let pkg: { exports?: unknown; main?: unknown };
    try {
      pkg = JSON.parse(pkgText);
    } catch (error) {
      throw new FormatError(`${pkgFile} is not valid JSON: ${(error as Error).message}`, {
        file: pkgFile,
        cause: error,
      });
    }
    if (typeof pkg !== "object" || pkg === null) {
      throw new FormatError(`${pkgFile} is not a JSON object`, { file: pkgFile });
    }
    const fromExports = exportsEntry(pkg.exports, pkgFile);
    if (fromExports !== undefined) entry = fromExports;
    else if (typeof pkg.main === "string") entry = pkg.main;
  }
  const file = resolve(full, entry);
  // Lexically first (a clear message for `"main": "../x.mjs"`); readConfined checks the real path.
  if (!isInside(full, file)) {
    throw new FormatError(
      `${pkgFile} points outside the package (${JSON.stringify(entry)}): the entry module must be a file inside ${full}`,
      { file: pkgFile },
    );
  }
  if (!(await stat(file).catch(() => undefined))) {
    throw new NotFoundError(`package ${full} has no entry module ${entry}`, { file });
  }
  return { entry: file, root };
}

/**
 * The "." entry of a package.json `exports` field, preferring the import condition. Iterative
 * with a depth limit: a hostile 100k-deep `exports` is a FormatError, not a stack overflow.
 */
function exportsEntry(exports: unknown, pkgFile: string): string | undefined {
  // Candidates to try in order, deepest-first like the recursive definition.
  const stack: { value: unknown; depth: number }[] = [{ value: exports, depth: 0 }];
  while (stack.length > 0) {
    const { value, depth } = stack.pop()!;
    if (depth > MAX_EXPORTS_DEPTH) {
      throw new FormatError(
        `${pkgFile}: "exports" is nested deeper than ${MAX_EXPORTS_DEPTH} levels`,
        { file: pkgFile },
      );
    }
    if (typeof value === "string") return value;
    if (typeof value !== "object" || value === null || Array.isArray(value)) continue;
    const map = value as Record<string, unknown>;
    if (Object.keys(map).some((k) => k.startsWith("."))) {
      // A subpath map: only "." is the package's entry (no fallback to conditions after it).
      stack.push({ value: Object.hasOwn(map, ".") ? map["."] : undefined, depth: depth + 1 });
      continue;
    }
    const conditions = ["import", "node", "default"].filter((c) => Object.hasOwn(map, c));
    for (let i = conditions.length - 1; i >= 0; i--) {
      stack.push({ value: map[conditions[i]!], depth: depth + 1 });
    }
  }
  return undefined;
}
