/**
 * Lazy arrays: an external array known from its header alone (dtype, shape, order, size), whose
 * data is read only when asked for — whole (`read()`) or a range of rows along axis 0 (`rows()`)
 * with positional reads (npy, stored npz entries), a stream stopped after the last row asked for
 * (deflated npz entries), or an HDF5 hyperslab.
 *
 * Every read opens the file again with the same checks as a full load (regular file, inside the
 * archive's folder, the memory bound) and re-reads the header: a file that changed since the
 * LazyArray was made gives a FormatError, never a mis-shaped array.
 */
import { join } from "node:path";
import { ArchiveError, FormatError } from "../errors.js";
import {
  type ArrayReadOptions,
  arrayLocation,
  type DtypeInfo,
  describeHdf5,
  makeBudget,
  type NDArray,
  type NpyHeader,
  nativeDescr,
  openDataFile,
  openNpzMember,
  readHdf5DatasetRows,
  readNpyDataAt,
  readNpyHeaderAt,
  readNpzMember,
  readZipDirectory,
} from "../runtime/persist-runtime.mjs";
import { asFormatErrors } from "./errors.js";

/** What a LazyArray knows before reading data. */
export interface Layout {
  info: DtypeInfo;
  shape: readonly number[];
  fortran: boolean;
}

/** Reads rows [lo, hi) of the array (the whole array for lo = 0, hi = rows). */
export type RowReader = (lo: number, hi: number, expect: LazyArray) => Promise<NDArray>;

/**
 * What `load()` without `lazy` would have put where this LazyArray stands: an NDArray (the
 * archive used `_arrays.x`), a typed array of that class (`_arrays.x.data`, or a view on a
 * buffer), an ArrayBuffer, or a DataView. `(await lazy.read()).data` is the typed array's data.
 */
export type LoadsAs =
  | "NDArray"
  | "ArrayBuffer"
  | "DataView"
  | "Int8Array"
  | "Uint8Array"
  | "Uint8ClampedArray"
  | "Int16Array"
  | "Uint16Array"
  | "Int32Array"
  | "Uint32Array"
  | "Float32Array"
  | "Float64Array"
  | "BigInt64Array"
  | "BigUint64Array";

/** @internal */
export const SOURCE = Symbol("persist-archive.lazy-source");
/** @internal The ArrayBuffer-form LazyArray a typed-array form views (what `.buffer` gives). */
export const BYTES = Symbol("persist-archive.lazy-bytes");

/** An external array known from its header alone; its data is read on demand. */
export class LazyArray {
  /** numpy descr, little-endian or "|" like NDArray's ("<f8", "|b1", ...). */
  readonly dtype: string;
  /** Length of each axis, from the file's header. */
  readonly shape: readonly number[];
  /** Memory order of the data in the file: "C" (row-major) or "F" (Fortran, column-major). */
  readonly order: "C" | "F";
  /** Number of elements (a complex element counts once). */
  readonly size: number;
  /** The data file it reads from (.npy, .npz or .h5). */
  readonly file: string;
  /**
   * What a load without `lazy` gives in its place: "NDArray", a typed array class name
   * ("Float64Array", ...), "ArrayBuffer" or "DataView". `read()` always returns an NDArray; for a
   * typed array its `.data` is what the eager load returns.
   */
  readonly loadsAs: LoadsAs;
  /** @internal */
  readonly [SOURCE]: RowReader;
  /** @internal */
  readonly [BYTES]: LazyArray | undefined;

  /** @internal Made by npy.open(), load(path, { lazy: true }) and DataSet.get(name, { lazy: true }). */
  constructor(
    file: string,
    layout: Layout,
    source: RowReader,
    loadsAs: LoadsAs = "NDArray",
    bytes?: LazyArray,
  ) {
    this.file = file;
    this.dtype = nativeDescr(layout.info);
    this.shape = Object.freeze([...layout.shape]);
    this.order = layout.fortran ? "F" : "C";
    this.size = layout.shape.reduce((a, b) => a * b, 1);
    this.loadsAs = loadsAs;
    this[SOURCE] = source;
    this[BYTES] = bytes;
    // A safe load may hand it to `Object.assign` or a patch statement: it must not change.
    Object.freeze(this);
  }

  /** Number of dimensions. */
  get ndim(): number {
    return this.shape.length;
  }

  /** Reads the whole array. */
  read(): Promise<NDArray> {
    const rows = this.shape.length > 0 ? (this.shape[0] as number) : 1;
    return asFormatErrors(() => this[SOURCE](0, rows, this));
  }

