/**
 * What the viewer sends for a plot instead of a whole array: a 1-D range reduced to the minimum and
 * maximum of each pixel column (the envelope a line plot of every point would draw, so peaks are
 * never lost), raw values once the range is narrow enough, and 2-D arrays averaged into blocks for
 * a heatmap. Values travel as base64 little-endian Float32/Float64 bytes, not JSON numbers.
 */

import { halfToNumber } from "../cli/json-stream.js";
import { type NDArray, parseDescr } from "../runtime/persist-runtime.mjs";

/** How complex elements are plotted. */
export type ComplexPart = "abs" | "phase" | "re" | "im";

/** Element i of `array` as a number (C or F order is the caller's business: flat index). */
export function numberReader(array: NDArray, part: ComplexPart = "abs"): (i: number) => number {
  const parsed = parseDescr(array.dtype);
  const lanes = parsed?.info.lanes ?? 1;
  const kind = parsed?.info.kind ?? "";
  const data = array.data as unknown as ArrayLike<number | bigint>;
  if (lanes === 2) {
    const d = array.data as Float64Array | Float32Array;
    switch (part) {
      case "re":
        return (i) => d[2 * i]!;
      case "im":
        return (i) => d[2 * i + 1]!;
      case "phase":
        return (i) => Math.atan2(d[2 * i + 1]!, d[2 * i]!);
      default:
        return (i) => Math.hypot(d[2 * i]!, d[2 * i + 1]!);
    }
  }
  if (kind === "f2") return (i) => halfToNumber((data as ArrayLike<number>)[i]!);
  if (typeof data[0] === "bigint") return (i) => Number(data[i]);
  const numbers = data as ArrayLike<number>;
  return (i) => numbers[i]!;
}

/** A reduced 1-D range: raw values, or min/max per column. */
export interface LineData {
  start: number;
  stop: number;
  /** Elements per column (1 for raw values). */
  step: number;
  /** Raw values (step 1), or per-column minima. base64 float64 LE. */
  min: string;
  /** Per-column maxima (absent for raw values). base64 float64 LE. */
  max?: string;
}

/**
 * Elements [start, stop) of a 1-D sequence read by `at`: raw when there are at most 2·columns of
 * them, else `columns` (min, max) pairs over equal runs of elements. NaNs are skipped (a column
 * of NaNs is NaN).
 */
export function reduceLine(
  at: (i: number) => number,
  start: number,
  stop: number,
  columns: number,
): LineData {
  const count = Math.max(0, stop - start);
  if (count <= 2 * columns) {
    const raw = new Float64Array(count);
    for (let i = 0; i < count; i++) raw[i] = at(start + i);
    return { start, stop, step: 1, min: base64(raw) };
  }
  const envelope = new Envelope(start, stop, columns);
  envelope.add(start, count, scanRead(at), start);
  return envelope.result();
}

/**
 * The same for a plain typed array of numbers, in one tight loop without a call per element
 * (10^8 elements in about a tenth of a second).
 */
export function reduceTyped(
  data: ArrayLike<number>,
  start: number,
  stop: number,
  columns: number,
): LineData {
  const count = Math.max(0, stop - start);
  if (count <= 2 * columns) return reduceLine((i) => data[i]!, start, stop, columns);
  const envelope = new Envelope(start, stop, columns);
  envelope.add(start, count, scanNumbers(data), start);
  return envelope.result();
}

/** Updates minmax = [min, max] with elements [lo, hi) of a run; NaNs are skipped. */
export type Scan = (lo: number, hi: number, minmax: Float64Array) => void;

