/** The viewer's reductions: min/max per column keeps every peak; heatmap block means. */
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { LazyArray, openNpyLazy, openRowWalk } from "../../src/arrays/lazy.js";
import { writeNpyFile } from "../../src/arrays/npy.js";
import { Archive, load } from "../../src/index.js";
import { NDArray } from "../../src/runtime/persist-runtime.mjs";
import { arrayPlot } from "../../src/view/plot.js";
import {
  Envelope,
  heatmap,
  numberReader,
  reduceLine,
  reduceTyped,
  scanNumbers,
} from "../../src/view/reduce.js";
import { tempDir } from "../helpers/tmp.js";

const decode = (b64: string, Type: typeof Float64Array | typeof Float32Array) => {
  const bytes = Buffer.from(b64, "base64");
  return Array.from(
    new Type(bytes.buffer, bytes.byteOffset, bytes.byteLength / Type.BYTES_PER_ELEMENT),
  );
};

test("min/max per pixel column: every spike survives, raw values when narrow", () => {
  const data = new Float64Array(1_000_000);
  data[123_457] = 9;
  data[999_999] = -4;
  const line = reduceTyped(data, 0, data.length, 1000);
  assert.equal(line.step, 1000);
  const max = decode(line.max!, Float64Array);
  const min = decode(line.min, Float64Array);
  assert.equal(max.length, 1000);
  assert.equal(max[123], 9);
  assert.equal(Math.max(...max), 9);
  assert.equal(min[999], -4);
  // the generic reader gives the same
  const generic = reduceLine((i) => data[i]!, 0, data.length, 1000);
  assert.deepEqual(decode(generic.max!, Float64Array), max);
  // zoomed in: raw values
  const raw = reduceTyped(data, 123_400, 123_500, 1000);
  assert.equal(raw.step, 1);
  assert.equal(raw.max, undefined);
  assert.equal(decode(raw.min, Float64Array)[57], 9);
});

test("the envelope is each column's min and max, as a plain loop over the column finds them", () => {
  // an independent reference: columns [start + ⌊c·step⌋, start + ⌊(c+1)·step⌋), NaN skipped
  const data = Float64Array.from({ length: 100_003 }, (_, i) =>
    i % 97 === 0 ? Number.NaN : Math.sin(i / 300) * (i % 1000 === 0 ? 4 : 1),
  );
  for (const [start, stop, columns] of [
    [0, data.length, 640],
    [17, 99_001, 333],
    [5, 5 + 3 * 1000, 1000],
  ] as const) {
    const step = (stop - start) / columns;
    const min: number[] = [];
    const max: number[] = [];
    for (let c = 0; c < columns; c++) {
      const values = Array.from(
        data.subarray(start + Math.floor(c * step), start + Math.floor((c + 1) * step)),
      ).filter((v) => !Number.isNaN(v));
      min.push(values.length ? Math.min(...values) : Number.NaN);
      max.push(values.length ? Math.max(...values) : Number.NaN);
    }
    const line = reduceTyped(data, start, stop, columns);
    assert.deepEqual(decode(line.min, Float64Array), min, `${start}..${stop} / ${columns}`);
    assert.deepEqual(decode(line.max!, Float64Array), max);
    assert.deepEqual(
      reduceLine((i) => data[i]!, start, stop, columns),
      line,
    );
  }
});

test("complex parts, bigints and half floats are read as numbers", () => {
  const z = new NDArray(Float64Array.from([3, 4, 0, -2]), [2], { dtype: "<c16" });
  assert.deepEqual([0, 1].map(numberReader(z, "abs")), [5, 2]);
  assert.deepEqual([0, 1].map(numberReader(z, "phase")), [Math.atan2(4, 3), -Math.PI / 2]);
  assert.deepEqual([0, 1].map(numberReader(z, "im")), [4, -2]);
  const big = new NDArray(BigInt64Array.from([5n, -7n]), [2]);
  assert.deepEqual([0, 1].map(numberReader(big)), [5, -7]);
  const half = new NDArray(Uint16Array.from([0x3c00, 0xc000]), [2], { dtype: "<f2" });
  assert.deepEqual([0, 1].map(numberReader(half)), [1, -2]);
});

test("heatmap: block means of C and Fortran arrays, NaN-aware range", () => {
  // 4 × 6, value = row * 10 + col
  const c = new NDArray(
    Float64Array.from({ length: 24 }, (_, k) => Math.floor(k / 6) * 10 + (k % 6)),
    [4, 6],
  );
  const full = heatmap(c, 100, 100);
  assert.deepEqual([full.rows, full.cols, full.lo, full.hi], [4, 6, 0, 35]);
  const blocks = heatmap(c, 2, 3);
  assert.deepEqual(decode(blocks.cells, Float32Array), [5.5, 7.5, 9.5, 25.5, 27.5, 29.5]);
  const f = new NDArray(
    Float64Array.from({ length: 24 }, (_, k) => (k % 4) * 10 + Math.floor(k / 4)),
    [4, 6],
    { order: "F" },
  );
  assert.deepEqual(
    decode(heatmap(f, 2, 3).cells, Float32Array),
    decode(blocks.cells, Float32Array),
  );
  const nan = new NDArray(Float64Array.from([Number.NaN, 1, 2, Number.NaN]), [2, 2]);
  const h = heatmap(nan, 2, 2);
  assert.deepEqual([h.lo, h.hi], [1, 2]);
  assert.ok(Number.isNaN(decode(h.cells, Float32Array)[0]));
});

