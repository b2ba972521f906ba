// persist-archive runtime, format version 1.
//
// This file is copied beside every saved archive that holds an NDArray or external arrays, as
// `_persist_runtime.v1.mjs`, so that `import` of the archive needs nothing but Node itself.
// The library re-exports NDArray from this same file, and NDArray recognises instances made by
// any copy of it (Symbol.hasInstance on a registered brand), so an array imported natively from an
// archive is `instanceof NDArray` for the library too.
//
// Plain JavaScript on purpose (it is shipped as-is into archives); checked by tsc via JSDoc.
// It must only import Node built-ins (plus a dynamic import of h5wasm, only for HDF5 files).

import { open, readdir } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { inflateRawSync } from "node:zlib";

const BRAND = Symbol.for("persist-archive.ndarray");
// Errors thrown here carry this brand (its value: "format" or "argument"), so the library's
// ArchiveError / FormatError recognise them with instanceof, even from an archive's own copy.
const ERROR_BRAND = Symbol.for("persist-archive.error");

/** @param {Error} error @param {"format" | "argument"} kind */
function brand(error, kind) {
  Object.defineProperty(error, ERROR_BRAND, { value: kind });
}

/** Bad arguments to NDArray (shape, order, dtype, data): `instanceof ArchiveError` in the library. */
export class NDArrayError extends RangeError {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = "NDArrayError";
    brand(this, "argument");
  }
}

/**
 * @typedef {Int8Array | Uint8Array | Uint8ClampedArray | Int16Array | Uint16Array | Int32Array |
 *   Uint32Array | Float32Array | Float64Array | BigInt64Array | BigUint64Array} TypedArray
 */

/**
 * @typedef {object} DtypeInfo
 * @property {string} kind   numpy type character + size, without byte order ("f8", "b1", "c16")
 * @property {number} itemsize  bytes per element
 * @property {number} lanes  TypedArray elements per array element (2 for complex)
 * @property {string} ctor  name of the TypedArray class that holds it
 */

/** numpy kinds a TypedArray can hold both ways. @type {Record<string, DtypeInfo>} */
export const DTYPES = {
  b1: { kind: "b1", itemsize: 1, lanes: 1, ctor: "Uint8Array" },
  i1: { kind: "i1", itemsize: 1, lanes: 1, ctor: "Int8Array" },
  u1: { kind: "u1", itemsize: 1, lanes: 1, ctor: "Uint8Array" },
  i2: { kind: "i2", itemsize: 2, lanes: 1, ctor: "Int16Array" },
  u2: { kind: "u2", itemsize: 2, lanes: 1, ctor: "Uint16Array" },
  f2: { kind: "f2", itemsize: 2, lanes: 1, ctor: "Uint16Array" },
  i4: { kind: "i4", itemsize: 4, lanes: 1, ctor: "Int32Array" },
  u4: { kind: "u4", itemsize: 4, lanes: 1, ctor: "Uint32Array" },
  f4: { kind: "f4", itemsize: 4, lanes: 1, ctor: "Float32Array" },
  i8: { kind: "i8", itemsize: 8, lanes: 1, ctor: "BigInt64Array" },
  u8: { kind: "u8", itemsize: 8, lanes: 1, ctor: "BigUint64Array" },
  f8: { kind: "f8", itemsize: 8, lanes: 1, ctor: "Float64Array" },
  c8: { kind: "c8", itemsize: 8, lanes: 2, ctor: "Float32Array" },
  c16: { kind: "c16", itemsize: 16, lanes: 2, ctor: "Float64Array" },
};

/** Default numpy kind for each TypedArray class. @type {Record<string, string>} */
export const DEFAULT_KIND = {
  Int8Array: "i1",
  Uint8Array: "u1",
  Uint8ClampedArray: "u1",
  Int16Array: "i2",
  Uint16Array: "u2",
  Int32Array: "i4",
  Uint32Array: "u4",
  Float32Array: "f4",
  Float64Array: "f8",
  BigInt64Array: "i8",
  BigUint64Array: "u8",
};

/**
 * Split a numpy descr ("<f8", "|b1", "=i4", ">c16") into byte order and kind.
 * Returns undefined for anything this table cannot hold.
 * @param {string} descr
 * @returns {{ order: "<" | ">" | "|", info: DtypeInfo } | undefined}
 */
export function parseDescr(descr) {
  if (typeof descr !== "string" || descr.length < 2) return undefined;
  let order = descr[0];
  let kind = descr.slice(1);
  if (order !== "<" && order !== ">" && order !== "|" && order !== "=") {
    order = "=";
    kind = descr;
  }
  const info = Object.hasOwn(DTYPES, kind) ? DTYPES[kind] : undefined;
  if (!info) return undefined;
  if (order === "=") order = info.itemsize === 1 ? "|" : "<";
  // numpy writes "|" for one-byte kinds only; a "|" on a wider kind is malformed.
  if (order === "|" && info.itemsize / info.lanes !== 1) return undefined;
  return { order: /** @type {"<" | ">" | "|"} */ (order), info };
}

/** Canonical little-endian descr for a kind: "|u1", "<f8", "<c16". @param {DtypeInfo} info */
export function nativeDescr(info) {
  return (info.itemsize / info.lanes === 1 ? "|" : "<") + info.kind;
}

/** @param {unknown} value @returns {value is TypedArray} */
export function isTypedArray(value) {
  return ArrayBuffer.isView(value) && !(value instanceof DataView);
}