/** A Scan of plain numbers (a typed array): one tight loop per call, no call per element. */
export function scanNumbers(data: ArrayLike<number>): Scan {
  return (lo, hi, minmax) => {
    let min = minmax[0]!;
    let max = minmax[1]!;
    for (let i = lo; i < hi; i++) {
      const v = data[i]!;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    minmax[0] = min;
    minmax[1] = max;
  };
}

/** A Scan of numbers read one by one (complex parts, half floats, bigints). */
export function scanRead(read: (i: number) => number): Scan {
  return (lo, hi, minmax) => {
    let min = minmax[0]!;
    let max = minmax[1]!;
    for (let i = lo; i < hi; i++) {
      const v = read(i);
      if (v < min) min = v;
      if (v > max) max = v;
    }
    minmax[0] = min;
    minmax[1] = max;
  };
}

/**
 * Min/max per column of elements [start, stop) that arrive in consecutive chunks (an array read
 * piece by piece, never whole; reduceLine and reduceTyped use it for a whole range too). Column c
 * covers [start + ⌊c·step⌋, start + ⌊(c+1)·step⌋), so the result does not depend on how the
 * elements were chunked.
 */
export class Envelope {
  readonly step: number;
  private readonly min: Float64Array;
  private readonly max: Float64Array;
  /** Scratch [min, max] handed to scans. */
  private readonly minmax = new Float64Array(2);

  constructor(
    readonly start: number,
    readonly stop: number,
    readonly columns: number,
  ) {
    this.step = (stop - start) / columns;
    this.min = new Float64Array(columns).fill(Number.POSITIVE_INFINITY);
    this.max = new Float64Array(columns).fill(Number.NEGATIVE_INFINITY);
  }

  /** First element of column c. */
  private from(c: number): number {
    return c >= this.columns ? this.stop : this.start + Math.floor(c * this.step);
  }

  /** The column element `i` falls in. */
  private columnOf(i: number): number {
    let c = Math.min(this.columns - 1, Math.floor((i - this.start) / this.step));
    while (c > 0 && this.from(c) > i) c--;
    while (c + 1 < this.columns && this.from(c + 1) <= i) c++;
    return c;
  }

  /**
   * Elements [at, at + count) of the sequence, which `scan` reads as its elements
   * [first, first + count): one scan call per column they touch.
   */
  add(at: number, count: number, scan: Scan, first = 0): void {
    const end = at + count;
    const minmax = this.minmax;
    const shift = first - at;
    for (let c = this.columnOf(at); c < this.columns && this.from(c) < end; c++) {
      minmax[0] = this.min[c]!;
      minmax[1] = this.max[c]!;
      scan(Math.max(at, this.from(c)) + shift, Math.min(end, this.from(c + 1)) + shift, minmax);
      this.min[c] = minmax[0];
      this.max[c] = minmax[1];
    }
  }

  result(): LineData {
    const min = Float64Array.from(this.min, (v) =>
      v === Number.POSITIVE_INFINITY ? Number.NaN : v,
    );
    const max = Float64Array.from(this.max, (v) =>
      v === Number.NEGATIVE_INFINITY ? Number.NaN : v,
    );
    return {
      start: this.start,
      stop: this.stop,
      step: this.step,
      min: base64(min),
      max: base64(max),
    };
  }
}

/** True when numberReader would read `array.data` as it is (fast path of reduceTyped). */
export function isPlainNumbers(array: NDArray): boolean {
  const parsed = parseDescr(array.dtype);
  const kind = parsed?.info.kind ?? "";
  return (parsed?.info.lanes ?? 1) === 1 && kind !== "f2" && kind !== "u8" && kind !== "i8";
}

/** A 2-D array averaged into at most rows×cols blocks, for a heatmap. */
export interface HeatmapData {
  /** Shape of the array (rows, cols) plotted. */
  shape: [number, number];
  /** Cells sent: rows × cols. */
  rows: number;
  cols: number;
  /** Finite range of the cell values (null when none is finite). */
  lo: number | null;
  hi: number | null;
  /** rows·cols cells, row by row, base64 float32 LE (NaN where a block had no finite value). */
  cells: string;
}

/**
 * Block means of the last two axes (leading axes: first slice) of `array`, at most
 * maxRows × maxCols cells. 1-D arrays are one row.
 */
export function heatmap(
  array: NDArray,
  maxRows: number,
  maxCols: number,
  part: ComplexPart = "abs",
): HeatmapData {
  const shape = array.shape;
  const rows = shape.length >= 2 ? shape[shape.length - 2]! : 1;
  const cols = shape.length >= 1 ? shape[shape.length - 1]! : 1;
  const at = numberReader(array, part);
  const fortran = array.order === "F" && shape.length >= 2;
  // flat index of (r, c) in the first slice
  const index = fortran
    ? (r: number, c: number) => r + c * rows
    : (r: number, c: number) => r * cols + c;
  const outRows = Math.max(1, Math.min(rows, maxRows));
  const outCols = Math.max(1, Math.min(cols, maxCols));
  const cells = new Float32Array(outRows * outCols);
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let R = 0; R < outRows; R++) {
    const r0 = Math.floor((R * rows) / outRows);
    const r1 = Math.max(r0 + 1, Math.floor(((R + 1) * rows) / outRows));
    for (let C = 0; C < outCols; C++) {
      const c0 = Math.floor((C * cols) / outCols);
      const c1 = Math.max(c0 + 1, Math.floor(((C + 1) * cols) / outCols));
      let sum = 0;
      let n = 0;
      for (let r = r0; r < r1 && r < rows; r++) {
        for (let c = c0; c < c1 && c < cols; c++) {
          const v = at(index(r, c));
          if (Number.isFinite(v)) {
            sum += v;
            n++;
          }
        }
      }
      const mean = n > 0 ? sum / n : Number.NaN;
      cells[R * outCols + C] = mean;
      if (n > 0) {
        if (mean < lo) lo = mean;
        if (mean > hi) hi = mean;
      }
    }
  }
  return {
    shape: [rows, cols],
    rows: outRows,
    cols: outCols,
    lo: Number.isFinite(lo) ? lo : null,
    hi: Number.isFinite(hi) ? hi : null,
    cells: base64(cells),
  };
}

function base64(array: Float64Array | Float32Array): string {
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength).toString("base64");
}