test("a lazily read 1-D array plots the same envelope as in memory, chunk by chunk", async () => {
  const dir = await tempDir();
  // more elements than one read chunk, and a column count that does not divide them
  const n = (1 << 22) * 2 + 12_345;
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = Math.sin(i / 1e4);
  data[(1 << 22) - 1] = 7; // the last element of the first chunk
  data[1 << 22] = -7; // the first of the second
  data[n - 1] = 9;
  const file = join(dir, "big.npy");
  await writeNpyFile(file, data);
  const lazy = await openNpyLazy(file);
  const query = {
    start: undefined,
    stop: undefined,
    width: 997,
    height: 300,
    part: "abs" as const,
  };
  const fromFile = await arrayPlot({ big: lazy }, ["k:big"], query);
  const inMemory = await arrayPlot({ big: data }, ["k:big"], query);
  assert.equal(fromFile.kind, "line");
  assert.deepEqual(fromFile, inMemory);
  const line = (fromFile as { line: { max?: string; min: string } }).line;
  const max = decode(line.max!, Float64Array);
  assert.equal(Math.max(...max), 9);
  assert.ok(max.includes(7));
  assert.ok(decode(line.min, Float64Array).includes(-7));
  // a zoom across the chunk boundary, and one narrow enough for raw values
  for (const [start, stop] of [
    [(1 << 22) - 5000, (1 << 22) + 777_777],
    [(1 << 22) - 3, (1 << 22) + 3],
  ]) {
    const zoom = { ...query, start, stop };
    assert.deepEqual(
      await arrayPlot({ big: lazy }, ["k:big"], zoom),
      await arrayPlot({ big: data }, ["k:big"], zoom),
    );
  }
  // the envelope does not depend on how the elements were chunked
  const whole = new Envelope(100, n, 640);
  whole.add(100, n - 100, scanNumbers(data), 100);
  const pieces = new Envelope(100, n, 640);
  for (let a = 100; a < n; a += 1_000_003) {
    const piece = data.subarray(a, a + 1_000_003);
    pieces.add(a, piece.length, scanNumbers(piece));
  }
  assert.deepEqual(pieces.result(), whole.result());
  assert.deepEqual(whole.result(), reduceTyped(data, 100, n, 640));
});

/** A .npy file of `data` stored big-endian (as numpy writes `>f8`), header padded to 64 bytes. */
async function writeBigEndianNpy(file: string, descr: string, data: Float64Array | Int16Array) {
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${data.length},), }`;
  const pad = 64 - ((10 + dict.length + 1) % 64);
  const header = `${dict}${" ".repeat(pad % 64)}\n`;
  const prefix = Buffer.alloc(10);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(prefix);
  prefix.writeUInt16LE(header.length, 8);
  const body = Buffer.from(data.buffer.slice(0));
  if (data.BYTES_PER_ELEMENT === 8) body.swap64();
  else body.swap16();
  await writeFile(file, Buffer.concat([prefix, Buffer.from(header, "latin1"), body]));
}

test("lazily plotted big-endian and integer arrays, chunk after chunk in reused buffers", async () => {
  const dir = await tempDir();
  const n = (1 << 22) * 2 + 777;
  const query = {
    start: undefined,
    stop: undefined,
    width: 640,
    height: 300,
    part: "abs" as const,
  };
  const f8 = new Float64Array(n).map((_, i) => Math.cos(i / 3e4) * (i % 1000 === 0 ? 5 : 1));
  f8[n - 1] = Number.NaN;
  const i2 = new Int16Array(n).map((_, i) => (i * 7919) % 30_000);
  for (const [name, descr, data] of [
    ["f8", ">f8", f8],
    ["i2", ">i2", i2],
  ] as const) {
    const file = join(dir, `${name}.npy`);
    await writeBigEndianNpy(file, descr, data);
    const lazy = await openNpyLazy(file);
    const fromFile = await arrayPlot({ a: lazy }, ["k:a"], query);
    const inMemory = await arrayPlot({ a: data }, ["k:a"], query);
    assert.deepEqual(fromFile, { ...inMemory, dtype: fromFile.dtype }, name);
    const zoom = { ...query, start: (1 << 22) - 10, stop: n };
    const zoomed = await arrayPlot({ a: lazy }, ["k:a"], zoom);
    assert.deepEqual(zoomed, {
      ...(await arrayPlot({ a: data }, ["k:a"], zoom)),
      dtype: zoomed.dtype,
    });
  }
});

test("an archive's typed array loaded lazily is walked from one open file into the given buffer", async () => {
  // the viewer's fast path (one open, reads into reused SIMD memory) for what archives hold most:
  // `export const x = _arrays.array_0.data`, whose LazyArray is the typed-array form of the npy's
  const dir = await tempDir();
  const archive = new Archive({ arrayThreshold: 10 });
  const data = Float32Array.from({ length: 5000 }, (_, i) => Math.sin(i));
  archive.insert({ x: data, nd: new NDArray(new Float64Array(100), [100]) });
  const { entry } = await archive.save(dir, { name: "run" });
  const lazy = (await load(entry, { lazy: true })) as { x: LazyArray; nd: LazyArray };
  for (const [name, array] of Object.entries(lazy)) {
    assert.ok(array instanceof LazyArray, name);
    const walk = await openRowWalk(array);
    try {
      assert.equal(walk.fillsBuffer, true, `${name} (${array.loadsAs})`);
      const into = new ArrayBuffer(array.size * 8);
      const rows = await walk.read(10, 20, into);
      assert.equal((rows.data as Float32Array).buffer, into);
    } finally {
      await walk.close();
    }
  }
  const rows = await openRowWalk(lazy.x).then(async (walk) => {
    try {
      return await walk.read(10, 20, new ArrayBuffer(4096));
    } finally {
      await walk.close();
    }
  });
  assert.deepEqual(rows.data, data.subarray(10, 20));
});
