/** `/api/array`: the data of one plot of an array found in an item, reduced (see reduce.ts). */
import { openRowWalk } from "../arrays/lazy.js";
import type { RowSource } from "../cli/json-stream.js";
import { ArchiveError } from "../errors.js";
import { NDArray, parseDescr } from "../runtime/persist-runtime.mjs";
import { asPlottable, valueAt } from "./model.js";
import {
  type ComplexPart,
  Envelope,
  type HeatmapData,
  heatmap,
  isPlainNumbers,
  type LineData,
  numberReader,
  reduceLine,
  reduceTyped,
  type Scan,
  scanNumbers,
  scanRead,
} from "./reduce.js";
import { SimdMinMax } from "./simd-minmax.js";

export interface PlotQuery {
  /** Element range of a line plot (default: all). */
  start: number | undefined;
  stop: number | undefined;
  /** Pixel columns (line) / cells across (heatmap). */
  width: number;
  /** Cells down (heatmap). */
  height: number;
  part: ComplexPart;
}

export type PlotData =
  | { kind: "line"; dtype: string; shape: number[]; size: number; complex: boolean; line: LineData }
  | {
      kind: "heatmap";
      dtype: string;
      shape: number[];
      size: number;
      complex: boolean;
      heat: HeatmapData;
    };

/** Elements read from a lazily read array at once. */
const CHUNK = 1 << 20;
/** Elements reduced between two turns of the event loop (a few milliseconds). */
const SLICE = 1 << 18;
/** Lazily read arrays up to this many elements are read whole for a heatmap. */
const HEATMAP_READ_LIMIT = 1 << 26;

export async function arrayPlot(
  root: unknown,
  steps: readonly string[],
  query: PlotQuery,
): Promise<PlotData> {
  const array = asPlottable(valueAt(root, steps));
  if (!array) throw new ArchiveError("the value there is not an array");
  const shape = [...array.shape];
  const size = array.size;
  const complex = (parseDescr(array.dtype)?.info.lanes ?? 1) === 2;
  const base = { dtype: array.dtype, shape, size, complex };
  const dims = shape.filter((d) => d > 1).length;
  if (dims <= 1) {
    const start = Math.min(size, query.start ?? 0);
    const stop = Math.max(start, Math.min(size, query.stop ?? size));
    const line =
      array instanceof NDArray
        ? lineOf(array, start, stop, query.width, query.part)
        : await lazyLine(array, start, stop, query.width, query.part);
    return { kind: "line", ...base, line };
  }
  const whole = array instanceof NDArray ? array : await readForHeatmap(array, query.height);
  return { kind: "heatmap", ...base, heat: heatmap(whole, query.height, query.width, query.part) };
}

function lineOf(
  array: NDArray,
  start: number,
  stop: number,
  columns: number,
  part: ComplexPart,
): LineData {
  if (isPlainNumbers(array))
    return reduceTyped(array.data as ArrayLike<number>, start, stop, columns);
  return reduceLine(numberReader(array, part), start, stop, columns);
}

/**
 * Min/max per column of a lazily read 1-D array, CHUNK elements at a time: the next chunk is read
 * (positional reads, on libuv's threads) while this one is reduced, and at most two chunks are in
 * memory, however long the array.
 */
async function lazyLine(
  array: RowSource,
  start: number,
  stop: number,
  columns: number,
  part: ComplexPart,
): Promise<LineData> {
  const count = stop - start;
  const rows = array.shape[0] ?? 1;
  if (array.shape.length === 0 || rows !== array.size) {
    // a [1, n] array: its only row is the whole array
    const whole = await array.rows(0, rows);
    return lineOf(whole, start, stop, columns, part);
  }
  if (count <= 2 * columns) {
    const read = await array.rows(start, stop);
    const line = reduceLine(numberReader(read, part), 0, count, columns);
    return { ...line, start, stop };
  }
  const envelope = new Envelope(start, stop, columns);
  const walk = await openRowWalk(array);
  // Two buffers, taken in turn: chunk k+1 is read into one while chunk k (in the other) is
  // reduced. A fresh buffer per chunk cost more than the reduction (allocation, page faults, GC).
  // For float32/float64 the buffers are WebAssembly memory and a SIMD kernel reduces them.
  const chunkBytes = CHUNK * (parseDescr(array.dtype)?.info.itemsize ?? 8);
  const kernels = walk.fillsBuffer ? [0, 1].map(() => SimdMinMax.for(array.dtype, chunkBytes)) : [];
  const buffers = walk.fillsBuffer
    ? kernels.map((kernel) => kernel?.buffer ?? new ArrayBuffer(chunkBytes))
    : [];
  let turn = 0;
  const readChunk = (a: number) => {
    const pending = walk.read(a, Math.min(stop, a + CHUNK), buffers[turn++ % 2]);
    pending.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
    return pending;
  };
  let next = readChunk(start);
  try {
    for (let a = start; a < stop; a += CHUNK) {
      const chunk = await next;
      if (a + CHUNK < stop) next = readChunk(a + CHUNK);
      // the kernel whose memory this chunk was read into (the kernel scans from its start)
      const data = chunk.data as Float64Array;
      const kernel = kernels.find((k) => k?.buffer === data.buffer && data.byteOffset === 0);
      const scan: Scan = kernel
        ? kernel.scan
        : isPlainNumbers(chunk)
          ? scanNumbers(chunk.data as ArrayLike<number>)
          : scanRead(numberReader(chunk, part));
      // Reduced in slices with a turn of the event loop between them, so that the viewer answers
      // other requests meanwhile.
      for (let k = 0; k < chunk.size; k += SLICE) {
        if (k > 0) await new Promise((resolve) => setImmediate(resolve));
        envelope.add(a + k, Math.min(chunk.size, k + SLICE) - k, scan, k);
      }
    }
  } finally {
    await next.catch(() => undefined); // a read still in flight ends before its file is closed
    await walk.close();
  }
  return envelope.result();
}

/** A lazily read 2-D array for a heatmap: whole when moderate, else every k-th row. */
async function readForHeatmap(array: RowSource, height: number): Promise<NDArray> {
  if (array.size <= HEATMAP_READ_LIMIT) return (await array.rows(0, array.shape[0]!)) as NDArray;
  const rows = array.shape[0]!;
  const take = Math.min(rows, height);
  const parts: NDArray[] = [];
  for (let r = 0; r < take; r++) {
    const row = Math.floor((r * rows) / take);
    parts.push(await array.rows(row, row + 1));
  }
  const first = parts[0]!;
  const per = first.data.length;
  const Ctor = first.data.constructor as new (n: number) => NDArray["data"];
  const data = new Ctor(per * take);
  const target = data as unknown as { set(a: ArrayLike<unknown>, o: number): void };
  for (const [i, p] of parts.entries()) target.set(p.data as ArrayLike<unknown>, i * per);
  return new NDArray(data, [take, ...array.shape.slice(1)], { dtype: array.dtype });
}
