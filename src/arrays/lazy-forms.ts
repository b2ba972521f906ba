/**
 * What a lazy load does with the ways an archive module uses its external arrays.
 *
 * The emitter writes an external array in one of three forms (src/emit/module.ts):
 *  - `_arrays.x`                              an NDArray;
 *  - `_arrays.x.data`                         its typed array (`new Uint8ClampedArray(...)` around it
 *                                             for a clamped array);
 *  - `new Uint8Array(_arrays.x.data).buffer`  an ArrayBuffer (a `|u1` file), then views on it:
 *                                             `new Float64Array(_g0, 80, 19990)`, `new DataView(...)`,
 *                                             and NDArrays over such views (`new _NDArray(view, shape)`).
 * In a lazy load each of these gives a LazyArray that reads the same bytes on demand, with
 * `loadsAs` saying what the eager load gives there. The safe interpreter and the trusted mode's
 * stand-in constructors both call these functions, so the two modes agree. Any other use (a copy
 * that converts element types, a Fortran-order reshape of a flat view, `.length` of a stand-in...)
 * needs the data: LazyLoadError, which says to load without `lazy`.
 */
import { FormatError, LazyLoadError } from "../errors.js";
import {
  DEFAULT_KIND,
  DTYPES,
  type DtypeInfo,
  NDArray,
  parseDescr,
  typedArrayBytes,
} from "../runtime/persist-runtime.mjs";
import { BYTES, type Layout, LazyArray, type LoadsAs, SOURCE } from "./lazy.js";

/** The typed-array class names, from the runtime's table (one list for the whole project). */
const TYPED_ARRAY_NAMES: ReadonlySet<string> = new Set(Object.keys(DEFAULT_KIND));

/** Bytes per element of a typed-array class (or DataView: 1), from the runtime's dtype table. */
function elementBytes(ctor: string): number {
  if (ctor === "DataView") return 1;
  const kind = (DEFAULT_KIND as Record<string, string>)[ctor] as string;
  return (DTYPES as Record<string, DtypeInfo>)[kind]!.itemsize;
}

const U1 = (parseDescr("|u1") as { info: DtypeInfo }).info;

/** True for a LazyArray (the stand-in a lazy load puts where an external array was). */
export function isLazy(value: unknown): value is LazyArray {
  return value instanceof LazyArray;
}

/** True when `args` (a call's arguments) hold a LazyArray at the top level. */
export function hasLazyArgument(args: readonly unknown[]): boolean {
  return args.some(isLazy);
}

/** The LazyLoadError for a use of `lazy` that needs its data. */
export function needsData(lazy: LazyArray, what: string, cause?: unknown): LazyLoadError {
  return new LazyLoadError(
    `${lazy.file}: ${what} needs the data of the external array (${lazy.dtype} [${lazy.shape.join(", ")}], loaded as ${lazy.loadsAs}), which a lazy load does not read; load without { lazy: true } to get this value`,
    { file: lazy.file, cause },
  );
}

function layoutOf(lazy: LazyArray, dtype = lazy.dtype, shape = lazy.shape): Layout {
  return { info: infoOf(dtype), shape, fortran: lazy.order === "F" };
}

function infoOf(dtype: string): DtypeInfo {
  return (parseDescr(dtype) as { info: DtypeInfo }).info;
}

/** The typed array class an eager load holds this array's data in. */
function typedNameOf(lazy: LazyArray): LoadsAs {
  return infoOf(lazy.dtype).ctor as LoadsAs;
}

function isTypedForm(lazy: LazyArray): boolean {
  return TYPED_ARRAY_NAMES.has(lazy.loadsAs);
}

/** One stand-in per (array, form): `_arrays.x.data` twice is one typed array in an eager load. */
const dataForms = new WeakMap<LazyArray, LazyArray>();
const bufferForms = new WeakMap<LazyArray, LazyArray>();

function retag(lazy: LazyArray, loadsAs: LoadsAs, bytes = lazy[BYTES]): LazyArray {
  return new LazyArray(lazy.file, layoutOf(lazy), lazy[SOURCE], loadsAs, bytes);
}

/**
 * `.data` of an NDArray stand-in (its typed array), `.buffer` of a typed-array stand-in (its
 * ArrayBuffer). Anything else needs the data.
 */
export function lazyMember(lazy: LazyArray, key: string): LazyArray {
  if (key === "data" && lazy.loadsAs === "NDArray") {
    let form = dataForms.get(lazy);
    if (!form) dataForms.set(lazy, (form = retag(lazy, typedNameOf(lazy))));
    return form;
  }
  if (key === "buffer" && isTypedForm(lazy)) return bufferOf(lazy);
  throw needsData(lazy, `\`.${key}\``);
}

/**
 * The ArrayBuffer form of a typed-array stand-in: its bytes in memory order as a `|u1` array.
 * Rows of it map to rows of the array only when those are contiguous (C order, or one axis).
 */
