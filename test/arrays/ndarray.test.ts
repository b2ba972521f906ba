import assert from "node:assert/strict";
import { test } from "node:test";
import { ArchiveError, NDArray } from "../../src/index.js";
import { DTYPES, reorder } from "../../src/runtime/persist-runtime.mjs";
import { descrOf, KINDS, sample } from "./samples.js";

test("NDArray holds every dtype in its TypedArray class", () => {
  for (const kind of KINDS) {
    const a = sample(kind, [2, 3]);
    const info = DTYPES[kind]!;
    assert.equal(a.dtype, descrOf(kind));
    assert.equal(a.data.constructor.name, info.ctor);
    assert.equal(a.size, 6);
    assert.equal(a.data.length, 6 * info.lanes, kind);
    assert.deepEqual(a.shape, [2, 3]);
    assert.equal(a.ndim, 2);
    assert.equal(a.order, "C");
  }
});

test("NDArray: dtype defaults from the TypedArray class and is normalised", () => {
  const cases: [ArrayBufferView & { length: number }, string][] = [
    [new Int8Array(1), "|i1"],
    [new Uint8Array(1), "|u1"],
    [new Uint8ClampedArray(1), "|u1"],
    [new Int16Array(1), "<i2"],
    [new Uint16Array(1), "<u2"],
    [new Int32Array(1), "<i4"],
    [new Uint32Array(1), "<u4"],
    [new Float32Array(1), "<f4"],
    [new Float64Array(1), "<f8"],
    [new BigInt64Array(1), "<i8"],
    [new BigUint64Array(1), "<u8"],
  ];
  for (const [data, dtype] of cases) {
    assert.equal(new NDArray(data as Float64Array, [1]).dtype, dtype);
  }
  assert.equal(new NDArray(new Float64Array(1), [1], { dtype: "f8" }).dtype, "<f8");
  assert.equal(new NDArray(new Float64Array(1), [1], { dtype: "=f8" }).dtype, "<f8");
  assert.equal(new NDArray(new Uint8Array(1), [1], { dtype: "b1" }).dtype, "|b1");
  assert.equal(new NDArray(new Uint16Array(1), [1], { dtype: "<f2" }).dtype, "<f2");
  assert.equal(new NDArray(new Float32Array(2), [1], { dtype: "<c8" }).size, 1);
});

test("NDArray: scalar shape, zero-length dimensions, Fortran order", () => {
  const s = new NDArray(new Float64Array([4]), []);
  assert.equal(s.size, 1);
  assert.equal(s.ndim, 0);
  for (const shape of [[0], [0, 3], [3, 0], [2, 0, 5]]) {
    const z = new NDArray(new Int32Array(0), shape);
    assert.equal(z.size, 0);
    assert.deepEqual(z.shape, shape);
  }
  const f = new NDArray(new Float64Array(6), [2, 3], { order: "F" });
  assert.equal(f.order, "F");
  assert.ok(Object.isFrozen(f.shape));
});

test("NDArray rejects bad shapes", () => {
  const d = new Float64Array(6);
  for (const shape of [[-1, -6], [2.5, 2], [Number.NaN], [2, 4], [7], [2 ** 60, 0, 1]]) {
    assert.throws(() => new NDArray(d, shape), ArchiveError, JSON.stringify(shape));
  }
  assert.throws(() => new NDArray(d, "6" as unknown as number[]), ArchiveError);
  assert.throws(() => new NDArray([1, 2] as unknown as Float64Array, [2]), ArchiveError);
  assert.throws(() => new NDArray(d, [6], { order: "K" as "C" }), ArchiveError);
  // complex needs two lanes per element
  assert.throws(() => new NDArray(new Float64Array(3), [3], { dtype: "<c16" }), ArchiveError);
});

test("NDArray rejects dtypes it cannot hold or that do not match the data", () => {
  const d = new Float64Array(2);
  for (const dtype of ["<f16", "<S5", "O", "|f8", "<U3", "", "x", "<i16", "<m8", "<M8"]) {
    assert.throws(() => new NDArray(d, [2], { dtype }), ArchiveError, dtype);
  }
  assert.throws(() => new NDArray(d, [2], { dtype: "<f4" }), ArchiveError);
  assert.throws(() => new NDArray(new Int8Array(2), [2], { dtype: "|b1" }), ArchiveError);
  assert.throws(() => new NDArray(new Float32Array(2), [2], { dtype: "<f2" }), ArchiveError);
  assert.throws(() => new NDArray(new Float32Array(2), [1], { dtype: "<c16" }), ArchiveError);
});

test("reorder converts between C and Fortran order and back", () => {
  const c = new Int32Array([0, 1, 2, 3, 4, 5]); // [[0,1,2],[3,4,5]]
  assert.deepEqual([...reorder(c, [2, 3], 1, true)], [0, 3, 1, 4, 2, 5]);
  assert.deepEqual([...reorder(reorder(c, [2, 3], 1, true), [2, 3], 1, false)], [...c]);
  const c3 = Int32Array.from({ length: 24 }, (_, i) => i);
  const f3 = reorder(c3, [2, 3, 4], 1, true);
  // element [i][j][k] sits at i + 2j + 6k in F order and 12i + 4j + k in C order
  for (let i = 0; i < 2; i++)
    for (let j = 0; j < 3; j++)
      for (let k = 0; k < 4; k++) assert.equal(f3[i + 2 * j + 6 * k], 12 * i + 4 * j + k);
  // complex: lanes move together
  const cx = new Float64Array([0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5]); // 2x2 complex
  assert.deepEqual([...reorder(cx, [2, 2], 2, true)], [0, 0.5, 2, 2.5, 1, 1.5, 3, 3.5]);
});

test("runtime errors are ArchiveErrors for the library, even from an archive's own runtime copy", async () => {
  const { writeFile, copyFile } = await import("node:fs/promises");
  const { join } = await import("node:path");
  const { tempDir } = await import("../helpers/tmp.js");
  const { pathToFileURL } = await import("node:url");
  const { FormatError, UnsupportedValueError } = await import("../../src/index.js");
  const dir = await tempDir("persist-rt-");
  const copy = join(dir, "_persist_runtime.v1.mjs");
  await copyFile(new URL("../../src/runtime/persist-runtime.mjs", import.meta.url), copy);
  await writeFile(join(dir, "bad.npy"), "not an npy file at all");
  const rt = (await import(
    pathToFileURL(copy).href
  )) as typeof import("../../src/runtime/persist-runtime.mjs");
  const formatError = await rt
    .loadArrays(pathToFileURL(join(dir, "m.mjs")).href, ".", "npy", ["bad"])
    .catch((e: unknown) => e);
  assert.ok(formatError instanceof FormatError, String(formatError));
  assert.ok(formatError instanceof ArchiveError);
  assert.ok(!(formatError instanceof UnsupportedValueError));
  const argError = (() => {
    try {
      new rt.NDArray(new Float64Array(2), [3]);
    } catch (e) {
      return e;
    }
  })();
  assert.ok(argError instanceof ArchiveError);
  assert.ok(!(argError instanceof FormatError));
  assert.ok(!(new Error("plain") instanceof ArchiveError));
});
