/** `/api/array`: the data of one plot of an array found in an item, reduced (see reduce.ts). */
import type { RowSource } from "../cli/json-stream.js";
import { ArchiveError } from "../errors.js";
import { NDArray, parseDescr } from "../runtime/persist-runtime.mjs";
import { asPlottable, valueAt } from "./model.js";
import {
  type ComplexPart,
  type HeatmapData,
  heatmap,
  isPlainNumbers,
  type LineData,
  numberReader,
  reduceLine,
  reduceTyped,
} from "./reduce.js";

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
const CHUNK = 1 << 22;
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

/** Min/max per column of a lazily read 1-D array, reading CHUNK elements at a time. */
async function lazyLine(
  array: RowSource,
  start: number,
  stop: number,
  columns: number,
  part: ComplexPart,
): Promise<LineData> {
  const count = stop - start;
  if (count <= 2 * columns) {
    const read = await array.rows(start, stop);
    const line = reduceLine(numberReader(read, part), 0, count, columns);
    return { ...line, start, stop };
  }
  const step = count / columns;
  const min = new Float64Array(columns).fill(Number.POSITIVE_INFINITY);
  const max = new Float64Array(columns).fill(Number.NEGATIVE_INFINITY);
  for (let a = start; a < stop; a += CHUNK) {
    const b = Math.min(stop, a + CHUNK);
    const read = await array.rows(a, b);
    const at = numberReader(read, part);
    for (let i = a; i < b; i++) {
      const c = Math.min(columns - 1, Math.floor((i - start) / step));
      const v = at(i - a);
      if (v < min[c]!) min[c] = v;
      if (v > max[c]!) max[c] = v;
    }
  }
  for (let c = 0; c < columns; c++) {
    if (min[c] === Number.POSITIVE_INFINITY) min[c] = Number.NaN;
    if (max[c] === Number.NEGATIVE_INFINITY) max[c] = Number.NaN;
  }
  const b64 = (a: Float64Array) => Buffer.from(a.buffer).toString("base64");
  return { start, stop, step, min: b64(min), max: b64(max) };
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