  /**
   * Reads rows [start, stop) along axis 0 (clamped to the array, like a Python slice with
   * non-negative bounds), as an NDArray of shape [stop - start, ...shape.slice(1)] in the same
   * memory order. Only those rows' bytes are read (and held) in memory.
   */
  rows(start: number, stop: number): Promise<NDArray> {
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(stop) || start < 0 || stop < start) {
      return Promise.reject(
        new ArchiveError(
          `${this.file}: rows must be (start, stop) with 0 <= start <= stop, got (${start}, ${stop})`,
          { file: this.file },
        ),
      );
    }
    if (this.shape.length === 0) {
      return Promise.reject(
        new ArchiveError(`${this.file}: rows need an array with at least one axis (this is 0-d)`, {
          file: this.file,
        }),
      );
    }
    const n = this.shape[0] as number;
    const hi = Math.min(stop, n);
    const lo = Math.min(start, hi);
    return asFormatErrors(() => this[SOURCE](lo, hi, this));
  }

  /** A short description (also what console.log shows). */
  toString(): string {
    const as = this.loadsAs === "NDArray" ? "" : `, as ${this.loadsAs}`;
    return `LazyArray(${this.dtype}, [${this.shape.join(", ")}], ${this.order}${as}, ${this.file})`;
  }
}

/** Sequential reads of one array from one open file (see openRowWalk). */
export interface RowWalk {
  /**
   * Whether read() fills the buffer it is given (bare .npy files): its result's data then views
   * `into` and is valid until the buffer is reused. Otherwise each read returns fresh memory.
   */
  readonly fillsBuffer: boolean;
  /** Rows [lo, hi), clamped to the array like rows(). */
  read(lo: number, hi: number, into?: ArrayBuffer): Promise<NDArray>;
  close(): Promise<void>;
}

/**
 * Walk openers by row reader, for bare .npy files: a LazyArray made from another with the same
 * reader (the typed-array form of `_arrays.x.data`, lazy-forms.ts) walks the same way.
 */
const WALKS = new WeakMap<RowReader, (expect: LazyArray) => Promise<RowWalk>>();

/**
 * A walk over `array` for code that reads a big array chunk by chunk (the viewer's plots): one
 * open file and one header check for all chunks, and no new buffer per chunk, instead of
 * `rows()`'s open, check and allocate per call. Other arrays (other LazyArrays, S3 items' row
 * sources) read through rows(). Not part of the public surface.
 */
export async function openRowWalk(
  array:
    | LazyArray
    | { readonly shape: readonly number[]; rows(lo: number, hi: number): Promise<NDArray> },
): Promise<RowWalk> {
  const open = array instanceof LazyArray ? WALKS.get(array[SOURCE]) : undefined;
  if (open === undefined) {
    return { fillsBuffer: false, read: (lo, hi) => array.rows(lo, hi), close: async () => {} };
  }
  const walk = await asFormatErrors(() => open(array as LazyArray));
  const n = array.shape.length > 0 ? (array.shape[0] as number) : 1;
  return {
    fillsBuffer: true,
    read: (lo, hi, into) => {
      const stop = Math.max(0, Math.min(hi, n));
      return asFormatErrors(() => walk.read(Math.max(0, Math.min(lo, stop)), stop, into));
    },
    close: () => walk.close(),
  };
}

/** True when `layout` is what `expect` was made from. */
function same(layout: Layout, expect: LazyArray): boolean {
  return (
    nativeDescr(layout.info) === expect.dtype &&
    (layout.fortran ? "F" : "C") === expect.order &&
    layout.shape.length === expect.shape.length &&
    layout.shape.every((n, i) => n === expect.shape[i])
  );
}

function changed(where: string, expect: LazyArray): never {
  throw new FormatError(
    `${where}: the data file changed since its LazyArray was made (expected ${expect.dtype} of shape [${expect.shape.join(", ")}]); open it again`,
    { file: expect.file },
  );
}

function layoutOf(header: NpyHeader): Layout {
  return { info: header.info, shape: header.shape, fortran: header.fortran };
}

/** A LazyArray over a bare .npy file. */
async function openNpy(path: string, options: ArrayReadOptions): Promise<LazyArray> {
  const { handle, size } = await openDataFile(path, options);
  let header: NpyHeader;
  try {
    header = await readNpyHeaderAt(handle, 0, size, path);
  } finally {
    await handle.close();
  }
  // One way to read: open the file and check its header is still the one the LazyArray was made
  // from, then read rows; rows() does it for one read, a walk (openRowWalk) for many.
  const openWalk = async (expect: LazyArray): Promise<RowWalk> => {
    const file = await openDataFile(path, options);
    try {
      const now = await readNpyHeaderAt(file.handle, 0, file.size, path);
      if (!same(layoutOf(now), expect)) changed(path, expect);
      return {
        fillsBuffer: true,
        read: (lo, hi, into) => readNpyDataAt(file.handle, 0, now, path, lo, hi, into),
        close: () => file.handle.close(),
      };
    } catch (error) {
      await file.handle.close();
      throw error;
    }
  };
  const source: RowReader = async (lo, hi, expect) => {
    const walk = await openWalk(expect);
    try {
      return await walk.read(lo, hi);
    } finally {
      await walk.close();
    }
  };
  WALKS.set(source, openWalk);
  return new LazyArray(path, layoutOf(header), source);
}

