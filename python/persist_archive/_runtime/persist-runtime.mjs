// persist-archive runtime, format version 1.
//
// This file is copied beside every saved archive that holds an NDArray or external arrays, as
// `_persist_runtime.v1.mjs`, so that `import` of the archive needs no library: Node, Deno, Bun
// or a browser (the archive folder served over http(s)) is enough.
// The library re-exports NDArray from this same file, and NDArray recognises instances made by
// any copy of it (Symbol.hasInstance on a registered brand), so an array imported natively from an
// archive is `instanceof NDArray` for the library too.
//
// Plain JavaScript on purpose (it is shipped as-is into archives); checked by tsc via JSDoc.
// It imports Node built-ins only where there are any (Node, Deno, Bun), and dynamically, so that
// it also imports in a browser: there a saved archive served over http(s) fetches its data files
// relative to the archive module's URL (plus a dynamic import of h5wasm, only for HDF5 files).

/**
 * The Node built-ins this file uses, or undefined where there are none (browsers). Imported here,
 * once, so that every path-based reader can use them synchronously.
 */
const NODE = await importBuiltins();

async function importBuiltins() {
  const g = /** @type {any} */ (globalThis);
  const nodeLike =
    typeof g.process?.versions?.node === "string" ||
    typeof g.Deno?.version?.deno === "string" ||
    typeof g.Bun?.version === "string";
  if (!nodeLike) return undefined;
  const [fs, fsp, path, stream, url, zlib] = await Promise.all([
    import("node:fs"),
    import("node:fs/promises"),
    import("node:path"),
    import("node:stream"),
    import("node:url"),
    import("node:zlib"),
  ]);
  return { fs, fsp, path, stream, url, zlib };
}

/**
 * The Node built-ins, or a format error naming `where` in a runtime without a filesystem.
 * @param {string} where
 */
function builtins(where) {
  if (!NODE) {
    fail(
      where,
      "reading a data file by path needs a filesystem (Node, Deno or Bun); in a browser, import the archive from an http(s) URL so that its data files are fetched",
    );
  }
  return NODE;
}

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
 * Every TypedArray class an archive and an NDArray can hold (numpy dtypes map onto these).
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

// ---------------------------------------------------------------------------------------------
// Typed arrays, classified by their real internal type. `constructor`, `length`, `buffer` and
// friends can be overridden by own properties (`Object.assign(new Uint8Array(160), { constructor:
// { name: "Float64Array" } })`), so everything that decides how many bytes to read or write goes
// through %TypedArray%.prototype's own getters, which read the internal slots.

const TYPED_ARRAY_PROTOTYPE = Object.getPrototypeOf(Uint8Array.prototype);
/** @param {string | symbol} key @returns {(this: unknown) => any} */
const intrinsicGetter = (key) =>
  /** @type {any} */ (Object.getOwnPropertyDescriptor(TYPED_ARRAY_PROTOTYPE, key)).get;
const TA_NAME = intrinsicGetter(Symbol.toStringTag);
const TA_BUFFER = intrinsicGetter("buffer");
const TA_BYTE_OFFSET = intrinsicGetter("byteOffset");
const TA_BYTE_LENGTH = intrinsicGetter("byteLength");
const TA_LENGTH = intrinsicGetter("length");
/** The real TypedArray constructors by name, captured before any user code can replace them. */
const TYPED_ARRAY_CLASSES = /** @type {Record<string, any>} */ ({
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
});

/**
 * The [[TypedArrayName]] of a TypedArray ("Float64Array", ...), or undefined for anything else
 * (including objects that only pretend to be one).
 * @param {unknown} value
 * @returns {string | undefined}
 */
export function typedArrayName(value) {
  return TA_NAME.call(value);
}

/** @param {unknown} value @returns {value is TypedArray} */
export function isTypedArray(value) {
  return TA_NAME.call(value) !== undefined;
}

/**
 * The bytes a TypedArray really covers, from its internal slots.
 * @param {TypedArray} data
 * @returns {{ buffer: ArrayBufferLike, byteOffset: number, byteLength: number, length: number }}
 */
export function typedArrayBytes(data) {
  return {
    buffer: TA_BUFFER.call(data),
    byteOffset: TA_BYTE_OFFSET.call(data),
    byteLength: TA_BYTE_LENGTH.call(data),
    length: TA_LENGTH.call(data),
  };
}

/**
 * The real constructor of a TypedArray class name, captured before user code could replace it.
 * @param {string} name
 */
export function typedArrayClass(name) {
  return TYPED_ARRAY_CLASSES[name];
}

/**
 * Checks that `array` is a consistent NDArray (its data really is the TypedArray class its
 * dtype needs, with exactly shape × lanes elements) and returns what a writer needs, all read
 * from internal slots. Writers call this rather than trusting the fields: NDArray's fields can
 * be reassigned and `instanceof NDArray` only checks a brand.
 * @param {NDArray} array
 * @param {string} where
 * @returns {{ info: DtypeInfo, shape: number[], order: "C" | "F", size: number,
 *   buffer: ArrayBufferLike, byteOffset: number, byteLength: number }}
 */
