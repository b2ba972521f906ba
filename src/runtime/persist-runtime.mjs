// persist-archive runtime, format version 1.
//
// This file is copied beside every saved archive that holds an NDArray or external arrays, as
// `_persist_runtime.v1.mjs`, so that `import` of the archive needs nothing but Node itself.
// The library re-exports NDArray from this same file, and NDArray recognises instances made by
// any copy of it (Symbol.hasInstance on a registered brand), so an array imported natively from an
// archive is `instanceof NDArray` for the library too.
//
// Plain JavaScript on purpose (it is shipped as-is into archives); checked by tsc via JSDoc.
// It must only import Node built-ins.

const BRAND = Symbol.for("persist-archive.ndarray");

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
    if (!isTypedArray(data)) throw new TypeError("NDArray: data must be a TypedArray");
    if (!Array.isArray(shape)) throw new TypeError("NDArray: shape must be an array of integers");
    let size = 1;
    for (const n of shape) {
      if (!Number.isSafeInteger(n) || n < 0) {
        throw new RangeError(`NDArray: shape ${JSON.stringify(shape)} has a bad dimension ${n}`);
      }
      size *= n;
    }
    const order = options.order ?? "C";
    if (order !== "C" && order !== "F") throw new RangeError(`NDArray: order must be "C" or "F"`);
    const ctorName = data.constructor.name;
    const descr =
      options.dtype ??
      `${ctorName === "Uint8Array" || ctorName === "Int8Array" || ctorName === "Uint8ClampedArray" ? "|" : "<"}${DEFAULT_KIND[ctorName]}`;
    const parsed = parseDescr(descr);
    if (!parsed) throw new RangeError(`NDArray: unsupported dtype ${JSON.stringify(descr)}`);
    const expectedCtor = parsed.info.ctor;
    if (
      expectedCtor !== ctorName &&
      !(expectedCtor === "Uint8Array" && ctorName === "Uint8ClampedArray")
    ) {
      throw new TypeError(`NDArray: dtype ${descr} needs a ${expectedCtor}, got a ${ctorName}`);
    }
    if (data.length !== size * parsed.info.lanes) {
      throw new RangeError(
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
