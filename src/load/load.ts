/**
 * load(): read an archive back, safely by default. See docs/archive-language.md for the language the
 * safe path reads, and trusted.ts for `trusted: true`.
 */
import { readFile, stat } from "node:fs/promises";
import { isAbsolute, join, relative, resolve } from "node:path";
import { ArchiveError, FormatError, NotFoundError } from "../errors.js";
import { Interpreter } from "./interpreter.js";
import type { ModuleMap } from "./resolve.js";
import { importTrusted } from "./trusted.js";

/** Options of {@link load}: how the archive is read, and where its imports come from. */
export interface LoadOptions {
  /** Evaluate the module as code (fresh on every call) instead of interpreting it. Default false. */
  trusted?: boolean;
  /** Import specifier → module namespace; takes precedence over register() and Node resolution. */
  modules?: Record<string, Record<string, unknown>>;
}

export interface InterpretSourceOptions {
  /** File the text came from: named in errors, and the base for external array locations. */
  file: string;
  modules?: ModuleMap | undefined;
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
    const interpreter = new Interpreter(text, { file, modules: options.modules });
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
 */
export async function load<T = Record<string, unknown>>(
  path: string,
  options: LoadOptions = {},
): Promise<T> {
  const entry = await entryModule(path);
  if (options.trusted) return (await importTrusted(entry, options.modules)) as T;
  let text: string;
  try {
    text = await readFile(entry, "utf8");
  } catch (error) {
    throw new NotFoundError(`cannot read archive ${entry}: ${(error as Error).message}`, {
      file: entry,
      cause: error,
    });
  }
  return (await interpretSource(text, { file: entry, modules: options.modules })) as T;
}

/** The module file `path` names: itself, or a package directory's entry. */
async function entryModule(path: string): Promise<string> {
  const full = resolve(path);
  const info = await stat(full).catch(() => undefined);
  if (!info) {
    throw new NotFoundError(
      `no archive at ${full}: pass the entry module or the package directory`,
      {
        file: full,
      },
    );
  }
  if (!info.isDirectory()) return full;
  let entry = "index.mjs";
  const pkgFile = join(full, "package.json");
  const pkgText = await readFile(pkgFile, "utf8").catch(() => undefined);
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
    const fromExports = exportsEntry(pkg.exports);
    if (fromExports !== undefined) entry = fromExports;
    else if (typeof pkg.main === "string") entry = pkg.main;
  }
  const file = resolve(full, entry);
  const rel = relative(full, file);
  if (rel.startsWith("..") || isAbsolute(rel)) {
    throw new FormatError(`${pkgFile} points outside the package (${entry})`, { file: pkgFile });
  }
  if (!(await stat(file).catch(() => undefined))?.isFile()) {
    throw new NotFoundError(`package ${full} has no entry module ${entry}`, { file });
  }
  return file;
}

/** The "." entry of a package.json `exports` field, preferring the import condition. */
function exportsEntry(exports: unknown): string | undefined {
  if (typeof exports === "string") return exports;
  if (typeof exports !== "object" || exports === null || Array.isArray(exports)) return undefined;
  const map = exports as Record<string, unknown>;
  const keys = Object.keys(map);
  if (keys.some((k) => k.startsWith("."))) return exportsEntry(map["."]);
  for (const condition of ["import", "node", "default"]) {
    if (Object.hasOwn(map, condition)) {
      const found = exportsEntry(map[condition]);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}