export function checkedArray(array, where) {
  const checked = new NDArray(array?.data, array?.shape, {
    order: array?.order,
    dtype: array?.dtype,
  });
  const parsed = /** @type {{ info: DtypeInfo }} */ (parseDescr(checked.dtype));
  const bytes = typedArrayBytes(checked.data);
  if (bytes.byteLength !== checked.size * parsed.info.itemsize) {
    throw new NDArrayError(`${where}: array data does not match its dtype and shape`);
  }
  return {
    info: parsed.info,
    shape: [...checked.shape],
    order: checked.order,
    size: checked.size,
    buffer: bytes.buffer,
    byteOffset: bytes.byteOffset,
    byteLength: bytes.byteLength,
  };
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
    if (options === null || typeof options !== "object") options = {};
    let size = 1;
    for (const n of shape) {
      if (!Number.isSafeInteger(n) || n < 0) {
        throw new NDArrayError(`NDArray: shape ${JSON.stringify(shape)} has a bad dimension ${n}`);
      }
      size *= n;
    }
    const order = options.order ?? "C";
    if (order !== "C" && order !== "F") throw new NDArrayError(`NDArray: order must be "C" or "F"`);
    const ctorName = /** @type {string} */ (typedArrayName(data));
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
    const length = TA_LENGTH.call(data);
    if (length !== size * parsed.info.lanes) {
      throw new NDArrayError(
        `NDArray: shape ${JSON.stringify(shape)} needs ${size * parsed.info.lanes} elements of ${ctorName}, data has ${length}`,
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
 * Turns the data bytes of an npy file into an NDArray. Views the bytes without copying only when
 * they are the whole of their buffer's tail (`ownBuffer`), little-endian (or one byte wide) and
 * aligned; otherwise copies into a buffer of exactly the data's size, so `.buffer` of the result
 * never exposes unrelated memory (a slice of Node's Buffer pool, the caller's other data).
 * @param {Uint8Array} data  exactly header.dataBytes bytes
 * @param {NpyHeader} header
 * @param {boolean} [ownBuffer]  true when data's buffer holds nothing but this npy file
 */
export function npyDataToNDArray(data, header, ownBuffer = false) {
  const { info } = header;
  const laneBytes = info.itemsize / info.lanes;
  const length = header.count * info.lanes;
  const Ctor = typedArrayClass(info.ctor);
  const swap = laneBytes > 1 && (header.byteOrder === ">") === HOST_LITTLE_ENDIAN;
  /** @type {TypedArray} */
  let typed;
  if (ownBuffer && !swap && data.byteOffset % laneBytes === 0) {
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
 * Decodes a whole .npy file held in memory (versions 1.0, 2.0, 3.0). The result views `bytes`
 * only when `bytes` spans its entire buffer (then that buffer is exactly the file); a subarray
 * of a larger buffer is copied out.
 * @param {Uint8Array} bytes
 * @param {string} [where]  file name for error messages
 * @returns {NDArray}
 */
export function decodeNpy(bytes, where = "npy data") {
  if (typedArrayName(bytes) !== "Uint8Array")
    throw new NDArrayError("decodeNpy: bytes must be a Uint8Array");
  const own = typedArrayBytes(bytes);
  const whole = new Uint8Array(own.buffer, own.byteOffset, own.byteLength);
  const { version, headerStart, headerLength } = parseNpyPrefix(whole, where);
  if (headerLength > NPY_MAX_HEADER) {
    fail(where, `npy header of ${headerLength} bytes is larger than ${NPY_MAX_HEADER} bytes`);
  }
  const dataOffset = headerStart + headerLength;
  if (dataOffset > whole.length) {
    fail(
      where,
      `npy header length ${headerLength} goes beyond the end of the data (${whole.length} bytes)`,
    );
  }
  const header = parseNpyHeader(
    whole.subarray(headerStart, dataOffset),
    version,
    dataOffset,
    whole.length,
    where,
  );
  const ownBuffer = own.byteOffset === 0 && own.byteLength === own.buffer.byteLength;
  return npyDataToNDArray(whole.subarray(dataOffset), header, ownBuffer);
}

// ---------------------------------------------------------------------------------------------
// Open data files

/**
 * What the readers need of an open data file: positional reads and close. A Node FileHandle is
 * one; so are the bytes of a fetched file ({@link fetchDataFile}).
 * @typedef {object} DataHandle
 * @property {(buffer: Uint8Array, offset: number, length: number, position: number) =>
 *   Promise<{ bytesRead: number }>} read
 * @property {() => Promise<void>} close
 * @property {number} [fd]  a real file's descriptor (HDF5 reopens it through /proc on Linux)
 * @property {number} [gatherWindow]  bytes read at once to gather small row ranges (default
 *   4 MiB; smaller for handles whose every read is a request)
 */

/**
 * A data file's bytes, already in memory, read like a file.
 * @param {Uint8Array} bytes
 * @returns {DataHandle}
 */
function bytesHandle(bytes) {
  return {
    async read(buffer, offset, length, position) {
      const n = Math.max(0, Math.min(length, bytes.length - position));
      buffer.set(bytes.subarray(position, position + n), offset);
      return { bytesRead: n };
    },
    async close() {},
  };
}

// ---------------------------------------------------------------------------------------------
// Reading limits: which files, and how much memory a file may make us allocate.

/**
 * @typedef {object} ArrayReadOptions
 * @property {number} [maxExpansion]  bytes of array data one data file may produce per byte of
 *   its own size (default DEFAULT_MAX_EXPANSION). Raise it for files you trust.
 * @property {string} [root]  folder every data file must really lie in (after symlinks)
 * @property {(path: string) => Promise<{ handle: DataHandle, size: number }>} [open]  opens a
 *   data file (the library passes its confined opener; archives served over http(s) a fetch);
 *   replaces the checks of `root`
 * @property {number} [blockBytes]  HDF5: bytes moved through the wasm heap per call
 */

/**
 * Deflate cannot expand data more than 1032 times (a 258-byte match costs at least 2 bits), so
 * no honest npz or gzip-filtered HDF5 file produces more than this many bytes per byte of file.
 * Beyond it, only tricks do: zip entries sharing one deflate stream, sizes that lie, HDF5
 * chunks that were never written. Compressed all-zero arrays approach the limit, so it is the
 * default rather than anything lower.
 */
export const DEFAULT_MAX_EXPANSION = 1032;

/** @param {number} n */
function bytesText(n) {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(1)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(1)} KiB`;
  return `${n} bytes`;
}

/**
 * The allocation budget of one data file: `maxExpansion` × its size, summed over every array
 * read from it.
 * @param {number} fileSize
 * @param {ArrayReadOptions | undefined} options
 * @param {string} where
 */
export function makeBudget(fileSize, options, where) {
  const ratio = options?.maxExpansion ?? DEFAULT_MAX_EXPANSION;
  if (typeof ratio !== "number" || !(ratio >= 1)) {
    throw new NDArrayError(`maxExpansion must be a number >= 1, got ${String(ratio)}`);
  }
  // A floor so that tiny files (a few hundred bytes of zip or HDF5 headers) are never the issue.
  const allowed = Math.max(fileSize, 4096) * ratio;
  let used = 0;
  return {
    /** True when the caller chose the bound (then it is the only one). */
    explicit: options?.maxExpansion !== undefined,
    ratio,
    /** @param {number} bytes @param {string} array */
    charge(bytes, array) {
      used += bytes;
      if (used > allowed) {
        fail(
          where,
          `array ${array} would make the arrays read from this ${bytesText(fileSize)} file take ${bytesText(used)}, more than maxExpansion (${ratio}× the file size) allows; if you trust the file, pass { maxExpansion: ${Math.ceil(used / Math.max(1, fileSize))} } or more`,
          array,
        );
      }
    },
  };
}

/** @param {string} root @param {string} path  both real and absolute */
function isInsideDir(root, path) {
  const { relative, sep, isAbsolute } = builtins(path).path;
  const rel = relative(root, path);
  return rel === "" || (rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/**
 * Opens a data file for reading: only a regular file (checked on the open descriptor; opened
 * non-blocking, so a FIFO cannot hang the thread pool), and with `root`, only one whose real path
 * lies inside `root`. The caller closes the handle.
 * @param {string} path
 * @param {ArrayReadOptions | undefined} options
 * @returns {Promise<{ handle: DataHandle, size: number }>}
 */
export async function openDataFile(path, options) {
  if (options?.open) return options.open(path);
  const { fs, fsp } = builtins(path);
  const { constants } = fs;
  let target = path;
  let flags = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);
  if (options?.root !== undefined) {
    const [root, real] = await Promise.all([fsp.realpath(options.root), fsp.realpath(path)]);
    if (!isInsideDir(root, real)) {
      fail(
        path,
        `resolves to ${real}, outside the archive folder ${root}; data files must lie inside it (replace the symlink with the file)`,
      );
    }
    target = real;
    flags |= constants.O_NOFOLLOW ?? 0;
  }
  const handle = await fsp.open(target, flags);
  try {
    const info = await handle.stat();
    if (!info.isFile()) {
      const kind = info.isDirectory()
        ? "a directory"
        : info.isFIFO()
          ? "a FIFO (named pipe)"
          : info.isCharacterDevice() || info.isBlockDevice()
            ? "a device"
            : "not a regular file";
      fail(path, `is ${kind}, not a regular data file`);
    }
    return { handle, size: info.size };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Files

const READ_CHUNK = 1 << 30; // one read call moves at most 1 GiB (fs reads are capped near 2 GiB)

/**
 * Reads `length` bytes at `position` of an open file into `buffer` at `offset`, through views of
 * at most `chunk` bytes (one Uint8Array cannot exceed 4 GiB on Node 20). Fails on a short read.
 * @param {DataHandle} handle
 * @param {number} position
 * @param {ArrayBufferLike} buffer
 * @param {number} offset
 * @param {number} length
 * @param {string} where
 * @param {number} [chunk]
 */
async function readInto(handle, position, buffer, offset, length, where, chunk = READ_CHUNK) {
  let done = 0;
  while (done < length) {
    const n = Math.min(chunk, length - done);
    const { bytesRead } = await handle.read(
      new Uint8Array(buffer, offset + done, n),
      0,
      n,
      position + done,
    );
    if (bytesRead === 0) fail(where, `file ended early (wanted ${length} bytes at ${position})`);
    done += bytesRead;
  }
}

/**
 * Reads `length` bytes at `position` of an open file into a fresh ArrayBuffer of exactly that
 * size (so the data can be viewed without copying). Fails on a short read.
 * @param {DataHandle} handle
 * @param {number} position
 * @param {number} length
 * @param {string} where
 * @param {number} [chunk]  bytes per read call (tests make it small)
 * @returns {Promise<ArrayBuffer>}
 */
export async function readIntoBuffer(handle, position, length, where, chunk = READ_CHUNK) {
  const buffer = new ArrayBuffer(length);
  await readInto(handle, position, buffer, 0, length, where, chunk);
  return buffer;
}

/**
 * {@link readIntoBuffer} as a Uint8Array (so for less than 4 GiB).
 * @param {DataHandle} handle
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
 * @param {DataHandle} handle
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
 * Byte ranges of the data section (relative to its start, ascending, disjoint) that hold rows
 * [lo, hi) along axis 0, in the order they appear in the result. C order: one range. Fortran
 * order: one range per column (the rows of each column are contiguous), merged when whole.
 * @param {NpyHeader | { shape: number[], fortran: boolean, info: DtypeInfo }} header
 * @param {number} lo
 * @param {number} hi
 * @returns {Iterable<[number, number]>}
 */
export function rowRanges(header, lo, hi) {
  const { shape, info } = header;
  const n = shape.length > 0 ? /** @type {number} */ (shape[0]) : 1;
  const total = shape.reduce((a, b) => a * b, 1);
  const itemsize = info.itemsize;
  if (total === 0 || hi <= lo) return [];
  if (!header.fortran || shape.length < 2 || (lo === 0 && hi === n)) {
    const rowBytes = (total / n) * itemsize;
    return [[lo * rowBytes, hi * rowBytes]];
  }
  const columns = total / n;
  return (function* () {
    for (let j = 0; j < columns; j++)
      yield/** @type {[number, number]} */ ([(j * n + lo) * itemsize, (j * n + hi) * itemsize]);
  })();
}

/** The shape of rows [lo, hi) of `shape`. @param {readonly number[]} shape @param {number} lo @param {number} hi */
function rowsShape(shape, lo, hi) {
  return shape.length > 0 ? [hi - lo, ...shape.slice(1)] : [];
}

/** Window for gathering many small ranges (Fortran-order rows) with few read calls. */
const GATHER_WINDOW = 4 << 20;

/**
 * Reads `ranges` of the bytes at `base` of an open file, one after another, into a new buffer of
 * exactly `length` bytes. Large ranges are read straight into the result; small ones through a
 * reused window, so many tiny ranges cost few reads.
 * @param {DataHandle} handle
 * @param {number} base
 * @param {number} limit  bytes readable from `base` (the data section's size)
 * @param {Iterable<[number, number]>} ranges
 * @param {number} length
 * @param {string} where
 * @param {ArrayBuffer} [into]  a buffer of at least `length` bytes to read into (a reader that
 *   walks a big array chunk by chunk reuses two, instead of allocating, zeroing and collecting a
 *   new buffer per chunk); its first `length` bytes are the result
 */
export async function gatherRanges(handle, base, limit, ranges, length, where, into) {
  const out = into !== undefined && into.byteLength >= length ? into : new ArrayBuffer(length);
  // A handle whose reads cost a request each (S3 ranged GETs) asks for a smaller window.
  const windowBytes = handle.gatherWindow ?? GATHER_WINDOW;
  /** @type {Uint8Array | undefined} */
  let window;
  let wStart = 0;
  let wEnd = 0;
  let at = 0;
  for (const [s, e] of ranges) {
    const len = e - s;
    if (len >= windowBytes / 4) {
      await readInto(handle, base + s, out, at, len, where);
    } else {
      if (s < wStart || e > wEnd) {
        wStart = s;
        wEnd = Math.min(limit, s + windowBytes);
        window ??= new Uint8Array(windowBytes);
        await readInto(handle, base + wStart, window.buffer, 0, wEnd - wStart, where);
      }
      new Uint8Array(out, at, len).set(
        /** @type {Uint8Array} */ (window).subarray(s - wStart, e - wStart),
      );
    }
    at += len;
  }
  if (at !== length) fail(where, "internal error: gathered ranges do not fill the result");
  return out;
}

/**
 * The NDArray for native-order bytes `buffer` read from an npy of `header` (byte-swapped here in
 * place when the file is big-endian).
 * @param {ArrayBuffer} buffer
 * @param {NpyHeader} header
 * @param {number[]} shape
 */
function toNDArray(buffer, header, shape) {
  const { info } = header;
  const laneBytes = info.itemsize / info.lanes;
  const length = shape.reduce((a, b) => a * b, 1) * info.itemsize;
  if (laneBytes > 1 && (header.byteOrder === ">") === HOST_LITTLE_ENDIAN)
    byteSwap(new Uint8Array(buffer, 0, length), laneBytes);
  const Ctor = typedArrayClass(info.ctor);
  return new NDArray(new Ctor(buffer, 0, length / laneBytes), shape, {
    order: header.fortran ? "F" : "C",
    dtype: nativeDescr(info),
  });
}

/**
 * Reads the data of an npy at `base` (header from {@link readNpyHeaderAt}) — all of it, or rows
 * [rowStart, rowStop) along axis 0 (either memory order) — into a buffer of exactly its size,
 * converted to native byte order.
 * @param {DataHandle} handle
 * @param {number} base
 * @param {NpyHeader} header
 * @param {string} where
 * @param {number} [rowStart]
 * @param {number} [rowStop]
 * @param {ArrayBuffer} [into]  read into this buffer when it is big enough (see gatherRanges)
 */
export async function readNpyDataAt(handle, base, header, where, rowStart, rowStop, into) {
  const { shape } = header;
  const rows = shape.length > 0 ? /** @type {number} */ (shape[0]) : 1;
  const lo = rowStart ?? 0;
  const hi = rowStop ?? rows;
  const outShape = rowsShape(shape, lo, hi);
  const length = outShape.reduce((a, b) => a * b, 1) * header.info.itemsize;
  const buffer = await gatherRanges(
    handle,
    base + header.dataOffset,
    header.dataBytes,
    rowRanges(header, lo, hi),
    length,
    where,
    into,
  );
  return toNDArray(buffer, header, outShape);
}

/**
 * Reads a whole .npy file: header first, then the data into a buffer of exactly its size.
 * @param {string} path
 * @param {ArrayReadOptions} [options]
 */
export async function readNpyFile(path, options) {
  const { handle, size } = await openDataFile(path, options);
  try {
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
// CRC-32 (zip). node:zlib has crc32 from Node 20.15 / 22.2; the engines field allows older 20.x,
// where this small table version (the zip polynomial, 0xEDB88320 reflected) takes over.

/** @type {Uint32Array | undefined} */
let crcTable;
/**
 * @param {Uint8Array} bytes
 * @param {number} [value]  the CRC so far (0 to start)
 * @returns {number}
 */
export function crc32(bytes, value = 0) {
  const native = /** @type {any} */ (NODE?.zlib)?.crc32;
  if (typeof native === "function") return native(bytes, value);
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = ~value >>> 0;
  for (let i = 0; i < bytes.length; i++)
    c = /** @type {number} */ (crcTable[(c ^ /** @type {number} */ (bytes[i])) & 0xff]) ^ (c >>> 8);
  return ~c >>> 0;
}

/** CRC-32 of `length` bytes of `buffer` at `offset`, in slices under 4 GiB. @param {ArrayBufferLike} buffer @param {number} offset @param {number} length @param {number} value */
function crc32Of(buffer, offset, length, value) {
  for (let at = 0; at < length; at += READ_CHUNK) {
    value = crc32(new Uint8Array(buffer, offset + at, Math.min(READ_CHUNK, length - at)), value);
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// npz: a zip of .npy files. Read with no library (archives need none): the central
// directory is parsed here, including the zip64 fields numpy always writes; entries are read
// with positional reads, stored ones straight into their own buffer, deflated ones inflated as a
// stream into a buffer of the declared size, never past it. Every entry's local header must
// agree with the central directory, entries may not share bytes, and the CRC-32 is checked
// whenever an entry is read whole.

/**
 * @typedef {object} ZipEntry
 * @property {string} name
 * @property {number} method
 * @property {number} flags
 * @property {number} crc
 * @property {number} compressedSize
 * @property {number} size
 * @property {number} localOffset
 */

/**
 * Lists the entries of a zip file from its central directory, and checks that their local
 * records lie one after another, without overlap, before the directory.
 * @param {DataHandle} handle
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
  const names = new Set();
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
      crc: v.getUint32(p + 16, true),
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
    if (names.has(entry.name))
      fail(where, `zip has two entries named ${JSON.stringify(entry.name)}`);
    names.add(entry.name);
    entries.push(entry);
    p += 46 + nameLen + extraLen + commentLen;
  }
  // Each entry needs at least its 30-byte local header plus its compressed bytes before the next
  // one starts: two entries pointing into one deflate stream (a 1 MB file "holding" 4 GiB) or
  // into the directory are refused here, before anything is read or allocated.
  const sorted = [...entries].sort((a, b) => a.localOffset - b.localOffset);
  for (let i = 0; i < sorted.length; i++) {
    const e = /** @type {ZipEntry} */ (sorted[i]);
    const next =
      i + 1 < sorted.length ? /** @type {ZipEntry} */ (sorted[i + 1]).localOffset : cdOffset;
    if (e.localOffset + 30 + e.compressedSize > next) {
      fail(
        where,
        `zip entry ${JSON.stringify(e.name)} overlaps ${i + 1 < sorted.length ? "the next entry" : "the central directory"} (entries may not share data)`,
      );
    }
  }
  return entries;
}

/**
 * Checks an entry's local header against the central directory and returns where its data
 * starts.
 * @param {DataHandle} handle
 * @param {number} fileSize
 * @param {ZipEntry} entry
 * @param {string} at
 */
async function zipEntryStart(handle, fileSize, entry, at) {
  if (entry.flags & 1) fail(at, "encrypted zip entries are not supported");
  if (entry.method !== 0 && entry.method !== 8) {
    fail(at, `zip compression method ${entry.method} is not supported (stored or deflate only)`);
  }
  if (entry.localOffset + 30 > fileSize) fail(at, "zip entry lies beyond the end of the file");
  const local = await readExactly(handle, entry.localOffset, 30, at);
  const lv = new DataView(local.buffer);
  if (lv.getUint32(0, true) !== 0x04034b50) fail(at, "corrupt zip local header");
  const nameLen = lv.getUint16(26, true);
  const start = entry.localOffset + 30 + nameLen + lv.getUint16(28, true);
  if (start + entry.compressedSize > fileSize) fail(at, "zip entry data is truncated");
  const name = new TextDecoder().decode(
    await readExactly(handle, entry.localOffset + 30, nameLen, at),
  );
  if (lv.getUint16(8, true) !== entry.method || name !== entry.name) {
    fail(at, "zip local header disagrees with the central directory (name or method)");
  }
  // Without a data descriptor (flag bit 3) the local header repeats CRC and sizes (0xFFFFFFFF:
  // in a zip64 extra field, which the central directory's values already cover).
  if (!(lv.getUint16(6, true) & 8)) {
    const lcrc = lv.getUint32(14, true);
    const lcomp = lv.getUint32(18, true);
    const lsize = lv.getUint32(22, true);
    if (
      lcrc !== entry.crc ||
      (lcomp !== 0xffffffff && lcomp !== entry.compressedSize) ||
      (lsize !== 0xffffffff && lsize !== entry.size)
    ) {
      fail(at, "zip local header disagrees with the central directory (CRC or sizes)");
    }
  }
  if (entry.method === 0 && entry.compressedSize !== entry.size)
    fail(at, "stored zip entry has mismatched sizes");
  if (entry.method === 8 && entry.size > entry.compressedSize * DEFAULT_MAX_EXPANSION + 1024) {
    fail(
      at,
      `deflated zip entry declares ${entry.size} bytes from ${entry.compressedSize}: more than deflate can produce`,
    );
  }
  return start;
}

// Compressed bytes per read while inflating: small, because the inflater turns each one into
// output at once (up to ~1000× for zeros), and that output is what a partial read must not pile up.
const INFLATE_READ = 64 << 10;
// Browsers' DecompressionStream queues all the output of one input chunk before we see any of
// it, so it gets smaller pieces: at most ~16 MiB of output can be pending.
const INFLATE_READ_WEB = 16 << 10;

// Output window of the windowed inflater: every output chunk is a view of this one buffer.
const INFLATE_WINDOW = 64 << 10;

/**
 * Raw-deflate decompression with fixed memory: one input buffer and one output buffer, reused for
 * the whole entry, driving node:zlib's inflater synchronously (the handle's writeSync, as
 * zlib.inflateRawSync does). A streamed inflater allocates a fresh 64 KiB buffer per output
 * chunk, and those pile up until the next GC: reading rows from the middle of a deflated entry
 * then peaked at 3-4× the rows' bytes. Each yielded chunk is valid only until the next one (the
 * consumer copies what it keeps). Undefined where node:zlib has no such handle (Deno, Bun,
 * browsers): the caller streams instead.
 * @param {DataHandle} handle
 * @param {number} start
 * @param {number} compressedSize
 * @param {string} at
 * @returns {AsyncGenerator<Uint8Array> | undefined}
 */
function inflateRawWindowed(handle, start, compressedSize, at) {
  if (!NODE) return undefined;
  const z = /** @type {any} */ (NODE.zlib.createInflateRaw());
  const engine = z._handle;
  const state = z._writeState;
  if (!engine || typeof engine.writeSync !== "function" || !(state instanceof Uint32Array)) {
    z.close();
    return undefined;
  }
  /** @type {Error | undefined} */
  let error;
  z.on("error", (/** @type {Error} */ err) => {
    error = err;
  });
  const flush = NODE.zlib.constants.Z_NO_FLUSH;
  return (async function* () {
    const input = new Uint8Array(Math.min(INFLATE_READ, Math.max(1, compressedSize)));
    const output = new Uint8Array(INFLATE_WINDOW);
    try {
      for (let p = 0; p < compressedSize; ) {
        const want = Math.min(input.length, compressedSize - p);
        const { bytesRead } = await handle.read(input, 0, want, start + p);
        if (bytesRead === 0) fail(at, `file ended early (wanted ${want} bytes at ${start + p})`);
        p += bytesRead;
        let inOff = 0;
        let availIn = bytesRead;
        for (;;) {
          engine.writeSync(flush, input, inOff, availIn, output, 0, output.length);
          if (z.destroyed || z._handle !== engine) {
            // The error handler ran (zlib reports errors by destroying the stream); its 'error'
            // event comes a tick later.
            await new Promise((resolve) => setTimeout(resolve, 0));
            fail(at, `cannot inflate zip entry: ${error?.message ?? "invalid deflate data"}`);
          }
          const availOut = /** @type {number} */ (state[0]);
          const left = /** @type {number} */ (state[1]);
          inOff += availIn - left;
          availIn = left;
          const have = output.length - availOut;
          if (have > 0) yield output.subarray(0, have);
          // Room left in the output: the inflater took all it could from this input.
          if (availOut !== 0) break;
        }
      }
    } finally {
      if (!z.destroyed) z.close();
    }
  })();
}

/**
 * Raw-deflate decompression of `compressed`, as a sequence of output chunks: node:zlib where
 * there is one (its streams push back once the output is not read), DecompressionStream
 * ("deflate-raw") elsewhere. Stopping the iteration early releases both.
 * @param {(piece: number) => AsyncGenerator<Uint8Array>} compressed  yields the compressed bytes
 *   in pieces of the given size
 * @param {string} at
 * @returns {AsyncGenerator<Uint8Array>}
 */
async function* inflateRaw(compressed, at) {
  if (NODE) {
    const source = NODE.stream.Readable.from(compressed(INFLATE_READ), { objectMode: false });
    const inflater = NODE.zlib.createInflateRaw({ chunkSize: 1 << 16 });
    source.on("error", (err) => inflater.destroy(err));
    source.pipe(inflater);
    try {
      for await (const chunk of inflater) yield/** @type {Uint8Array} */ (chunk);
    } finally {
      source.destroy();
      inflater.destroy();
    }
    return;
  }
  if (typeof DecompressionStream !== "function") {
    fail(at, "this runtime has neither node:zlib nor DecompressionStream to inflate zip entries");
  }
  const input = compressed(INFLATE_READ_WEB);
  // Pulled one piece at a time (highWaterMark 0), so compressed bytes are read only as fast as
  // the output is consumed.
  const source = new ReadableStream(
    {
      async pull(controller) {
        const { value, done } = await input.next();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      async cancel() {
        await input.return(undefined);
      },
    },
    { highWaterMark: 0 },
  );
  const reader = source
    .pipeThrough(/** @type {any} */ (new DecompressionStream(/** @type {any} */ ("deflate-raw"))))
    .getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      yield/** @type {Uint8Array} */ (value);
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

/**
 * Inflates a deflated zip entry as a stream, calling `consume(chunk, offset)` with each piece of
 * output (offset within the entry's uncompressed bytes) until it returns false. Never lets the
 * output exceed `entry.size`; when the stream was read to the end, checks its length and CRC.
 * @param {DataHandle} handle
 * @param {number} start
 * @param {ZipEntry} entry
 * @param {string} at
 * @param {(chunk: Uint8Array, offset: number) => boolean} consume
 */
export async function inflateEntry(handle, start, entry, at, consume) {
  /** @param {number} piece */
  async function* compressed(piece) {
    for (let p = 0; p < entry.compressedSize; p += piece) {
      yield await readExactly(handle, start + p, Math.min(piece, entry.compressedSize - p), at);
    }
  }
  const windowed = inflateRawWindowed(handle, start, entry.compressedSize, at);
  let offset = 0;
  let crc = 0;
  let complete = true;
  try {
    for await (const bytes of windowed ?? inflateRaw(compressed, at)) {
      if (offset + bytes.length > entry.size) {
        fail(at, `inflated zip entry is larger than its declared ${entry.size} bytes`);
      }
      crc = crc32(bytes, crc);
      const more = consume(bytes, offset);
      offset += bytes.length;
      if (!more) {
        complete = offset === entry.size;
        if (!complete) break;
      }
    }
  } catch (err) {
    if (err instanceof PersistFormatError) throw err;
    fail(at, `cannot inflate zip entry: ${/** @type {Error} */ (err).message}`);
  }
  if (complete) {
    if (offset !== entry.size)
      fail(
        at,
        `inflated zip entry has ${offset} bytes, not the declared ${entry.size} (truncated or corrupt)`,
      );
    if (crc !== entry.crc) fail(at, "zip entry fails its CRC-32 check (corrupt data)");
  }
}

/**
 * An npy inside a zip entry, known from its header.
 * @typedef {object} NpzMember
 * @property {ZipEntry} entry
 * @property {number} start  file offset of the entry's data
 * @property {NpyHeader} header
 * @property {Uint8Array} [head]  stored entries: the npy bytes before the data (for the CRC)
 */

/**
 * Reads the npy header of an entry (without its data): positionally when stored, from the first
 * inflated bytes when deflated.
 * @param {DataHandle} handle
 * @param {number} fileSize
 * @param {ZipEntry} entry
 * @param {string} at
 * @returns {Promise<NpzMember>}
 */
export async function openNpzMember(handle, fileSize, entry, at) {
  const start = await zipEntryStart(handle, fileSize, entry, at);
  if (entry.method === 0) {
    const header = await readNpyHeaderAt(handle, start, entry.size, at);
    return { entry, start, header };
  }
  /** @type {Uint8Array[]} */
  const parts = [];
  let have = 0;
  /** @type {NpyHeader | undefined} */
  let header;
  await inflateEntry(handle, start, entry, at, (chunk) => {
    parts.push(chunk.slice()); // the inflater reuses its output buffer
    have += chunk.length;
    const bytes = concat(parts, have);
    if (bytes.length < 12 && have < entry.size) return true;
    const prefix = parseNpyPrefix(bytes, at);
    if (prefix.headerLength > NPY_MAX_HEADER) {
      fail(at, `npy header of ${prefix.headerLength} bytes is larger than ${NPY_MAX_HEADER} bytes`);
    }
    const dataOffset = prefix.headerStart + prefix.headerLength;
    if (dataOffset > entry.size) {
      fail(
        at,
        `npy header length ${prefix.headerLength} goes beyond the end of the data (${entry.size} bytes)`,
      );
    }
    if (have < dataOffset) return true;
    header = parseNpyHeader(
      bytes.subarray(prefix.headerStart, dataOffset),
      prefix.version,
      dataOffset,
      entry.size,
      at,
    );
    return false;
  });
  if (!header) fail(at, "zip entry ended inside the npy header");
  return { entry, start, header };
}

/** @param {Uint8Array[]} parts @param {number} length */
function concat(parts, length) {
  if (parts.length === 1) return /** @type {Uint8Array} */ (parts[0]);
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  parts.length = 0;
  parts.push(out);
  return out;
}

/**
 * Reads rows [lo, hi) (all rows when omitted) of an npz member into a buffer of exactly their
 * size. Stored: positional reads. Deflated: streamed, stopping after the last byte needed. A whole
 * read checks the CRC-32.
 * @param {DataHandle} handle
 * @param {NpzMember} member
 * @param {string} at
 * @param {number} [lo]
 * @param {number} [hi]
 */
export async function readNpzMember(handle, member, at, lo, hi) {
  const { entry, start, header } = member;
  const rows = header.shape.length > 0 ? /** @type {number} */ (header.shape[0]) : 1;
  const first = lo ?? 0;
  const stop = hi ?? rows;
  const whole = first === 0 && stop === rows;
  const outShape = rowsShape(header.shape, first, stop);
  const length = outShape.reduce((a, b) => a * b, 1) * header.info.itemsize;
  const ranges = rowRanges(header, first, stop);
  if (entry.method === 0) {
    const out = await gatherRanges(
      handle,
      start + header.dataOffset,
      header.dataBytes,
      ranges,
      length,
      at,
    );
    if (whole) {
      const head = await readExactly(handle, start, header.dataOffset, at);
      if (crc32Of(out, 0, out.byteLength, crc32(head)) !== entry.crc) {
        fail(at, "zip entry fails its CRC-32 check (corrupt data)");
      }
    }
    return toNDArray(out, header, outShape);
  }
  const out = new ArrayBuffer(length);
  const iterator = ranges[Symbol.iterator]();
  let range = iterator.next();
  let at2 = 0; // bytes of `out` filled
  const dataStart = header.dataOffset;
  await inflateEntry(handle, start, entry, at, (chunk, offset) => {
    const cStart = offset - dataStart;
    const cEnd = cStart + chunk.length;
    while (!range.done) {
      const [s, e] = range.value;
      if (s >= cEnd) return true;
      const from = Math.max(s, cStart);
      const to = Math.min(e, cEnd);
      if (to > from) {
        new Uint8Array(out, at2 + (from - s), to - from).set(
          chunk.subarray(from - cStart, to - cStart),
        );
      }
      if (e > cEnd) return true;
      at2 += e - s;
      range = iterator.next();
    }
    return whole; // a whole read goes on to the end for the length and CRC checks
  });
  if (!range.done) fail(at, "zip entry ended before the rows asked for");
  return toNDArray(out, header, outShape);
}

/**
 * Reads arrays from an .npz file (numpy savez / savez_compressed, or ours).
 * @param {string} path
 * @param {string[]} [names]  array names (entry names without ".npy"); all when omitted
 * @param {ArrayReadOptions} [options]
 * @returns {Promise<Record<string, NDArray>>}
 */
export async function readNpz(path, names, options) {
  const { handle, size } = await openDataFile(path, options);
  try {
    const budget = makeBudget(size, options, path);
    const entries = await readZipDirectory(handle, size, path);
    const byName = new Map(
      entries.filter((e) => e.name.endsWith(".npy")).map((e) => [e.name.slice(0, -4), e]),
    );
    /** @type {Record<string, NDArray>} */
    const out = Object.create(null);
    for (const name of names ?? byName.keys()) {
      const entry = byName.get(name);
      if (!entry) fail(path, `has no array ${JSON.stringify(name)} (no entry ${name}.npy)`, name);
      const at = `${path} (array ${name})`;
      try {
        const member = await openNpzMember(handle, size, entry, at);
        budget.charge(member.header.dataBytes, name);
        out[name] = await readNpzMember(handle, member, at);
      } catch (err) {
        if (err instanceof PersistFormatError) err.array = name;
        throw err;
      }
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
  const Ctor = typedArrayClass(/** @type {string} */ (typedArrayName(data)));
  const length = TA_LENGTH.call(data);
  /** @type {T} */
  const out = new Ctor(length);
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
  const total = length / lanes;
  let src = 0;
  for (let j = 0; j < total; j++) {
    for (let l = 0; l < lanes; l++) out[j * lanes + l] = /** @type {any} */ (data)[src * lanes + l];
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
    // Node, Deno and Bun find the package in node_modules; a browser only through an import map
    // that maps the bare name "h5wasm" to the package's ES module build.
    mod = NODE ? await import("h5wasm/node") : await import("h5wasm");
  } catch (err) {
    const why = /** @type {Error} */ (err).message;
    fail(
      where,
      NODE
        ? `reading HDF5 needs the h5wasm package, which cannot be imported here (${why}); run "npm install h5wasm" beside the archive, or convert it to npy`
        : `reading HDF5 in a browser needs h5wasm, which cannot be imported here (${why}); give the page an import map that maps "h5wasm" to the URL of h5wasm's dist/esm/hdf5_hl.js, or convert the archive to npz (persist convert)`,
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
 * h5wasm opens files by path, and HDF5 opens further files on its own to follow external links,
 * external raw-data storage and virtual dataset sources. This filter on h5wasm's file system
 * (installed once per h5wasm instance) refuses every open but the one file being read while a
 * read is in progress, so no HDF5 feature can make a read leave that file — the link and layout
 * checks below name the problem; this makes sure nothing they miss gets through.
 * @param {any} h5
 * @returns {{ allowed: string | null, refused: string | null }}
 */
function guardH5wasm(h5) {
  const FS = h5.FS;
  const key = Symbol.for("persist-archive.h5wasm-open-guard");
  if (FS[key]) return FS[key];
  const state = {
    allowed: /** @type {string | null} */ (null),
    refused: /** @type {string | null} */ (null),
  };
  const original = FS.open;
  FS.open = function (/** @type {unknown} */ path, /** @type {unknown[]} */ ...rest) {
    if (state.allowed !== null && path !== state.allowed) {
      state.refused = String(path);
      throw new FS.ErrnoError(2); // EACCES in emscripten's numbering
    }
    return original.call(this, path, ...rest);
  };
  Object.defineProperty(FS, key, { value: state });
  return state;
}

/** Names of fetched HDF5 files put into h5wasm's in-memory file system, made unique. */
let memoryFiles = 0;

/**
 * An open HDF5 file for the duration of `fn` (synchronous: h5wasm is), confined to itself.
 * @template T
 * @param {string} path
 * @param {ArrayReadOptions | undefined} options
 * @param {(h5: any, file: any, size: number, guard: { refused: string | null }) => T} fn
 * @returns {Promise<T>}
 */
async function withHdf5File(path, options, fn) {
  const { handle, size } = await openDataFile(path, options);
  try {
    await checkHdf5Signature(handle, size, path); // a clear error before h5wasm sees the file
    const h5 = await importH5wasm(path);
    const guard = guardH5wasm(h5);
    /** @type {string} */
    let h5path;
    let forget = () => {};
    if (NODE && handle.fd !== undefined) {
      // The descriptor we checked, reopened by h5wasm through /proc on Linux (so the file h5wasm
      // reads is the one that passed the checks); the resolved path elsewhere.
      h5path =
        globalThis.process?.platform === "linux"
          ? `/proc/self/fd/${handle.fd}`
          : NODE.path.resolve(path);
    } else {
      // No file h5wasm could open (a fetched one): its bytes go into h5wasm's in-memory files.
      h5path = `/persist-data-${++memoryFiles}.h5`;
      h5.FS.writeFile(h5path, await readExactly(handle, 0, size, path));
      forget = () => h5.FS.unlink(h5path);
    }
    guard.allowed = h5path;
    guard.refused = null;
    try {
      const file = new h5.File(h5path, "r");
      if (!(file.file_id > 0n)) fail(path, "h5wasm cannot open this HDF5 file");
      try {
        return fn(h5, file, size, guard);
      } finally {
        file.close();
      }
    } finally {
      guard.allowed = null;
      forget();
    }
  } finally {
    await handle.close();
  }
}

/**
 * A small attribute's value, or undefined (a huge attribute is not read into memory).
 * @param {any} attrs
 * @param {string} name
 */
function smallAttr(attrs, name) {
  const attr = attrs[name];
  if (!attr) return undefined;
  const md = attr.metadata;
  const count = (md?.shape ?? []).reduce(
    (/** @type {number} */ a, /** @type {number} */ b) => a * b,
    1,
  );
  if (count !== 1 || !(md?.size <= 64)) return undefined;
  return attr.value;
}

/**
 * @typedef {object} Hdf5Dataset
 * @property {any} ds
 * @property {string} name
 * @property {DtypeInfo} info
 * @property {number[]} shape
 * @property {boolean} fortran
 * @property {boolean} filtered
 * @property {number} bytes
 */

/** Link names at the root of an open file (cached per file object). @param {any} file @returns {string[]} */
function rootNames(file) {
  const key = Symbol.for("persist-archive.h5-root-names");
  if (!file[key]) Object.defineProperty(file, key, { value: file.keys() });
  return file[key];
}

/**
 * Finds dataset `name` and checks it can be read from this file alone: reached through hard
 * links only (an external link would open another file, a soft link may lead to one), not
 * virtual, compressed only with filters the wasm build decodes, of a numpy number type.
 * @param {any} h5
 * @param {any} file
 * @param {string} name
 * @param {string} where
 * @returns {Hdf5Dataset}
 */
export function hdf5Dataset(h5, file, name, where) {
  const at = `${where} (dataset ${name})`;
  const M = h5.Module;
  // Only datasets at the root, and only names the root really has (asking HDF5 about a missing
  // name prints diagnostics to stderr).
  if (typeof name !== "string" || name.includes("/") || !rootNames(file).includes(name)) {
    fail(where, `has no dataset named ${JSON.stringify(name)} at its root`, name);
  }
  const external = M.get_external_link(file.file_id, `/${name}`);
  if (external?.filename !== undefined) {
    fail(
      at,
      `is an HDF5 external link to ${JSON.stringify(`${external.filename}:${external.obj_path}`)}; external links are refused (data is read from the file itself only)`,
      name,
    );
  }
  const soft = M.get_symbolic_link(file.file_id, `/${name}`);
  if (soft !== null && soft !== undefined) {
    fail(at, `is an HDF5 soft link to ${JSON.stringify(soft)}; links are not followed`, name);
  }
  /** @type {any} */
  let ds = null;
  try {
    ds = file.get(name);
  } catch {
    ds = null;
  }
  if (!(ds instanceof h5.Dataset))
    fail(where, `has no dataset named ${JSON.stringify(name)}`, name);
  const md = ds.metadata;
  if (md.virtual_sources) {
    fail(at, "is an HDF5 virtual dataset (its data lives in other files); refused", name);
  }
  for (const filter of ds.filters) {
    if (!HDF5_FILTERS_OK.has(filter.id)) {
      fail(
        at,
        `is compressed with HDF5 filter ${filter.name || "unknown"} (id ${filter.id}), which cannot be decoded here; rewrite it with gzip or without compression`,
        name,
      );
    }
  }
  if (!md.shape) fail(at, "has no data (null dataspace)", name);
  const attrs = ds.attrs;
  const kind = hdf5Kind(md, smallAttr(attrs, HDF5_DTYPE_ATTR), at);
  const info = /** @type {DtypeInfo} */ (DTYPES[kind]);
  const shape = /** @type {number[]} */ (md.shape.map(Number));
  const bytes = shape.reduce((a, b) => a * b, 1) * info.itemsize;
  if (!Number.isSafeInteger(bytes)) fail(at, "has a shape too large to read", name);
  return {
    ds,
    name,
    info,
    shape,
    fortran: smallAttr(attrs, HDF5_ORDER_ATTR) === "F",
    filtered: ds.filters.some((/** @type {{ id: number }} */ f) => f.id === 1),
    bytes,
  };
}

/**
 * Charges a dataset to the file's budget. Uncompressed data must really be in the file: an
 * uncompressed dataset larger than the whole file has chunks that were never written (they
 * would read as the fill value), so it is refused unless the caller set maxExpansion.
 * @param {Hdf5Dataset} d
 * @param {ReturnType<typeof makeBudget>} budget
 * @param {{ raw: number }} tally  uncompressed bytes charged so far
 * @param {number} fileSize
 * @param {string} where
 */
function chargeHdf5(d, budget, tally, fileSize, where) {
  if (!d.filtered && !budget.explicit) {
    tally.raw += d.bytes;
    if (tally.raw > fileSize) {
      fail(
        `${where} (dataset ${d.name})`,
        `declares ${bytesText(d.bytes)} of uncompressed data, more than the ${bytesText(fileSize)} file holds (chunks never written would read as the fill value); if you trust the file, pass { maxExpansion: ${Math.ceil(tally.raw / Math.max(1, fileSize))} } or more`,
        d.name,
      );
    }
  }
  budget.charge(d.bytes, d.name);
}

/**
 * Reads rows [lo, hi) (all when omitted) of a dataset into an NDArray, in row blocks under the
 * wasm heap limit (hyperslab reads).
 * @param {any} h5
 * @param {any} file
 * @param {Hdf5Dataset} d
 * @param {string} where
 * @param {{ refused: string | null }} guard
 * @param {number} [blockBytes]
 * @param {number} [lo]
 * @param {number} [hi]
 */
export function readHdf5Rows(h5, file, d, where, guard, blockBytes = HDF5_BLOCK_BYTES, lo, hi) {
  const at = `${where} (dataset ${d.name})`;
  const { info, shape } = d;
  const rows = shape.length > 0 ? /** @type {number} */ (shape[0]) : 1;
  const first = lo ?? 0;
  const stop = hi ?? rows;
  const outShape = rowsShape(shape, first, stop);
  const total = outShape.reduce((a, b) => a * b, 1);
  const out = new ArrayBuffer(total * info.itemsize);
  const M = h5.Module;
  if (total > 0) {
    const rowBytes = (total / (stop - first || 1)) * info.itemsize;
    const perBlock = Math.max(1, Math.floor(blockBytes / rowBytes));
    for (let r = first; r < stop; r += perBlock) {
      const n = Math.min(perBlock, stop - r);
      const nbytes = n * rowBytes;
      const ptr = M._malloc(nbytes);
      if (!ptr) fail(at, `cannot allocate ${nbytes} bytes in the wasm heap`, d.name);
      try {
        const ranked = shape.length > 0;
        let status;
        try {
          status = M.get_dataset_data(
            file.file_id,
            d.ds.path,
            ranked ? [BigInt(n), ...shape.slice(1).map(BigInt)] : null,
            ranked ? [BigInt(r), ...shape.slice(1).map(() => 0n)] : null,
            ranked ? shape.map(() => 1n) : null,
            BigInt(ptr),
          );
        } catch (err) {
          status = -1;
          if (!guard.refused) throw err;
        }
        if (guard.refused) {
          fail(
            at,
            `makes HDF5 open another file (${guard.refused}): external storage, an external link or a virtual dataset; refused (data is read from the file itself only)`,
            d.name,
          );
        }
        if (status < 0) fail(at, "HDF5 read failed", d.name);
        new Uint8Array(out, (r - first) * rowBytes, nbytes).set(
          M.HEAPU8.subarray(ptr, ptr + nbytes),
        );
      } finally {
        M._free(ptr);
      }
    }
  }
  const Ctor = typedArrayClass(info.ctor);
  /** @type {TypedArray} */
  let data = new Ctor(out, 0, total * info.lanes);
  if (d.fortran) data = reorder(data, outShape, info.lanes, true);
  return new NDArray(data, outShape, { order: d.fortran ? "F" : "C", dtype: nativeDescr(info) });
}

/**
 * Reads one dataset of an open h5wasm File into an NDArray (no budget: for callers that did
 * their own checks).
 * @param {any} h5
 * @param {any} file
 * @param {string} name
 * @param {string} where
 * @param {number} [blockBytes]
 */
export function readHdf5Dataset(h5, file, name, where, blockBytes = HDF5_BLOCK_BYTES) {
  const d = hdf5Dataset(h5, file, name, where);
  return readHdf5Rows(h5, file, d, where, guardH5wasm(h5), blockBytes);
}

/**
 * Checks for the HDF5 superblock signature, which sits at offset 0, 512, 1024, 2048, ...
 * @param {DataHandle} handle
 * @param {number} size
 * @param {string} path
 */
async function checkHdf5Signature(handle, size, path) {
  const sig = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
  for (let at = 0; at + 8 <= size; at = at === 0 ? 512 : at * 2) {
    const head = await readExactly(handle, at, 8, path);
    if (sig.every((b, i) => head[i] === b)) return;
  }
  fail(path, "not an HDF5 file (no HDF5 signature)");
}

/**
 * Runs `fn` on a dataset's checked description, turning h5wasm's own exceptions into format
 * errors that name the dataset.
 * @template T
 * @param {string} path
 * @param {string} name
 * @param {() => T} fn
 * @returns {T}
 */
function hdf5Errors(path, name, fn) {
  try {
    return fn();
  } catch (err) {
    if (err instanceof PersistFormatError) throw err;
    return fail(
      path,
      `HDF5 error reading dataset ${name}: ${/** @type {Error} */ (err)?.message ?? err}`,
      name,
    );
  }
}

/**
 * Reads datasets from an HDF5 file (h5py's or ours).
 * @param {string} path
 * @param {string[]} [names]  dataset names at the root; all datasets when omitted
 * @param {ArrayReadOptions} [options]
 * @returns {Promise<Record<string, NDArray>>}
 */
export async function readHdf5(path, names, options) {
  return withHdf5File(path, options, (h5, file, size, guard) => {
    const budget = makeBudget(size, options, path);
    const tally = { raw: 0 };
    // Without names: every root dataset; links are listed too, so that reading refuses them.
    const all =
      names ??
      hdf5Errors(path, "(listing)", () =>
        rootNames(file).filter(
          (/** @type {string} */ k) =>
            h5.Module.get_external_link(file.file_id, `/${k}`)?.filename !== undefined ||
            h5.Module.get_symbolic_link(file.file_id, `/${k}`) != null ||
            file.get(k) instanceof h5.Dataset,
        ),
      );
    /** @type {Record<string, NDArray>} */
    const out = Object.create(null);
    for (const name of all) {
      out[name] = hdf5Errors(path, name, () => {
        const d = hdf5Dataset(h5, file, name, path);
        chargeHdf5(d, budget, tally, size, path);
        return readHdf5Rows(h5, file, d, path, guard, options?.blockBytes);
      });
    }
    return out;
  });
}

/**
 * Describes datasets of an HDF5 file without reading their data (for lazy arrays), charging
 * each to the file's budget.
 * @param {string} path
 * @param {string[]} names
 * @param {ArrayReadOptions} [options]
 * @returns {Promise<{ name: string, info: DtypeInfo, shape: number[], fortran: boolean }[]>}
 */
export async function describeHdf5(path, names, options) {
  return withHdf5File(path, options, (h5, file, size) => {
    const budget = makeBudget(size, options, path);
    const tally = { raw: 0 };
    return names.map((name) =>
      hdf5Errors(path, name, () => {
        const d = hdf5Dataset(h5, file, name, path);
        chargeHdf5(d, budget, tally, size, path);
        return { name, info: d.info, shape: d.shape, fortran: d.fortran };
      }),
    );
  });
}

/**
 * Reads rows [lo, hi) of one dataset (hyperslab), checking it again.
 * @param {string} path
 * @param {string} name
 * @param {number} lo
 * @param {number} hi
 * @param {ArrayReadOptions} [options]
 */
export async function readHdf5DatasetRows(path, name, lo, hi, options) {
  return withHdf5File(path, options, (h5, file, _size, guard) =>
    hdf5Errors(path, name, () => {
      const d = hdf5Dataset(h5, file, name, path);
      return readHdf5Rows(h5, file, d, path, guard, options?.blockBytes, lo, hi);
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// Loader used by saved archives

const ARRAY_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/**
 * Reads the .npy files of a directory.
 * @param {string} dir
 * @param {string[]} [names]  without ".npy"; every .npy file when omitted
 * @param {ArrayReadOptions} [options]
 * @returns {Promise<Record<string, NDArray>>}
 */
export async function readNpyDirectory(dir, names, options) {
  const { fsp, path } = builtins(dir);
  const all =
    names ??
    (await fsp.readdir(dir))
      .filter((f) => f.endsWith(".npy") && !f.startsWith("."))
      .map((f) => f.slice(0, -4));
  return readNpyFiles(
    all.map((name) => [name, path.join(dir, `${name}.npy`)]),
    options,
  );
}

/**
 * Reads one .npy file per array: `files` lists [array name, path or URL].
 * @param {[string, string][]} files
 * @param {ArrayReadOptions} [options]
 * @returns {Promise<Record<string, NDArray>>}
 */
async function readNpyFiles(files, options) {
  /** @type {Record<string, NDArray>} */
  const out = Object.create(null);
  for (const [name, path] of files) {
    try {
      out[name] = await readNpyFile(path, options);
    } catch (err) {
      if (isMissing(err)) fail(path, `data file of array ${JSON.stringify(name)} is missing`, name);
      if (err instanceof PersistFormatError) err.array = name;
      throw err;
    }
  }
  return out;
}

/** @param {URL} root  a folder URL (ending in "/") @param {URL} url */
function isInsideUrl(root, url) {
  return url.origin === root.origin && url.pathname.startsWith(root.pathname);
}

/**
 * The URLs of an archive module's folder and of `location` in it, for a module imported over
 * http(s). Each segment of `location` is percent-encoded, so that "?", "#", "%" or "\" in a name
 * are characters of the name, as in a file path, never URL syntax; "." and ".." keep their
 * meaning and the result must stay inside the folder.
 * @param {URL} moduleUrl
 * @param {string} location
 */
function webArrayLocation(moduleUrl, location) {
  if (moduleUrl.protocol !== "http:" && moduleUrl.protocol !== "https:") {
    fail(
      moduleUrl.href,
      `an archive module loaded from a ${moduleUrl.protocol} URL cannot locate its data files; import it from a file, or serve its folder over http(s)`,
    );
  }
  const root = new URL(".", moduleUrl);
  const encoded = String(location)
    .split("/")
    .map((segment) => (segment === "." || segment === ".." ? segment : encodeURIComponent(segment)))
    .join("/");
  const url = new URL(encoded, root);
  if (!isInsideUrl(root, url)) {
    fail(url.href, `array location ${JSON.stringify(location)} is outside the archive's folder`);
  }
  return { root: root.href, path: url.href };
}

/**
 * Where a saved archive's arrays are, checked: `location` resolved against the module's folder
 * must stay inside it, and the names must be plain file names. For a module imported from a
 * file, `root` and `path` are file paths; for one imported over http(s) (`web`), URLs.
 * @param {string} moduleUrl
 * @param {string} location
 * @param {string[]} names
 * @returns {{ root: string, path: string, web: boolean }}
 */
export function arrayLocation(moduleUrl, location, names) {
  const url = new URL(moduleUrl);
  /** @type {{ root: string, path: string }} */
  let where;
  if (url.protocol === "file:") {
    const { path, url: nodeUrl } = builtins(moduleUrl);
    const root = path.dirname(nodeUrl.fileURLToPath(url));
    where = { root, path: path.resolve(root, String(location)) };
    if (!isInsideDir(root, where.path)) {
      fail(
        where.path,
        `array location ${JSON.stringify(location)} is outside the archive's folder`,
      );
    }
  } else {
    where = webArrayLocation(url, location);
  }
  if (!Array.isArray(names)) fail(where.path, "array names must be a list");
  for (const name of names) {
    if (typeof name !== "string" || !ARRAY_NAME.test(name)) {
      fail(where.path, `bad array name ${JSON.stringify(name)}`);
    }
  }
  return { ...where, web: url.protocol !== "file:" };
}

/**
 * Fetches a data file of an archive served over http(s), whole (range requests would rule out
 * servers that ignore them), and hands its bytes to the same checked readers as a file on disk.
 * Only a successful response from inside the archive's folder `root` (after redirects) counts.
 * @param {string} url
 * @param {string} root  the folder URL
 * @returns {Promise<{ handle: DataHandle, size: number }>}
 */
export async function fetchDataFile(url, root) {
  /** @type {Response} */
  let response;
  try {
    response = await fetch(url);
  } catch (err) {
    return fail(url, `cannot fetch the data file (${/** @type {Error} */ (err).message})`);
  }
  const problem = !response.ok
    ? response.status === 404 || response.status === 410
      ? `data file is missing (HTTP ${response.status})`
      : `cannot fetch the data file (HTTP ${response.status} ${response.statusText})`
    : response.url && !isInsideUrl(new URL(root), new URL(response.url))
      ? `was redirected to ${response.url}, outside the archive folder ${root}`
      : undefined;
  if (problem) {
    await response.body?.cancel().catch(() => {});
    fail(url, problem);
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  return { handle: bytesHandle(bytes), size: bytes.length };
}

/**
 * Loads the external arrays of a saved archive. Data files must really lie inside the module's
 * folder (after symlinks), be regular files, and stay within the memory bound of
 * `options.maxExpansion`. A module imported over http(s) fetches them (relative to its URL),
 * with the same checks on their contents.
 * @param {string} moduleUrl  `import.meta.url` of the archive module
 * @param {string} location  relative to the module's directory: a directory of `<name>.npy`
 *   files, or an `.npz` / `.h5` file
 * @param {"npy" | "npz" | "hdf5"} format
 * @param {string[]} names
 * @param {ArrayReadOptions} [options]  what `load()` passes (native imports use the defaults)
 * @returns {Promise<Record<string, NDArray>>}
 */
export async function loadArrays(moduleUrl, location, format, names, options) {
  const { root, path, web } = arrayLocation(moduleUrl, location, names);
  if (web) {
    /** @type {ArrayReadOptions} */
    const opts = { ...options, open: (url) => fetchDataFile(url, root) };
    if (format === "npy") {
      const dir = `${path.replace(/\/+$/, "")}/`;
      return readNpyFiles(
        names.map((name) => [name, new URL(`${name}.npy`, dir).href]),
        opts,
      );
    }
    if (format === "npz") return readNpz(path, names, opts);
    if (format === "hdf5") return readHdf5(path, names, opts);
    return fail(path, `unknown array format ${JSON.stringify(format)} (npy, npz or hdf5)`);
  }
  const opts = { root, ...options };
  try {
    if (format === "npy") return await readNpyDirectory(path, names, opts);
    if (format === "npz") return await readNpz(path, names, opts);
    if (format === "hdf5") return await readHdf5(path, names, opts);
  } catch (err) {
    if (isMissing(err)) {
      const module = builtins(path).url.fileURLToPath(moduleUrl);
      fail(path, `data file is missing (needed by ${module})`);
    }
    throw err;
  }
  return fail(path, `unknown array format ${JSON.stringify(format)} (npy, npz or hdf5)`);
}

/**
 * How archives rebuild a Node Buffer: `_NodeBuffer.from(new Uint8Array([...]))` gives a Buffer
 * where the platform has one (Node, Deno, Bun) and the Uint8Array itself elsewhere (browsers).
 */
// biome-ignore lint/complexity/noStaticOnlyClass: archives name it as a class-like factory (`_NodeBuffer.from(...)`), mirroring Buffer.from
export class NodeBuffer {
  /** @param {Uint8Array} bytes */
  static from(bytes) {
    const B = globalThis.Buffer;
    return typeof B === "function" && typeof B.from === "function"
      ? B.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
      : bytes;
  }
}