/**
 * An n-dimensional array: a TypedArray plus shape, memory order and numpy dtype.
 * Complex dtypes (c8, c16) store interleaved real/imaginary pairs, so `data.length` is twice
 * `size`. Float16 (f2) is held as raw IEEE half bits in a Uint16Array.
 * @template {TypedArray} [T=TypedArray]
 */
export class NDArray {
  /**
   * @param {T} data
   * @param {readonly number[]} shape
   * @param {{ order?: "C" | "F", dtype?: string }} [options]
   */
  constructor(data, shape, options = {}) {
    if (!isTypedArray(data)) throw new NDArrayError("NDArray: data must be a TypedArray");
    if (!Array.isArray(shape))
      throw new NDArrayError("NDArray: shape must be an array of integers");
    let size = 1;
    for (const n of shape) {
      if (!Number.isSafeInteger(n) || n < 0) {
        throw new NDArrayError(`NDArray: shape ${JSON.stringify(shape)} has a bad dimension ${n}`);
      }
      size *= n;
    }
    const order = options.order ?? "C";
    if (order !== "C" && order !== "F") throw new NDArrayError(`NDArray: order must be "C" or "F"`);
    const ctorName = data.constructor.name;
    const descr =
      options.dtype ??
      `${ctorName === "Uint8Array" || ctorName === "Int8Array" || ctorName === "Uint8ClampedArray" ? "|" : "<"}${DEFAULT_KIND[ctorName]}`;
    const parsed = parseDescr(descr);
    if (!parsed) throw new NDArrayError(`NDArray: unsupported dtype ${JSON.stringify(descr)}`);
    const expectedCtor = parsed.info.ctor;
    if (
      expectedCtor !== ctorName &&
      !(expectedCtor === "Uint8Array" && ctorName === "Uint8ClampedArray")
    ) {
      throw new NDArrayError(`NDArray: dtype ${descr} needs a ${expectedCtor}, got a ${ctorName}`);
    }
    if (data.length !== size * parsed.info.lanes) {
      throw new NDArrayError(
        `NDArray: shape ${JSON.stringify(shape)} needs ${size * parsed.info.lanes} elements of ${ctorName}, data has ${data.length}`,
      );
    }
    /** @type {T} */
    this.data = data;
    /** @type {readonly number[]} */
    this.shape = Object.freeze([...shape]);
    /** @type {"C" | "F"} */
    this.order = order;
    /** numpy descr, always little-endian or "|" (big-endian input is converted on read). @type {string} */
    this.dtype = nativeDescr(parsed.info);
    /** Number of elements (a complex element counts once). @type {number} */
    this.size = size;
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** Number of dimensions. */
  get ndim() {
    return this.shape.length;
  }

  /**
   * True for NDArrays made by any copy of this runtime (the library's or an archive's).
   * @param {unknown} value
   * @returns {value is NDArray}
   */
  static [Symbol.hasInstance](value) {
    return (
      typeof value === "object" && value !== null && /** @type {any} */ (value)[BRAND] === true
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Errors

/**
 * A data file is malformed or cannot be decoded. The library turns it into its FormatError; code
 * outside the library can test `err.code === "PERSIST_FORMAT"`.
 */
export class PersistFormatError extends Error {
  /**
   * @param {string} message  says what is wrong and where
   * @param {string} [file]  the data file
   * @param {string} [array]  the array inside it, when known
   */
  constructor(message, file, array) {
    super(message);
    this.name = "PersistFormatError";
    this.code = "PERSIST_FORMAT";
    brand(this, "format");
    this.file = file;
    this.array = array;
  }
}

/** @param {string} where @param {string} problem @param {string} [array] @returns {never} */
function fail(where, problem, array) {
  throw new PersistFormatError(`${where}: ${problem}`, where, array);
}

// ---------------------------------------------------------------------------------------------
// npy header parsing. Hand-written: the npm npy readers mishandle big-endian data, Fortran order
// and v3 headers, and the header is a Python dict literal that must never be eval'd.

/** Largest header we accept. numpy itself refuses > 10,000 bytes unless told otherwise. */
export const NPY_MAX_HEADER = 65536;
const NPY_MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * @typedef {object} NpyHeader
 * @property {DtypeInfo} info
 * @property {"<" | ">" | "|"} byteOrder
 * @property {boolean} fortran
 * @property {number[]} shape
 * @property {number} count   number of elements (product of shape)
 * @property {number} dataOffset  byte offset of the data from the start of the file
 * @property {number} dataBytes  bytes of data the header promises
 */

/**
 * Reads the fixed prefix (magic, version, header length). Needs the first 12 bytes (or fewer if
 * the file is shorter, which is then reported as truncated).
 * @param {Uint8Array} bytes
 * @param {string} where
 * @returns {{ version: number, headerStart: number, headerLength: number }}
 */
export function parseNpyPrefix(bytes, where) {
  if (bytes.length < 10) fail(where, `truncated npy file (${bytes.length} bytes, no header)`);
  for (let i = 0; i < NPY_MAGIC.length; i++) {
    if (bytes[i] !== NPY_MAGIC[i]) fail(where, "not an npy file (bad magic string)");
  }
  const version = /** @type {number} */ (bytes[6]);
  const minor = bytes[7];
  if (version < 1 || version > 3 || minor !== 0) {
    fail(where, `unsupported npy format version ${version}.${minor} (1.0, 2.0, 3.0 are read)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (version === 1) return { version, headerStart: 10, headerLength: view.getUint16(8, true) };
  if (bytes.length < 12) fail(where, "truncated npy file (header length cut off)");
  return { version, headerStart: 12, headerLength: view.getUint32(8, true) };
}

/**
 * Parses the header dict text and validates it against the bytes that follow it.
 * @param {Uint8Array} headerBytes  the header dict bytes (without the prefix)
 * @param {number} version
 * @param {number} dataOffset
 * @param {number} fileSize  total size of the file, to check the data length
 * @param {string} where
 * @returns {NpyHeader}
 */
export function parseNpyHeader(headerBytes, version, dataOffset, fileSize, where) {
  const text = version === 3 ? new TextDecoder("utf-8").decode(headerBytes) : latin1(headerBytes);
  const dict = parsePythonLiteral(text, where);
  if (!(dict instanceof Map)) fail(where, "npy header is not a dict");
  for (const key of dict.keys()) {
    if (key !== "descr" && key !== "fortran_order" && key !== "shape") {
      fail(where, `npy header has an unexpected key ${JSON.stringify(key)}`);
    }
  }
  const descr = dict.get("descr");
  const fortran = dict.get("fortran_order");
  const shape = dict.get("shape");
  if (typeof descr !== "string") {
    fail(where, `unsupported dtype ${describe(descr)} (structured and object dtypes are not read)`);
  }
  const parsed = parseDescr(descr);
  if (!parsed) fail(where, `unknown or unsupported dtype ${JSON.stringify(descr)}`);
  if (typeof fortran !== "boolean") fail(where, "npy header fortran_order must be True or False");
  if (!Array.isArray(shape) || !TUPLES.has(shape)) fail(where, "npy header shape must be a tuple");
  let count = 1;
  for (const dim of shape) {
    if (typeof dim !== "number" || !Number.isSafeInteger(dim) || dim < 0) {
      fail(
        where,
        `npy header shape ${text.match(/\(.*?\)/)?.[0] ?? ""} has a bad dimension ${describe(dim)}`,
      );
    }
    count *= dim;
  }
  const dataBytes = count * parsed.info.itemsize;
  if (!Number.isSafeInteger(dataBytes)) fail(where, "npy header shape overflows");
  if (fileSize - dataOffset !== dataBytes) {
    fail(
      where,
      `npy data length mismatch: shape (${shape.join(", ")}) of ${descr} needs ${dataBytes} bytes, the file has ${fileSize - dataOffset}` +
        (fileSize - dataOffset < dataBytes ? " (truncated file)" : ""),
    );
  }
  return {
    info: parsed.info,
    byteOrder: parsed.order,
    fortran,
    shape: /** @type {number[]} */ ([...shape]),
    count,
    dataOffset,
    dataBytes,
  };
}

/** @param {unknown} v */
function describe(v) {
  return Array.isArray(v) ? "[list]" : v instanceof Map ? "{dict}" : String(v);
}

/** @param {Uint8Array} bytes */
function latin1(bytes) {
  let out = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    out += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return out;
}

/** Arrays that were Python tuples (shape must be one). @type {WeakSet<unknown[]>} */
const TUPLES = new WeakSet();

/**
 * A strict parser for the Python literals an npy header holds: dicts, tuples, lists, strings,
 * integers, True/False/None. Anything else is a FormatError. Nesting is limited so that a
 * hostile header cannot overflow the stack.
 * @param {string} text
 * @param {string} where
 * @returns {unknown}  dict → Map, tuple → array in TUPLES, list → array
 */
export function parsePythonLiteral(text, where) {
  let pos = 0;
  const bad = (/** @type {string} */ what) =>
    fail(
      where,
      `bad npy header syntax: ${what} at offset ${pos} in ${JSON.stringify(text.slice(0, 200))}`,
    );
  const skip = () => {
    while (pos < text.length && " \t\r\n".includes(/** @type {string} */ (text[pos]))) pos++;
  };
  /** @param {number} depth @returns {unknown} */
  const value = (depth) => {
    if (depth > 32) bad("nesting too deep");
    skip();
    const c = text[pos];
    if (c === "{") {
      pos++;
      const map = new Map();
      for (;;) {
        skip();
        if (text[pos] === "}") break;
        const key = value(depth + 1);
        if (typeof key !== "string") bad("dict key is not a string");
        skip();
        if (text[pos] !== ":") bad("expected ':'");
        pos++;
        if (map.has(key)) bad(`duplicate key ${JSON.stringify(key)}`);
        map.set(key, value(depth + 1));
        skip();
        if (text[pos] === ",") pos++;
        else if (text[pos] !== "}") bad("expected ',' or '}'");
      }
      pos++;
      return map;
    }
    if (c === "(" || c === "[") {
      const close = c === "(" ? ")" : "]";
      pos++;
      /** @type {unknown[]} */
      const items = [];
      let sawComma = false;
      for (;;) {
        skip();
        if (text[pos] === close) break;
        items.push(value(depth + 1));
        skip();
        if (text[pos] === ",") {
          pos++;
          sawComma = true;
        } else if (text[pos] !== close) bad(`expected ',' or '${close}'`);
      }
      pos++;
      if (c === "[") return items;
      // "(x)" is a parenthesised value in Python, not a tuple.
      if (items.length === 1 && !sawComma) return items[0];
      TUPLES.add(items);
      return items;
    }
    if (c === "'" || c === '"') {
      pos++;
      let out = "";
      for (;;) {
        if (pos >= text.length) bad("unterminated string");
        const ch = /** @type {string} */ (text[pos++]);
        if (ch === c) return out;
        if (ch === "\\") {
          const esc = text[pos++];
          if (esc === "\\" || esc === "'" || esc === '"') out += esc;
          else bad("unsupported string escape");
        } else if (ch === "\n") bad("newline in string");
        else out += ch;
      }
    }
    const word = /^(-?[0-9]+L?|True|False|None)/.exec(text.slice(pos, pos + 40));
    if (!word) bad(pos >= text.length ? "unexpected end" : `unexpected ${JSON.stringify(c)}`);
    const w = /** @type {string} */ (/** @type {RegExpExecArray} */ (word)[0]);
    pos += w.length;
    if (w === "True") return true;
    if (w === "False") return false;
    if (w === "None") return null;
    // Digits beyond 2^53 become an unsafe number and are rejected by the shape check.
    return Number(w.endsWith("L") ? w.slice(0, -1) : w);
  };
  const result = value(0);
  skip();
  if (pos !== text.length) bad("trailing characters after the dict");
  return result;
}

/**
 * Turns the data bytes of an npy file into an NDArray. Views the buffer without copying when
 * the bytes are little-endian (or one byte wide) and aligned for the element size.
 * @param {Uint8Array} data  exactly header.dataBytes bytes
 * @param {NpyHeader} header
 */
export function npyDataToNDArray(data, header) {
  const { info } = header;
  const laneBytes = info.itemsize / info.lanes;
  const length = header.count * info.lanes;
  const Ctor = /** @type {any} */ (globalThis)[info.ctor];
  const swap = laneBytes > 1 && (header.byteOrder === ">") === HOST_LITTLE_ENDIAN;
  /** @type {TypedArray} */
  let typed;
  if (!swap && data.byteOffset % laneBytes === 0) {
    typed = new Ctor(data.buffer, data.byteOffset, length);
  } else {
    const copy = new Uint8Array(data.byteLength);
    copy.set(data);
    if (swap) byteSwap(copy, laneBytes);
    typed = new Ctor(copy.buffer, 0, length);
  }
  return new NDArray(typed, header.shape, {
    order: header.fortran ? "F" : "C",
    dtype: nativeDescr(info),
  });
}

/**
 * Reverses the bytes of every `width`-byte lane in place, in slices (one Buffer cannot exceed
 * 4 GiB on Node 20).
 * @param {Uint8Array | ArrayBuffer} bytes
 * @param {number} width
 */
function byteSwap(bytes, width) {
  const view = bytes instanceof Uint8Array ? bytes : undefined;
  const buffer = view ? view.buffer : /** @type {ArrayBuffer} */ (bytes);
  const start = view ? view.byteOffset : 0;
  const length = view ? view.byteLength : buffer.byteLength;
  for (let off = 0; off < length; off += READ_CHUNK) {
    const buf = Buffer.from(buffer, start + off, Math.min(READ_CHUNK, length - off));
    if (width === 2) buf.swap16();
    else if (width === 4) buf.swap32();
    else if (width === 8) buf.swap64();
  }
}

/**
 * Decodes a whole .npy file held in memory (versions 1.0, 2.0, 3.0).
 * @param {Uint8Array} bytes
 * @param {string} [where]  file name for error messages
 * @returns {NDArray}
 */
export function decodeNpy(bytes, where = "npy data") {
  if (!(bytes instanceof Uint8Array))
    throw new NDArrayError("decodeNpy: bytes must be a Uint8Array");
  const { version, headerStart, headerLength } = parseNpyPrefix(bytes, where);
  if (headerLength > NPY_MAX_HEADER) {
    fail(where, `npy header of ${headerLength} bytes is larger than ${NPY_MAX_HEADER} bytes`);
  }
  const dataOffset = headerStart + headerLength;
  if (dataOffset > bytes.length) {
    fail(
      where,
      `npy header length ${headerLength} goes beyond the end of the data (${bytes.length} bytes)`,
    );
  }
  const header = parseNpyHeader(
    bytes.subarray(headerStart, dataOffset),
    version,
    dataOffset,
    bytes.length,
    where,
  );
  return npyDataToNDArray(bytes.subarray(dataOffset), header);
}

// ---------------------------------------------------------------------------------------------
// Files

const READ_CHUNK = 1 << 30; // one read call moves at most 1 GiB (fs reads are capped near 2 GiB)

/**
 * Reads `length` bytes at `position` of an open file into a fresh ArrayBuffer of exactly that
 * size (so the data can be viewed without copying). Any size: it is filled through views of at
 * most `chunk` bytes, as one Uint8Array cannot exceed 4 GiB on Node 20. Fails on a short read.
 * @param {import("node:fs/promises").FileHandle} handle
 * @param {number} position
 * @param {number} length
 * @param {string} where
 * @param {number} [chunk]  bytes per read call (tests make it small)
 * @returns {Promise<ArrayBuffer>}
 */
export async function readIntoBuffer(handle, position, length, where, chunk = READ_CHUNK) {
  const buffer = new ArrayBuffer(length);
  let done = 0;
  while (done < length) {
    const n = Math.min(chunk, length - done);
    const { bytesRead } = await handle.read(new Uint8Array(buffer, done, n), 0, n, position + done);
    if (bytesRead === 0) fail(where, `file ended early (wanted ${length} bytes at ${position})`);
    done += bytesRead;
  }
  return buffer;
}

/**
 * {@link readIntoBuffer} as a Uint8Array (so for less than 4 GiB).
 * @param {import("node:fs/promises").FileHandle} handle
 * @param {number} position
 * @param {number} length
 * @param {string} where
 * @param {number} [chunk]
 */
export async function readExactly(handle, position, length, where, chunk = READ_CHUNK) {
  return new Uint8Array(await readIntoBuffer(handle, position, length, where, chunk));
}

/**
 * Reads and validates the header of an npy stored in bytes [base, base + size) of an open file
 * (a whole .npy file, or a stored npz entry). Nothing is allocated from the header's numbers
 * before they are checked against `size`.
 * @param {import("node:fs/promises").FileHandle} handle
 * @param {number} base
 * @param {number} size
 * @param {string} where
 * @returns {Promise<NpyHeader>}
 */
export async function readNpyHeaderAt(handle, base, size, where) {
  const head = await readExactly(handle, base, Math.min(size, 12), where);
  const { version, headerStart, headerLength } = parseNpyPrefix(head, where);
  if (headerLength > NPY_MAX_HEADER) {
    fail(where, `npy header of ${headerLength} bytes is larger than ${NPY_MAX_HEADER} bytes`);
  }
  const dataOffset = headerStart + headerLength;
  if (dataOffset > size) {
    fail(
      where,
      `npy header length ${headerLength} goes beyond the end of the data (${size} bytes)`,
    );
  }
  const headerBytes = await readExactly(handle, base + headerStart, headerLength, where);
  return parseNpyHeader(headerBytes, version, dataOffset, size, where);
}

/**
 * Reads the data of an npy at `base` (header from {@link readNpyHeaderAt}) — all of it, or rows
 * [rowStart, rowStop) along axis 0 — into its own buffer, converted to native byte order.
 * @param {import("node:fs/promises").FileHandle} handle
 * @param {number} base
 * @param {NpyHeader} header
 * @param {string} where
 * @param {number} [rowStart]
 * @param {number} [rowStop]
 */
export async function readNpyDataAt(handle, base, header, where, rowStart, rowStop) {
  const { info, shape } = header;
  const rows = shape.length > 0 ? /** @type {number} */ (shape[0]) : 1;
  const first = rowStart ?? 0;
  const stop = rowStop ?? rows;
  const rowBytes = rows === 0 ? 0 : header.dataBytes / rows;
  const buffer = await readIntoBuffer(
    handle,
    base + header.dataOffset + first * rowBytes,
    (stop - first) * rowBytes,
    where,
  );
  const laneBytes = info.itemsize / info.lanes;
  if (laneBytes > 1 && (header.byteOrder === ">") === HOST_LITTLE_ENDIAN)
    byteSwap(buffer, laneBytes);
  const outShape = shape.length > 0 ? [stop - first, ...shape.slice(1)] : [];
  const Ctor = /** @type {any} */ (globalThis)[info.ctor];
  return new NDArray(new Ctor(buffer), outShape, {
    order: header.fortran ? "F" : "C",
    dtype: nativeDescr(info),
  });
}

/**
 * Reads a whole .npy file: header first, then the data into a buffer of exactly its size.
 * @param {string} path
 */
export async function readNpyFile(path) {
  const handle = await open(path, "r");
  try {
    const { size } = await handle.stat();
    return await readNpyDataAt(handle, 0, await readNpyHeaderAt(handle, 0, size, path), path);
  } finally {
    await handle.close();
  }
}

/** @param {unknown} err */
function isMissing(err) {
  return /** @type {NodeJS.ErrnoException} */ (err)?.code === "ENOENT";
}

// ---------------------------------------------------------------------------------------------
// npz: a zip of .npy files. Read with Node built-ins only (archives need no library): the central
// directory is parsed here, including the zip64 fields numpy always writes; entries are read
// with positional reads, stored ones straight into their own buffer, deflated ones inflated.

/**
 * @typedef {object} ZipEntry
 * @property {string} name
 * @property {number} method
 * @property {number} flags
 * @property {number} compressedSize
 * @property {number} size
 * @property {number} localOffset
 */

/**
 * Lists the entries of a zip file from its central directory.
 * @param {import("node:fs/promises").FileHandle} handle
 * @param {number} fileSize
 * @param {string} where
 * @returns {Promise<ZipEntry[]>}
 */
export async function readZipDirectory(handle, fileSize, where) {
  const tailSize = Math.min(fileSize, 22 + 65535 + 20);
  const tail = await readExactly(handle, fileSize - tailSize, tailSize, where);
  const tv = new DataView(tail.buffer);
  let eocd = -1;
  for (let i = tailSize - 22; i >= 0; i--) {
    if (tv.getUint32(i, true) === 0x06054b50 && i + 22 + tv.getUint16(i + 20, true) === tailSize) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) fail(where, "not a zip/npz file (no end of central directory record)");
  let count = tv.getUint16(eocd + 10, true);
  let cdSize = tv.getUint32(eocd + 12, true);
  let cdOffset = tv.getUint32(eocd + 16, true);
  const locator = eocd - 20;
  if (locator >= 0 && tv.getUint32(locator, true) === 0x07064b50) {
    const z64Offset = Number(tv.getBigUint64(locator + 8, true));
    if (z64Offset + 56 > fileSize) fail(where, "zip64 end record points beyond the file");
    const rec = await readExactly(handle, z64Offset, 56, where);
    const rv = new DataView(rec.buffer);
    if (rv.getUint32(0, true) !== 0x06064b50) fail(where, "bad zip64 end of central directory");
    count = Number(rv.getBigUint64(32, true));
    cdSize = Number(rv.getBigUint64(40, true));
    cdOffset = Number(rv.getBigUint64(48, true));
  }
  if (cdOffset + cdSize > fileSize || count > cdSize / 46) {
    fail(where, "zip central directory lies beyond the end of the file (truncated?)");
  }
  const cd = await readExactly(handle, cdOffset, cdSize, where);
  const v = new DataView(cd.buffer);
  const decoder = new TextDecoder();
  /** @type {ZipEntry[]} */
  const entries = [];
  let p = 0;
  for (let n = 0; n < count; n++) {
    if (p + 46 > cdSize || v.getUint32(p, true) !== 0x02014b50)
      fail(where, "corrupt zip central directory");
    const nameLen = v.getUint16(p + 28, true);
    const extraLen = v.getUint16(p + 30, true);
    const commentLen = v.getUint16(p + 32, true);
    if (p + 46 + nameLen + extraLen + commentLen > cdSize)
      fail(where, "corrupt zip central directory");
    /** @type {ZipEntry} */
    const entry = {
      name: decoder.decode(cd.subarray(p + 46, p + 46 + nameLen)),
      flags: v.getUint16(p + 8, true),
      method: v.getUint16(p + 10, true),
      compressedSize: v.getUint32(p + 20, true),
      size: v.getUint32(p + 24, true),
      localOffset: v.getUint32(p + 42, true),
    };
    // zip64 extra field (id 1): 8-byte values for exactly those fields that are 0xFFFFFFFF.
    for (let e = p + 46 + nameLen; e + 4 <= p + 46 + nameLen + extraLen; ) {
      const id = v.getUint16(e, true);
      const len = v.getUint16(e + 2, true);
      if (id === 1) {
        let q = e + 4;
        for (const key of /** @type {const} */ (["size", "compressedSize", "localOffset"])) {
          if (entry[key] === 0xffffffff && q + 8 <= e + 4 + len) {
            entry[key] = Number(v.getBigUint64(q, true));
            q += 8;
          }
        }
      }
      e += 4 + len;
    }
    entries.push(entry);
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/**
 * Reads and decodes one .npy entry of an npz file.
 * @param {import("node:fs/promises").FileHandle} handle
 * @param {number} fileSize
 * @param {ZipEntry} entry
 * @param {string} where
 * @param {string} array
 */
async function readNpzEntry(handle, fileSize, entry, where, array) {
  const at = `${where} (array ${array})`;
  try {
    if (entry.flags & 1) fail(at, "encrypted zip entries are not supported");
    if (entry.localOffset + 30 > fileSize) fail(at, "zip entry lies beyond the end of the file");
    const local = await readExactly(handle, entry.localOffset, 30, where);
    const lv = new DataView(local.buffer);
    if (lv.getUint32(0, true) !== 0x04034b50) fail(at, "corrupt zip local header");
    const start = entry.localOffset + 30 + lv.getUint16(26, true) + lv.getUint16(28, true);
    if (start + entry.compressedSize > fileSize) fail(at, "zip entry data is truncated");
    if (entry.method === 0) {
      // Stored: the npy sits in the file as is; read its data straight into its own buffer.
      if (entry.compressedSize !== entry.size) fail(at, "stored zip entry has mismatched sizes");
      const header = await readNpyHeaderAt(handle, start, entry.size, at);
      return await readNpyDataAt(handle, start, header, at);
    }
    if (entry.method !== 8) {
      fail(at, `zip compression method ${entry.method} is not supported (stored or deflate only)`);
    }
    const raw = await readExactly(handle, start, entry.compressedSize, where);
    /** @type {Uint8Array} */
    let bytes;
    try {
      // The output limit stops a zip bomb; one Buffer holds at most 4 GiB here anyway.
      bytes = inflateRawSync(raw, { maxOutputLength: Math.max(1, entry.size) });
    } catch (err) {
      return fail(at, `cannot inflate zip entry: ${/** @type {Error} */ (err).message}`);
    }
    if (bytes.length !== entry.size) fail(at, "inflated zip entry has the wrong size");
    return decodeNpy(bytes, at);
  } catch (err) {
    if (err instanceof PersistFormatError) err.array = array;
    throw err;
  }
}

/**
 * Reads arrays from an .npz file (numpy savez / savez_compressed, or ours).
 * @param {string} path
 * @param {string[]} [names]  array names (entry names without ".npy"); all when omitted
 * @returns {Promise<Record<string, NDArray>>}
 */
export async function readNpz(path, names) {
  const handle = await open(path, "r");
  try {
    const { size } = await handle.stat();
    const entries = await readZipDirectory(handle, size, path);
    const byName = new Map(
      entries.filter((e) => e.name.endsWith(".npy")).map((e) => [e.name.slice(0, -4), e]),
    );
    /** @type {Record<string, NDArray>} */
    const out = Object.create(null);
    for (const name of names ?? byName.keys()) {
      const entry = byName.get(name);
      if (!entry) fail(path, `has no array ${JSON.stringify(name)} (no entry ${name}.npy)`, name);
      out[name] = await readNpzEntry(handle, size, entry, path, name);
    }
    return out;
  } finally {
    await handle.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Memory order

/**
 * Copies `data` (an array of `shape` in one memory order) into the other order: C → F when
 * `toFortran`, F → C otherwise. `lanes` TypedArray elements make one array element.
 * @template {TypedArray} T
 * @param {T} data
 * @param {readonly number[]} shape
 * @param {number} lanes
 * @param {boolean} toFortran
 * @returns {T}
 */
export function reorder(data, shape, lanes, toFortran) {
  const Ctor = /** @type {any} */ (data.constructor);
  /** @type {T} */
  const out = new Ctor(data.length);
  const n = shape.length;
  if (n < 2) {
    out.set(/** @type {any} */ (data));
    return out;
  }
  // Source strides (in elements) for each axis; the output is walked in its own order, fastest
  // axis first, keeping a multi-index and the matching source offset.
  /** @type {number[]} */
  const strides = new Array(n);
  // C order: the last axis is contiguous; F order: the first.
  const cAxes = [...shape.keys()].reverse();
  let s = 1;
  for (const d of toFortran ? cAxes : [...shape.keys()]) {
    strides[d] = s;
    s *= /** @type {number} */ (shape[d]);
  }
  const axes = [...shape.keys()];
  if (!toFortran) axes.reverse();
  const index = new Array(n).fill(0);
  const total = data.length / lanes;
  let src = 0;
  for (let j = 0; j < total; j++) {
    for (let l = 0; l < lanes; l++) out[j * lanes + l] = /** @type {any} */ (data[src * lanes + l]);
    for (const d of axes) {
      const stride = /** @type {number} */ (strides[d]);
      src += stride;
      if (++index[d] < /** @type {number} */ (shape[d])) break;
      src -= stride * /** @type {number} */ (shape[d]);
      index[d] = 0;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// HDF5 through h5wasm (imported lazily: it is only needed for .h5 files)

/** Attribute marking an int8 dataset that holds numpy bools. */
export const HDF5_DTYPE_ATTR = "persist_dtype";
/** Attribute marking a dataset stored in C order for an array that was Fortran-ordered. */
export const HDF5_ORDER_ATTR = "persist_order";
/** Bytes moved through the 2 GiB wasm heap per call. */
export const HDF5_BLOCK_BYTES = 64 << 20;
/** HDF5 filters the wasm build decodes: deflate, shuffle, fletcher32. */
const HDF5_FILTERS_OK = new Set([1, 2, 3]);

/** @param {string} where @returns {Promise<any>} */
export async function importH5wasm(where) {
  /** @type {any} */
  let mod;
  try {
    mod = await import("h5wasm/node");
  } catch (err) {
    fail(
      where,
      `reading HDF5 needs the h5wasm package, which cannot be imported here (${/** @type {Error} */ (err).message}); run "npm install h5wasm" beside the archive, or convert it to npy`,
    );
  }
  await mod.ready;
  return mod;
}

/**
 * numpy kind of an HDF5 dataset as h5wasm describes it, or a FormatError.
 * @param {any} md  h5wasm dataset metadata
 * @param {unknown} dtypeAttr
 * @param {string} at
 * @returns {string}
 */
function hdf5Kind(md, dtypeAttr, at) {
  const { type, size, signed } = md;
  if (type === 0 && [1, 2, 4, 8].includes(size)) {
    if (size === 1 && dtypeAttr === "|b1") return "b1";
    return `${signed ? "i" : "u"}${size}`;
  }
  if (type === 1 && [2, 4, 8].includes(size)) return `f${size}`;
  if (type === 6) {
    const m = md.compound_type?.members ?? [];
    const [re, im] = m;
    if (
      m.length === 2 &&
      re.name === "r" &&
      im.name === "i" &&
      re.type === 1 &&
      im.type === 1 &&
      re.size === im.size &&
      (re.size === 4 || re.size === 8) &&
      re.offset === 0 &&
      im.offset === re.size &&
      size === 2 * re.size
    ) {
      return `c${size}`;
    }
  }
  if (type === 8 && size === 1) {
    const members = md.enum_type?.members ?? {};
    if (Object.keys(members).length === 2 && members.FALSE === 0 && members.TRUE === 1) return "b1";
  }
  return fail(
    at,
    `has an HDF5 datatype (class ${type}, ${size} bytes) that does not map to a numpy number dtype`,
  );
}

/**
 * Reads one dataset of an open h5wasm File into an NDArray, in row blocks under the wasm heap
 * limit. Refuses datasets compressed with filters the wasm build cannot decode (h5wasm would
 * otherwise return garbage).
 * @param {any} h5  the h5wasm/node module
 * @param {any} file  an open h5wasm File
 * @param {string} name
 * @param {string} where
 * @param {number} [blockBytes]  bytes per read call (tests make it small to cover blocking)
 */
export function readHdf5Dataset(h5, file, name, where, blockBytes = HDF5_BLOCK_BYTES) {
  const at = `${where} (dataset ${name})`;
  /** @type {any} */
  let ds = null;
  try {
    ds = file.get(name);
  } catch {
    ds = null;
  }
  if (!(ds instanceof h5.Dataset))
    fail(where, `has no dataset named ${JSON.stringify(name)}`, name);
  for (const filter of ds.filters) {
    if (!HDF5_FILTERS_OK.has(filter.id)) {
      fail(
        at,
        `is compressed with HDF5 filter ${filter.name || "unknown"} (id ${filter.id}), which cannot be decoded here; rewrite it with gzip or without compression`,
        name,
      );
    }
  }
  const md = ds.metadata;
  if (!md.shape) fail(at, "has no data (null dataspace)", name);
  const attrs = ds.attrs;
  const kind = hdf5Kind(md, attrs[HDF5_DTYPE_ATTR]?.value, at);
  const info = /** @type {DtypeInfo} */ (DTYPES[kind]);
  const shape = /** @type {number[]} */ (md.shape.map(Number));
  const total = shape.reduce((a, b) => a * b, 1);
  const out = new ArrayBuffer(total * info.itemsize);
  const M = h5.Module;
  if (total > 0) {
    const rows = shape.length > 0 ? /** @type {number} */ (shape[0]) : 1;
    const rowBytes = (total / rows) * info.itemsize;
    const perBlock = Math.max(1, Math.floor(blockBytes / rowBytes));
    for (let r = 0; r < rows; r += perBlock) {
      const n = Math.min(perBlock, rows - r);
      const nbytes = n * rowBytes;
      const ptr = M._malloc(nbytes);
      if (!ptr) fail(at, `cannot allocate ${nbytes} bytes in the wasm heap`, name);
      try {
        const ranked = shape.length > 0;
        const status = M.get_dataset_data(
          file.file_id,
          ds.path,
          ranked ? [BigInt(n), ...shape.slice(1).map(BigInt)] : null,
          ranked ? [BigInt(r), ...shape.slice(1).map(() => 0n)] : null,
          ranked ? shape.map(() => 1n) : null,
          BigInt(ptr),
        );
        if (status < 0) fail(at, "HDF5 read failed", name);
        new Uint8Array(out, r * rowBytes, nbytes).set(M.HEAPU8.subarray(ptr, ptr + nbytes));
      } finally {
        M._free(ptr);
      }
    }
  }
  const Ctor = /** @type {any} */ (globalThis)[info.ctor];
  /** @type {TypedArray} */
  let data = new Ctor(out, 0, total * info.lanes);
  const fortran = attrs[HDF5_ORDER_ATTR]?.value === "F";
  if (fortran) data = reorder(data, shape, info.lanes, true);
  return new NDArray(data, shape, { order: fortran ? "F" : "C", dtype: nativeDescr(info) });
}

/**
 * Checks for the HDF5 superblock signature, which sits at offset 0, 512, 1024, 2048, ...
 * @param {string} path
 */
async function checkHdf5Signature(path) {
  const handle = await open(path, "r");
  try {
    const { size } = await handle.stat();
    const sig = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
    for (let at = 0; at + 8 <= size; at = at === 0 ? 512 : at * 2) {
      const head = await readExactly(handle, at, 8, path);
      if (sig.every((b, i) => head[i] === b)) return;
    }
  } finally {
    await handle.close();
  }
  fail(path, "not an HDF5 file (no HDF5 signature)");
}

/**
 * Reads datasets from an HDF5 file (h5py's or ours).
 * @param {string} path
 * @param {string[]} [names]  dataset names at the root; all datasets when omitted
 * @param {number} [blockBytes]  bytes per read call
 * @returns {Promise<Record<string, NDArray>>}
 */
export async function readHdf5(path, names, blockBytes = HDF5_BLOCK_BYTES) {
  await checkHdf5Signature(path); // a clear error before h5wasm sees a missing or foreign file
  const h5 = await importH5wasm(path);
  const file = new h5.File(resolve(path), "r");
  if (!(file.file_id > 0n)) fail(path, "h5wasm cannot open this HDF5 file");
  try {
    /** @type {Record<string, NDArray>} */
    const out = Object.create(null);
    const all =
      names ?? file.keys().filter((/** @type {string} */ k) => file.get(k) instanceof h5.Dataset);
    for (const name of all) {
      try {
        out[name] = readHdf5Dataset(h5, file, name, path, blockBytes);
      } catch (err) {
        if (err instanceof PersistFormatError) throw err;
        fail(
          path,
          `HDF5 error reading dataset ${name}: ${/** @type {Error} */ (err)?.message ?? err}`,
          name,
        );
      }
    }
    return out;
  } finally {
    file.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Loader used by saved archives

const ARRAY_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/**
 * Reads the .npy files of a directory.
 * @param {string} dir
 * @param {string[]} [names]  without ".npy"; every .npy file when omitted
 * @returns {Promise<Record<string, NDArray>>}
 */
export async function readNpyDirectory(dir, names) {
  const all =
    names ??
    (await readdir(dir))
      .filter((f) => f.endsWith(".npy") && !f.startsWith("."))
      .map((f) => f.slice(0, -4));
  /** @type {Record<string, NDArray>} */
  const out = Object.create(null);
  for (const name of all) {
    const path = join(dir, `${name}.npy`);
    try {
      out[name] = await readNpyFile(path);
    } catch (err) {
      if (isMissing(err)) fail(path, `data file of array ${JSON.stringify(name)} is missing`, name);
      if (err instanceof PersistFormatError) err.array = name;
      throw err;
    }
  }
  return out;
}

/**
 * Loads the external arrays of a saved archive.
 * @param {string} moduleUrl  `import.meta.url` of the archive module
 * @param {string} location  relative to the module's directory: a directory of `<name>.npy`
 *   files, or an `.npz` / `.h5` file
 * @param {"npy" | "npz" | "hdf5"} format
 * @param {string[]} names
 * @returns {Promise<Record<string, NDArray>>}
 */
export async function loadArrays(moduleUrl, location, format, names) {
  const path = resolve(dirname(fileURLToPath(moduleUrl)), location);
  for (const name of names) {
    if (typeof name !== "string" || !ARRAY_NAME.test(name)) {
      fail(path, `bad array name ${JSON.stringify(name)}`);
    }
  }
  try {
    if (format === "npy") return await readNpyDirectory(path, names);
    if (format === "npz") return await readNpz(path, names);
    if (format === "hdf5") return await readHdf5(path, names);
  } catch (err) {
    if (isMissing(err)) fail(path, `data file is missing (needed by ${fileURLToPath(moduleUrl)})`);
    throw err;
  }
  return fail(path, `unknown array format ${JSON.stringify(format)} (npy, npz or hdf5)`);
}
