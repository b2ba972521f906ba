/**
 * HDF5 files through h5wasm. Datasets are written from raw bytes with h5wasm's low-level calls
 * (its high-level writer interleaves compound data element by element in JS and cannot write
 * float16), in row blocks so no call needs more than a slice of the 2 GiB wasm heap.
 *
 * Mapping (what h5py sees):
 * - numbers: the same dtype; complex c8/c16: compound {r, i} of float32/float64, which h5py reads
 *   as complex64/complex128.
 * - bool (b1): int8 with attribute `persist_dtype = "|b1"` (h5wasm cannot write h5py's bool
 *   enum); h5py sees int8 0/1. h5py's own bool enum datasets read back as b1.
 * - Fortran-ordered arrays are stored transposed into C order, so h5py sees the same array
 *   (same shape, same values), with attribute `persist_order = "F"` so we give back order "F".
 * - float16: h5wasm cannot create it → FormatError (use npy or npz).
 * Reading refuses datasets compressed with filters the wasm build lacks (LZF, blosc, ...).
 */
import { open } from "node:fs/promises";
import { resolve } from "node:path";
import { FormatError } from "../errors.js";
import {
  type ArrayReadOptions,
  checkedArray,
  HDF5_BLOCK_BYTES,
  HDF5_DTYPE_ATTR,
  HDF5_ORDER_ATTR,
  importH5wasm,
  type NDArray,
  readHdf5,
  reorder,
} from "../runtime/persist-runtime.mjs";
import { asFormatErrors, toFormatError } from "./errors.js";

/** h5wasm dtype strings for our kinds (struct-module letters, as h5wasm spells them). */
const H5_DTYPES: Record<string, string | [string, string][]> = {
  b1: "<b",
  i1: "<b",
  u1: "<B",
  i2: "<h",
  u2: "<H",
  i4: "<i",
  u4: "<I",
  i8: "<q",
  u8: "<Q",
  f4: "<f",
  f8: "<d",
  c8: [
    ["r", "<f"],
    ["i", "<f"],
  ],
  c16: [
    ["r", "<d"],
    ["i", "<d"],
  ],
};

/** Chunk size for datasets written in several blocks (HDF5 needs chunking to resize). */
const CHUNK_BYTES = 1 << 20;

// biome-ignore lint/suspicious/noExplicitAny: h5wasm's low-level Module has no useful types here
type H5 = any;

function createDataset(
  h5: H5,
  file: H5,
  name: string,
  array: NDArray,
  where: string,
  blockBytes: number,
): void {
  // Checked against the data's real type and length: the blocks below are views of exactly the
  // bytes the array covers, never beyond them.
  const checked = checkedArray(array, where);
  const { info } = checked;
  const kind = info.kind;
  const dtype = H5_DTYPES[kind];
  if (!dtype) {
    throw new FormatError(
      `${where}: array ${name} has dtype ${array.dtype}, which HDF5 files written through h5wasm cannot hold; save it as npy or npz instead`,
      { file: where },
    );
  }
  const M = h5.Module;
  const shape = checked.shape;
  let bytes = { buffer: checked.buffer, byteOffset: checked.byteOffset };
  if (checked.order === "F" && shape.length > 1) {
    const c = reorder(array.data, shape, info.lanes, false);
    bytes = { buffer: c.buffer, byteOffset: 0 };
  }
  const rows = shape.length > 0 ? (shape[0] as number) : 1;
  const rowBytes = rows === 0 ? 0 : checked.byteLength / rows;
  // Views per block: one Uint8Array over the whole data would fail beyond 4 GiB.
  const rowsView = (from: number, to: number) =>
    new Uint8Array(
      bytes.buffer as ArrayBuffer,
      bytes.byteOffset + from * rowBytes,
      (to - from) * rowBytes,
    );
  const perBlock = rowBytes === 0 ? rows : Math.max(1, Math.floor(blockBytes / rowBytes));
  const oneCall = perBlock >= rows || shape.length === 0;
  const firstRows = oneCall ? rows : perBlock;
  const metadata = {
    total_size: 0,
    ...h5.dtype_to_metadata(dtype),
    shape: (oneCall ? shape : [firstRows, ...shape.slice(1)]).map(BigInt),
    maxshape: shape.map(BigInt),
    chunks: oneCall
      ? null
      : [
          Math.max(1, Math.min(perBlock, Math.floor(CHUNK_BYTES / rowBytes))),
          ...shape.slice(1),
        ].map(BigInt),
    compression: 0,
    compression_opts: [],
    track_order: false,
  };
  withHeap(M, rowsView(0, firstRows), where, (ptr) => {
    if (M.create_dataset(file.file_id, `/${name}`, BigInt(ptr), metadata) < 0) {
      throw new FormatError(`${where}: h5wasm could not create dataset ${name}`, { file: where });
    }
  });
  if (!oneCall) {
    M.resize_dataset(file.file_id, `/${name}`, shape.map(BigInt));
    for (let r = firstRows; r < rows; r += perBlock) {
      const n = Math.min(perBlock, rows - r);
      withHeap(M, rowsView(r, r + n), where, (ptr) => {
        const status = M.set_dataset_data(
          file.file_id,
          `/${name}`,
          [BigInt(n), ...shape.slice(1).map(BigInt)],
          [BigInt(r), ...shape.slice(1).map(() => 0n)],
          shape.map(() => 1n),
          BigInt(ptr),
        );
        if (status < 0)
          throw new FormatError(`${where}: HDF5 write of ${name} failed`, { file: where });
      });
    }
  }
  const ds = file.get(name);
  if (kind === "b1") ds.create_attribute(HDF5_DTYPE_ATTR, "|b1");
  if (checked.order === "F" && shape.length > 1) ds.create_attribute(HDF5_ORDER_ATTR, "F");
}

/** Copies `bytes` into the wasm heap for the duration of `fn`. */
function withHeap(M: H5, bytes: Uint8Array, where: string, fn: (ptr: number) => void): void {
  const ptr = M._malloc(Math.max(1, bytes.length));
  if (!ptr) {
    throw new FormatError(`${where}: cannot allocate ${bytes.length} bytes in the wasm heap`, {
      file: where,
    });
  }
  try {
    M.HEAPU8.set(bytes, ptr);
    fn(ptr);
  } finally {
    M._free(ptr);
  }
}

/** Options of the HDF5 reader and writer. */
export interface Hdf5Options extends Pick<ArrayReadOptions, "maxExpansion" | "root"> {
  /** Bytes moved through the wasm heap per call (default 64 MiB; tests use small blocks). */
  blockBytes?: number;
}

/** Writes `arrays` as root datasets of a new HDF5 file at `path`, and fsyncs it. */
export async function writeHdf5(
  path: string,
  arrays: readonly { name: string; array: NDArray }[],
  options: Hdf5Options = {},
): Promise<void> {
  const h5 = await importH5wasm(path).catch((e) => {
    throw toFormatError(e);
  });
  const abs = resolve(path);
  await (await open(abs, "wx")).close(); // refuse to overwrite, like the other writers
  const file = new h5.File(abs, "w");
  try {
    for (const { name, array } of arrays)
      createDataset(h5, file, name, array, path, options.blockBytes ?? HDF5_BLOCK_BYTES);
  } finally {
    file.close();
  }
  const handle = await open(abs, "r+");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Reads datasets (all root datasets, or `names`) from an HDF5 file. */
export function readHdf5File(
  path: string,
  names?: string[],
  options: Hdf5Options = {},
): Promise<Record<string, NDArray>> {
  return asFormatErrors(() => readHdf5(path, names, options));
}