function bufferOf(lazy: LazyArray): LazyArray {
  const viewed = lazy[BYTES];
  if (viewed) return viewed;
  let form = bufferForms.get(lazy);
  if (form) return form;
  if (lazy.order === "F" && lazy.shape.length > 1) {
    throw needsData(lazy, "the ArrayBuffer of a Fortran-order array");
  }
  const itemsize = infoOf(lazy.dtype).itemsize;
  const rowBytes = itemsize * lazy.shape.slice(1).reduce((a, b) => a * b, 1);
  const total = lazy.size * itemsize;
  const base = lazy;
  form = new LazyArray(
    lazy.file,
    { info: U1, shape: [total], fortran: false },
    async (lo, hi) => {
      if (hi <= lo) return new NDArray(new Uint8Array(0), [0]);
      let part: NDArray;
      let first = 0;
      if (base.shape.length === 0) part = await base[SOURCE](0, 1, base);
      else if (rowBytes === 0) return new NDArray(new Uint8Array(hi - lo), [hi - lo]);
      else {
        first = Math.floor(lo / rowBytes);
        part = await base[SOURCE](first, Math.ceil(hi / rowBytes), base);
      }
      const b = typedArrayBytes(part.data);
      const start = b.byteOffset + (lo - first * rowBytes);
      // A copy: exact, aligned for any view, and the rows read around it can be collected.
      return new NDArray(new Uint8Array(b.buffer.slice(start, start + (hi - lo))), [hi - lo]);
    },
    "ArrayBuffer",
  );
  bufferForms.set(lazy, form);
  return form;
}

function isIndexArg(x: unknown): x is number | undefined {
  return x === undefined || (typeof x === "number" && Number.isSafeInteger(x) && x >= 0);
}

/** `new C(buffer, byteOffset?, length?)` over an ArrayBuffer stand-in. */
function view(buffer: LazyArray, ctor: string, args: readonly unknown[]): LazyArray {
  const [, offsetArg, lengthArg] = args;
  const e = elementBytes(ctor);
  const total = buffer.size;
  const bad = (why: string): never => {
    throw new FormatError(`${buffer.file}: \`new ${ctor}(...)\` over its data: ${why}`, {
      file: buffer.file,
    });
  };
  if (args.length > 3 || !isIndexArg(offsetArg) || !isIndexArg(lengthArg)) {
    bad("takes a byte offset and a length");
  }
  const offset = (offsetArg as number | undefined) ?? 0;
  if (offset % e !== 0) bad(`the byte offset ${offset} is not a multiple of ${e}`);
  if (offset > total) bad(`the byte offset ${offset} is past the buffer's ${total} bytes`);
  let length = lengthArg as number | undefined;
  if (length === undefined) {
    if ((total - offset) % e !== 0) bad(`the buffer's ${total} bytes are not whole elements`);
    length = (total - offset) / e;
  }
  if (offset + length * e > total) {
    bad(`${length} elements from byte ${offset} run past the buffer's ${total} bytes`);
  }
  const elementName = ctor === "DataView" ? "Uint8Array" : ctor;
  const dtype = ctor === "DataView" ? "|u1" : defaultDescr(elementName);
  const Ctor = (
    globalThis as unknown as Record<
      string,
      new (
        b: ArrayBuffer,
        o: number,
        n: number,
      ) => ArrayBufferView
    >
  )[elementName]!;
  return new LazyArray(
    buffer.file,
    { info: infoOf(dtype), shape: [length], fortran: false },
    async (lo, hi) => {
      const part = await buffer[SOURCE](offset + lo * e, offset + hi * e, buffer);
      const b = typedArrayBytes(part.data);
      // The byte reader returns a fresh buffer, so the view is aligned.
      const data = new Ctor(b.buffer as ArrayBuffer, b.byteOffset, hi - lo);
      return new NDArray(data as Float64Array, [hi - lo]);
    },
    ctor as LoadsAs,
    buffer,
  );
}

function defaultDescr(ctor: string): string {
  const kind = (DEFAULT_KIND as Record<string, string>)[ctor] as string;
  return `${elementBytes(ctor) === 1 ? "|" : "<"}${kind}`;
}

/**
 * `new C(...args)` of a built-in (typed array, DataView, ...) whose arguments hold a stand-in.
 * Views on an ArrayBuffer stand-in and exact copies (`new Uint8ClampedArray(bytes)`) stay lazy.
 */
