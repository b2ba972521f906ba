/**
 * The data files beside a saved archive: what Archive.save and DataSet call.
 * - npy: `location` is a directory of `<name>.npy` files (created if missing);
 * - npz: `location` is the .npz file; hdf5: `location` is the .h5 file.
 * Callers write into a fresh staging place and rename it, so these writers are not atomic
 * themselves, but every file they write is fsynced (and the npy directory too).
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { ArchiveError } from "../errors.js";
import {
  type ArrayReadOptions,
  type NDArray,
  readNpyDirectory,
} from "../runtime/persist-runtime.mjs";
import { fsyncDir } from "../store/atomic.js";
import { openConfined } from "../store/confined.js";
import { asFormatErrors } from "./errors.js";
import { readHdf5File, writeHdf5 } from "./hdf5.js";
import { writeNpyFileSynced } from "./npy.js";
import { readNpzFile, writeNpz } from "./npz.js";

/** Storage formats for arrays. */
export type ArrayFormat = "npy" | "npz" | "hdf5";

/** An array and the name it is stored under (`<name>.npy`, npz entry, HDF5 dataset). */
export interface NamedArray {
  /** File or entry name without extension: letters, digits, `_`, `.` and `-`. */
  name: string;
  /** The array itself. */
  array: NDArray;
}

const ARRAY_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

function checkFormat(format: string): asserts format is ArrayFormat {
  if (format !== "npy" && format !== "npz" && format !== "hdf5") {
    throw new ArchiveError(`unknown array format ${JSON.stringify(format)}; use npy, npz or hdf5`);
  }
}

/** Writes `arrays` at `location` in `format`; returns the paths of the files written. */
export async function writeArrayFiles(
  location: string,
  format: ArrayFormat,
  arrays: readonly NamedArray[],
): Promise<string[]> {
  checkFormat(format);
  const seen = new Set<string>();
  for (const { name } of arrays) {
    if (!ARRAY_NAME.test(name) || seen.has(name)) {
      throw new ArchiveError(
        `${location}: array name ${JSON.stringify(name)} is ${seen.has(name) ? "used twice" : "not a valid file name (letters, digits, _ . -)"}`,
        { file: location },
      );
    }
    seen.add(name);
  }
  if (format === "npy") {
    await mkdir(location, { recursive: true });
    const paths: string[] = [];
    for (const { name, array } of arrays) {
      const path = join(location, `${name}.npy`);
      await writeNpyFileSynced(path, array);
      paths.push(path);
    }
    await fsyncDir(location);
    return paths;
  }
  if (format === "npz") await writeNpz(location, arrays);
  else await writeHdf5(location, arrays);
  return [location];
}

/** Options of {@link readArrayFiles}. */
export interface ReadArrayOptions {
  /**
   * Bytes of array data one data file may produce per byte of its own size. Default 1032: the
   * most deflate can expand, so no honest npz or gzip-compressed HDF5 file exceeds it. Raise it
   * (e.g. `Infinity`) for trusted files, such as an HDF5 file with chunks never written.
   */
  maxExpansion?: number;
  /** Refuse data files whose real path (after symlinks) is not inside this folder. */
  root?: string;
}

/**
 * Reads arrays (all, or `names`) from `location` in `format`. Only regular files are read (a
 * FIFO or device is a FormatError, never a hang); HDF5 external links, external storage and
 * virtual datasets are refused; memory is bounded by `options.maxExpansion`.
 */
export function readArrayFiles(
  location: string,
  format: ArrayFormat,
  names?: string[],
  options: ReadArrayOptions = {},
): Promise<Record<string, NDArray>> {
  checkFormat(format);
  const opts = confinedReads(options);
  if (format === "npz") return readNpzFile(location, names, opts);
  if (format === "hdf5") return readHdf5File(location, names, opts);
  return asFormatErrors(() => readNpyDirectory(location, names, opts));
}

/**
 * Runtime read options that open data files through the library's confined opener
 * (src/store/confined.ts: realpath inside `root`, non-blocking regular-file open, descriptor path
 * re-checked on Linux) when a root is given; the runtime's own equivalent checks otherwise.
 */
export function confinedReads(options: ReadArrayOptions): ArrayReadOptions {
  const { root } = options;
  if (root === undefined) return { ...options };
  return {
    ...options,
    open: (path) =>
      openConfined(path, { root, what: "array file", maxBytes: Number.MAX_SAFE_INTEGER }),
  };
}
