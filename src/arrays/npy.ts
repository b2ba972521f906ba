/**
 * The .npy codec. Decoding lives in the runtime file (saved archives need it without the
 * library); this module adds encoding, file writing and partial reads, and turns runtime errors
 * into FormatError.
 *
 * Files we write are version 1.0 (2.0 when the header needs it) with the header padded so the
 * data starts at a multiple of 64 bytes: any element type can then be viewed in place.
 */
import { open } from "node:fs/promises";
import { ArchiveError, UnsupportedValueError } from "../errors.js";
import {
  checkedArray,
  decodeNpy,
  isTypedArray,
  NDArray,
  NPY_MAX_HEADER,
  nativeDescr,
  type TypedArray,
  typedArrayBytes,
} from "../runtime/persist-runtime.mjs";
import { replaceFile } from "../store/atomic.js";
import { toFormatError } from "./errors.js";
import { type LazyArray, openNpyLazy } from "./lazy.js";

const ALIGN = 64;
/** Bytes per write call when streaming array data to disk. */
const WRITE_CHUNK = 256 << 20;

/** An NDArray for a TypedArray (1-D) or the NDArray itself. */
export function toNDArray(value: TypedArray | NDArray): NDArray {
  if (value instanceof NDArray) return value;
  if (isTypedArray(value)) return new NDArray(value, [typedArrayBytes(value).length]);
  throw new UnsupportedValueError(
    `npy: expected a TypedArray or an NDArray, got ${value === null ? "null" : typeof value}`,
  );
}

/** What writers use of an array: checked against its real internal type (see checkedArray). */
export type CheckedArray = ReturnType<typeof checkedArray>;

/** An NDArray (or 1-D TypedArray) checked for writing; refuses spoofed or inconsistent ones. */
export function checkedForWrite(value: TypedArray | NDArray, where = "npy"): CheckedArray {
  try {
    return checkedArray(toNDArray(value), where);
  } catch (err) {
    if (err instanceof ArchiveError) throw err;
    throw new UnsupportedValueError(`${where}: ${(err as Error).message}`);
  }
}

/** The npy header (magic, version, length, padded dict) for `array`. */
export function npyHeader(array: NDArray | CheckedArray): Uint8Array {
  const a = "info" in array ? array : checkedForWrite(array);
  const shape = a.shape.length === 1 ? `(${a.shape[0]},)` : `(${a.shape.join(", ")})`;
  const fortran = a.order === "F" ? "True" : "False";
  const descr = nativeDescr(a.info);
  const dict = `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }`;
  if (dict.length + 1 > NPY_MAX_HEADER) {
    throw new UnsupportedValueError(
      `npy: an array of ${a.shape.length} dimensions needs a header over ${NPY_MAX_HEADER} bytes, which readers refuse`,
    );
  }
  // +1 for the terminating newline; version 2.0 only when the length overflows 16 bits.
  const prefix = dict.length + 1 + 10 <= 0xffff ? 10 : 12;
  const total = Math.ceil((prefix + dict.length + 1) / ALIGN) * ALIGN;
  const headerLength = total - prefix;
  const out = new Uint8Array(total);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, prefix === 10 ? 1 : 2, 0]);
  const view = new DataView(out.buffer);
  if (prefix === 10) view.setUint16(8, headerLength, true);
  else view.setUint32(8, headerLength, true);
  const text = `${dict.padEnd(headerLength - 1, " ")}\n`;
  for (let i = 0; i < text.length; i++) out[prefix + i] = text.charCodeAt(i);
  return out;
}

/**
 * The raw bytes of an array's data as views of at most `chunk` bytes (no copy), exactly the
 * bytes its internal slots cover. Chunked because one Uint8Array cannot exceed 4 GiB on Node 20,
 * while a Float64Array can.
 */
export function* dataChunks(
  array: NDArray | CheckedArray,
  chunk = WRITE_CHUNK,
): Generator<Uint8Array> {
  const a = "info" in array ? array : checkedForWrite(array);
  for (let off = 0; off < a.byteLength; off += chunk) {
    yield new Uint8Array(
      a.buffer as ArrayBuffer,
      a.byteOffset + off,
      Math.min(chunk, a.byteLength - off),
    );
  }
}

/** Header + data in one new buffer. */
export function encodeNpy(value: TypedArray | NDArray): Uint8Array {
  const array = checkedForWrite(value);
  const header = npyHeader(array);
  const out = new Uint8Array(header.length + array.byteLength);
  out.set(header);
  let at = header.length;
  for (const chunk of dataChunks(array)) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/**
 * Writes an npy file at `path` (which must not exist) and fsyncs it. The data is written from
 * the array's own memory in chunks, never copied whole.
 */
export async function writeNpyFileSynced(path: string, value: TypedArray | NDArray): Promise<void> {
  const array = checkedForWrite(value, path);
  const handle = await open(path, "wx");
  try {
    await handle.write(npyHeader(array));
    for (const chunk of dataChunks(array)) {
      let done = 0;
      while (done < chunk.length) {
        const { bytesWritten } = await handle.write(chunk, done, chunk.length - done);
        done += bytesWritten;
      }
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Atomically replaces (or creates) `path` with an npy file: temp, fsync, rename, fsync dir. */
export async function writeNpyFile(path: string, value: TypedArray | NDArray): Promise<void> {
  await replaceFile(path, (tmp) => writeNpyFileSynced(tmp, value));
}

/** Options of {@link readNpyFile}. */
export interface NpyReadOptions {
  /** Read only rows `start` (inclusive) to `stop` (exclusive) along axis 0 (either order). */
  rows?: readonly [start: number, stop: number];
}

/** Reads an npy file, all of it or a range of rows (positional reads of just those bytes). */
export async function readNpyFile(path: string, options: NpyReadOptions = {}): Promise<NDArray> {
  const lazy = await openNpyLazy(path);
  if (options.rows === undefined) return lazy.read();
  const [start, stop] = options.rows;
  return lazy.rows(start, stop);
}

/** The public npy codec. */
export const npy = {
  /** Encodes a TypedArray (as 1-D) or an NDArray as .npy bytes. */
  encode(value: TypedArray | NDArray): Uint8Array {
    return encodeNpy(value);
  },
  /**
   * Decodes .npy bytes. Views them without copying when `bytes` spans its whole buffer and the
   * data is aligned and little-endian; otherwise (a subarray of a larger buffer) copies the data
   * into a buffer of its own, so the result never exposes the rest of the caller's memory.
   */
  decode(bytes: Uint8Array): NDArray {
    try {
      return decodeNpy(bytes, "npy bytes");
    } catch (err) {
      throw toFormatError(err);
    }
  },
  /**
   * Opens an .npy file lazily: a LazyArray known from its header, whose data is read by
   * `read()` or `rows(start, stop)`.
   */
  open(path: string): Promise<LazyArray> {
    return openNpyLazy(path);
  },
  /** Reads an .npy file (or only `rows` of it). */
  read(path: string, options?: NpyReadOptions): Promise<NDArray> {
    return readNpyFile(path, options);
  },
  /** Writes an .npy file atomically. */
  write(path: string, value: TypedArray | NDArray): Promise<void> {
    return writeNpyFile(path, value);
  },
};
