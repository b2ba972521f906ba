/**
 * What a PATH on the command line is: a DataSet directory, or an archive in the package or module
 * layout (see src/store/layout.ts), with the data files its entry module reads.
 */
import { readdir, stat } from "node:fs/promises";
import { basename, dirname, extname, join, resolve } from "node:path";
import type { ArrayFormat } from "../arrays/containers.js";
import { itemFilesOnDisk } from "../dataset/codec.js";
import { MARKER_FILE } from "../dataset/layout.js";
import { ArchiveError, NotFoundError } from "../errors.js";
import { readConfinedText } from "../store/confined.js";

/** The external arrays an entry module loads: where, in which format, under which names. */
export interface DataFiles {
  format: ArrayFormat;
  /** Absolute path of the npy folder, .npz or .h5 file. */
  location: string;
  names: string[];
  /** The entry module's folder: data files must really lie inside it (confined reads). */
  root: string;
}

export interface ArchiveTarget {
  type: "archive";
  /** Absolute path of the entry module. */
  entry: string;
  layout: "package" | "module";
  /** Folder holding the entry module (the package directory for packages). */
  home: string;
  /** Save name: the package directory's name, or the module file's name without extension. */
  name: string;
  /** Absent when every array is inline. */
  data: DataFiles | undefined;
}

export interface DataSetTarget {
  type: "dataset";
  path: string;
}

export type Target = ArchiveTarget | DataSetTarget;

/** Classifies `path`; NotFoundError when it does not exist, ArchiveError when it is neither. */
export async function resolveTarget(path: string): Promise<Target> {
  // A DataSet on object storage (s3-dataset.ts): DataSet.open() takes the address as it is.
  if (path.startsWith("s3://")) return { type: "dataset", path };
  const full = resolve(path);
  const info = await stat(full).catch(() => undefined);
  if (!info) {
    throw new NotFoundError(`no archive or DataSet at ${full}: the path does not exist`, {
      file: full,
    });
  }
  if (info.isDirectory()) {
    if (await isFile(join(full, MARKER_FILE))) return { type: "dataset", path: full };
    const entry = join(full, "index.mjs");
    if ((await isFile(join(full, "package.json"))) && (await isFile(entry))) {
      return archiveTarget(entry, "package", full, basename(full));
    }
    throw new ArchiveError(
      `${full} is a directory but neither a DataSet (no ${MARKER_FILE}) nor an archive package ` +
        "(no package.json and index.mjs); pass a DataSet, a package directory or an entry module",
      { file: full },
    );
  }
  const home = dirname(full);
  if (basename(full) === "index.mjs" && (await isFile(join(home, "package.json")))) {
    return archiveTarget(full, "package", home, basename(home));
  }
  const ext = extname(full);
  if (ext !== ".mjs" && ext !== ".js") {
    throw new ArchiveError(
      `${full} is not an archive module (expected a .mjs file, a package directory or a DataSet)`,
      { file: full },
    );
  }
  return archiveTarget(full, "module", home, basename(full, ext));
}

async function archiveTarget(
  entry: string,
  layout: "package" | "module",
  home: string,
  name: string,
): Promise<ArchiveTarget> {
  return { type: "archive", entry, layout, home, name, data: await dataFilesOf(entry) };
}

// The statement Archive.save emits to load external arrays, e.g.
//   const _arrays = await _loadArrays(import.meta.url, "./_arrays", "npy", ["array_0", "array_1"]);
// Read as text (never executed): the CLI needs to know the data files without loading them.
// Matched in two steps so that hostile text cannot make it quadratic: the prefix up to the names
// list's "[" (its string is bounded), then the list's "]" found by indexOf and remembered, so each
// character is scanned a bounded number of times however many prefixes there are.
const LOAD_ARRAYS_PREFIX =
  /\bawait\s+[A-Za-z_$][\w$]*\(\s*import\.meta\.url\s*,\s*("(?:[^"\\\n]|\\.){0,4096}")\s*,\s*"(npy|npz|hdf5)"\s*,\s*\[/g;
const CALL_END = /\s*\)/y;

/** [location literal, format, names literal] of the first loadArrays statement, or undefined. */
function findLoadArrays(text: string): [string, string, string] | undefined {
  LOAD_ARRAYS_PREFIX.lastIndex = 0;
  let close = -1;
  for (let m = LOAD_ARRAYS_PREFIX.exec(text); m; m = LOAD_ARRAYS_PREFIX.exec(text)) {
    const open = LOAD_ARRAYS_PREFIX.lastIndex - 1;
    if (close < open) close = text.indexOf("]", open);
    if (close < 0) return undefined; // no "]" after here: no later prefix can match either
    CALL_END.lastIndex = close + 1;
    if (CALL_END.test(text)) return [m[1]!, m[2]!, text.slice(open, close + 1)];
  }
  return undefined;
}

/** The data files an archive module (entry or DataSet item) loads, from its text. */
export async function dataFilesOf(moduleFile: string): Promise<DataFiles | undefined> {
  let text: string;
  try {
    // Confined to the module's own folder, regular files only: a FIFO or a link out must not hang
    // or leak what the CLI prints (the loader applies the same rule).
    text = await readConfinedText(moduleFile, {
      root: dirname(moduleFile),
      what: "archive module",
    });
  } catch (error) {
    if (error instanceof ArchiveError) throw error;
    throw new NotFoundError(`cannot read ${moduleFile}: ${(error as Error).message}`, {
      file: moduleFile,
      cause: error,
    });
  }
  const match = findLoadArrays(text);
  if (!match) return undefined;
  let location: unknown;
  let names: unknown;
  try {
    location = JSON.parse(match[0]);
    names = JSON.parse(match[2]);
  } catch {
    return undefined; // not the form Archive.save writes; load() reports what is wrong with it
  }
  if (typeof location !== "string" || !Array.isArray(names)) return undefined;
  return {
    format: match[1] as ArrayFormat,
    location: resolve(dirname(moduleFile), location),
    names: names.filter((n): n is string => typeof n === "string"),
    root: dirname(moduleFile),
  };
}

/** One file (or data file) and its size on disk. */
export interface FileSize {
  path: string;
  bytes: number;
}

/** Every regular file at `path` (itself, or recursively inside it), with sizes; [] if missing. */
export async function filesAt(path: string): Promise<FileSize[]> {
  const info = await stat(path).catch(() => undefined);
  if (!info) return [];
  if (!info.isDirectory()) return [{ path, bytes: info.size }];
  const out: FileSize[] = [];
  for (const entry of (await readdir(path)).sort()) out.push(...(await filesAt(join(path, entry))));
  return out;
}

/** Files that make up an archive: the package directory, or the module, its .d.mts and data. */
export async function archiveFiles(target: ArchiveTarget): Promise<FileSize[]> {
  if (target.layout === "package") return filesAt(target.home);
  const declarations = join(target.home, `${target.name}.d.mts`);
  const parts = [target.entry, declarations];
  if (target.data) parts.push(target.data.location);
  const out: FileSize[] = [];
  for (const part of parts) out.push(...(await filesAt(part)));
  return out;
}

/** Files of DataSet item `name`: module, declarations and data files. */
export async function itemFileSizes(dataset: string, name: string): Promise<FileSize[]> {
  const out: FileSize[] = [];
  for (const file of await itemFilesOnDisk(dataset, name)) {
    out.push(...(await filesAt(join(dataset, file))));
  }
  return out;
}

export function totalBytes(files: readonly FileSize[]): number {
  return files.reduce((sum, f) => sum + f.bytes, 0);
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() ?? false;
}