/** LazyArrays over entries of an .npz file, charged to the file's memory budget. */
async function openNpz(
  path: string,
  names: readonly string[],
  options: ArrayReadOptions,
): Promise<Record<string, LazyArray>> {
  const { handle, size } = await openDataFile(path, options);
  const out: Record<string, LazyArray> = Object.create(null);
  try {
    const budget = makeBudget(size, options, path);
    const entries = await readZipDirectory(handle, size, path);
    for (const name of names) {
      const at = `${path} (array ${name})`;
      const entry = entries.find((e) => e.name === `${name}.npy`);
      if (!entry) {
        throw new FormatError(
          `${path}: has no array ${JSON.stringify(name)} (no entry ${name}.npy)`,
          {
            file: path,
          },
        );
      }
      const member = await openNpzMember(handle, size, entry, at);
      budget.charge(member.header.dataBytes, name);
      out[name] = new LazyArray(path, layoutOf(member.header), async (lo, hi, expect) => {
        const file = await openDataFile(path, options);
        try {
          const list = await readZipDirectory(file.handle, file.size, path);
          const now = list.find((e) => e.name === `${name}.npy`);
          if (!now) changed(at, expect);
          const m = await openNpzMember(file.handle, file.size, now, at);
          if (!same(layoutOf(m.header), expect)) changed(at, expect);
          return await readNpzMember(file.handle, m, at, lo, hi);
        } finally {
          await file.handle.close();
        }
      });
    }
  } finally {
    await handle.close();
  }
  return out;
}

/** Bytes per hyperslab read of a LazyArray over HDF5 (the runtime's default is 64 MiB). */
const LAZY_HDF5_BLOCK_BYTES = 1 << 20;

/** LazyArrays over root datasets of an HDF5 file (hyperslab reads). */
async function openHdf5(
  path: string,
  names: readonly string[],
  options: ArrayReadOptions,
): Promise<Record<string, LazyArray>> {
  const out: Record<string, LazyArray> = Object.create(null);
  for (const d of await describeHdf5(path, [...names], options)) {
    out[d.name] = new LazyArray(path, d, async (lo, hi, expect) => {
      // Small hyperslabs: h5wasm reads each into its own heap before we copy it out, and that
      // heap never shrinks; with 64 MiB blocks 1,000 rows of 8 KiB peaked at ~3x their bytes.
      const blocks = { ...options, blockBytes: options.blockBytes ?? LAZY_HDF5_BLOCK_BYTES };
      const array = await readHdf5DatasetRows(path, d.name, lo, hi, blocks);
      const rows = expect.shape.length > 0 ? hi - lo : undefined;
      const wanted = rows === undefined ? [] : [rows, ...expect.shape.slice(1)];
      if (
        array.dtype !== expect.dtype ||
        array.order !== expect.order ||
        array.shape.length !== wanted.length ||
        array.shape.some((n: number, i: number) => n !== wanted[i])
      ) {
        changed(`${path} (dataset ${d.name})`, expect);
      }
      return array;
    });
  }
  return out;
}

/** A LazyArray over a bare .npy file (`npy.open`). */
export function openNpyLazy(path: string, options: ArrayReadOptions = {}): Promise<LazyArray> {
  return asFormatErrors(() => openNpy(path, options));
}

/**
 * The external arrays of a saved archive as LazyArrays, by name: what `load(path, { lazy: true })`
 * and `DataSet.get(name, { lazy: true })` use in place of the runtime's loadArrays (same
 * arguments, same checks: data files inside the module's folder, regular files, memory bound).
 */
export function openArraysLazily(
  moduleUrl: string,
  location: string,
  format: string,
  names: readonly string[],
  options: ArrayReadOptions = {},
): Promise<Record<string, LazyArray>> {
  return asFormatErrors(async () => {
    const { root, path } = arrayLocation(moduleUrl, location, [...names]);
    const opts: ArrayReadOptions = { root, ...options };
    if (format === "npy") {
      const out: Record<string, LazyArray> = Object.create(null);
      for (const name of names) out[name] = await openNpy(join(path, `${name}.npy`), opts);
      return out;
    }
    if (format === "npz") return openNpz(path, names, opts);
    if (format === "hdf5") return openHdf5(path, names, opts);
    throw new FormatError(
      `${path}: unknown array format ${JSON.stringify(format)} (npy, npz or hdf5)`,
      { file: path },
    );
  });
}