export function lazyConstruct(ctor: string, args: readonly unknown[]): LazyArray {
  const lazy = args.find(isLazy) as LazyArray;
  const first = args[0];
  if (TYPED_ARRAY_NAMES.has(ctor) || ctor === "DataView") {
    if (isLazy(first) && first.loadsAs === "ArrayBuffer" && !args.slice(1).some(isLazy)) {
      return view(first, ctor, args);
    }
    if (args.length === 1 && isLazy(first) && isTypedForm(first)) {
      const from = typedNameOf(first);
      // A copy keeps the bytes only when the element type does not change.
      if (from === ctor) return retag(first, ctor as LoadsAs, undefined);
      if (ctor === "Uint8ClampedArray" && from === "Uint8Array") {
        // Same bytes; read() gives them as the clamped class the eager load makes.
        const source = first[SOURCE];
        return new LazyArray(
          first.file,
          layoutOf(first),
          async (lo, hi, expect) => {
            const part = await source(lo, hi, expect);
            const b = typedArrayBytes(part.data);
            const data = new Uint8ClampedArray(b.buffer, b.byteOffset, b.byteLength);
            return new NDArray(data, part.shape, { order: part.order, dtype: part.dtype });
          },
          "Uint8ClampedArray",
        );
      }
    }
  }
  throw needsData(lazy, `\`new ${ctor}(...)\``);
}

/**
 * `new NDArray(data, shape, { order?, dtype? })` over a typed-array stand-in: the same array, or a
 * reshape of a flat one in C order (rows of the result are then contiguous elements of it).
 */
export function lazyNDArray(args: readonly unknown[]): LazyArray {
  const [data, shapeArg, optionsArg] = args;
  const lazy = args.find(isLazy) as LazyArray;
  if (!isLazy(data) || !isTypedForm(data) || args.slice(1).some(isLazy)) {
    throw needsData(lazy, "`new NDArray(...)`");
  }
  const options = (optionsArg ?? {}) as { order?: unknown; dtype?: unknown };
  const order = options.order ?? "C";
  const dtype = options.dtype ?? defaultDescr(data.loadsAs);
  const parsed = typeof dtype === "string" ? parseDescr(dtype) : undefined;
  const shape = shapeArg as number[];
  const shapeOk =
    Array.isArray(shape) && shape.every((n) => Number.isSafeInteger(n) && (n as number) >= 0);
  if (!parsed || !shapeOk || (order !== "C" && order !== "F")) {
    throw new FormatError(`${data.file}: \`new NDArray(...)\` over its data has bad arguments`, {
      file: data.file,
    });
  }
  const info = parsed.info;
  const elementsOfData = data.size * infoOf(data.dtype).lanes;
  const size = shape.reduce((a, b) => a * b, 1);
  const wantCtor = data.loadsAs === "Uint8ClampedArray" ? "Uint8Array" : data.loadsAs;
  if (info.ctor !== wantCtor || size * info.lanes !== elementsOfData) {
    throw new FormatError(
      `${data.file}: \`new NDArray(...)\` over its data: dtype ${String(dtype)} and shape [${shape.join(", ")}] do not fit ${elementsOfData} elements of ${data.loadsAs}`,
      { file: data.file },
    );
  }
  const fortran = order === "F";
  const same =
    data.shape.length === shape.length &&
    data.shape.every((n, i) => n === shape[i]) &&
    (data.order === order || shape.length < 2);
  // Rows of a C-order result are contiguous elements of the data: whole rows of it when a row of
  // the result holds a whole number of the data's rows.
  const perRow = shape.slice(1).reduce((a, b) => a * b, 1) * info.lanes;
  const dataRow = data.shape.slice(1).reduce((a, b) => a * b, 1) * infoOf(data.dtype).lanes;
  if (
    !same &&
    ((fortran && shape.length > 1) ||
      (data.order === "F" && data.shape.length > 1) ||
      (shape.length > 0 && data.shape.length > 0 && dataRow > 0 && perRow % dataRow !== 0))
  ) {
    throw needsData(data, "this reshape in `new NDArray(...)`");
  }
  const descr = `${info.itemsize / info.lanes === 1 ? "|" : "<"}${info.kind}`;
  return new LazyArray(
    data.file,
    { info, shape, fortran },
    async (lo, hi) => {
      let part: NDArray;
      if (same) part = await data[SOURCE](lo, hi, data);
      else if (data.shape.length === 0 || shape.length === 0 || dataRow === 0) {
        part = await data[SOURCE](0, data.shape.length === 0 ? 1 : (data.shape[0] as number), data);
      } else part = await data[SOURCE]((lo * perRow) / dataRow, (hi * perRow) / dataRow, data);
      const rows = shape.length === 0 ? [] : [hi - lo, ...shape.slice(1)];
      return new NDArray(part.data, rows, { order, dtype: descr });
    },
    "NDArray",
  );
}

// A trusted (evaluated) module reaches the other forms through real property reads
// (`_arrays.x.data`, `new Uint8Array(...).buffer`): the same steps as the safe interpreter's.
for (const key of ["data", "buffer"]) {
  Object.defineProperty(LazyArray.prototype, key, {
    get(this: LazyArray) {
      return lazyMember(this, key);
    },
    configurable: true,
    enumerable: false,
  });
}
