import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { ArchiveError, FormatError, NDArray, npy } from "../../src/index.js";
import { tempDir } from "../helpers/tmp.js";
import { handMade, hexOf, sample } from "./samples.js";

test("npy.read rows reads just those rows of a C-order array", async () => {
  const dir = await tempDir();
  const path = join(dir, "m.npy");
  const data = Float64Array.from({ length: 50 }, (_, i) => i);
  await npy.write(path, new NDArray(data, [10, 5]));
  const part = await npy.read(path, { rows: [2, 5] });
  assert.deepEqual(part.shape, [3, 5]);
  assert.deepEqual([...part.data], [...data.subarray(10, 25)]);
  assert.equal(part.data.byteOffset, 0); // its own buffer, exactly the rows' bytes
  assert.equal(part.data.buffer.byteLength, 3 * 5 * 8);
  // stop beyond the end is clamped; empty ranges give zero rows
  assert.deepEqual((await npy.read(path, { rows: [8, 100] })).shape, [2, 5]);
  assert.deepEqual((await npy.read(path, { rows: [20, 30] })).shape, [0, 5]);
  assert.deepEqual((await npy.read(path, { rows: [4, 4] })).shape, [0, 5]);
  const all = await npy.read(path, { rows: [0, 10] });
  assert.equal(hexOf(all), hexOf(data));
});

test("npy.read rows works for every dtype, 1-D and 3-D", async () => {
  const dir = await tempDir();
  for (const kind of ["b1", "i1", "u2", "f2", "i4", "f4", "i8", "u8", "f8", "c8", "c16"]) {
    const a = sample(kind, [6, 2, 3]);
    const path = join(dir, `${kind}.npy`);
    await npy.write(path, a);
    const part = await npy.read(path, { rows: [1, 4] });
    assert.equal(part.dtype, a.dtype);
    assert.deepEqual(part.shape, [3, 2, 3]);
    const per = a.data.length / 6;
    assert.equal(hexOf(part), hexOf(a.data.subarray(per, 4 * per)), kind);
  }
  const v = join(dir, "v.npy");
  await npy.write(v, new Int32Array([5, 6, 7, 8]));
  assert.deepEqual([...(await npy.read(v, { rows: [1, 3] })).data], [6, 7]);
});

test("npy.read rows reads Fortran-ordered arrays too (a strided gather), refuses scalars and bad bounds", async () => {
  const dir = await tempDir();
  const f = join(dir, "f.npy");
  const whole = sample("f8", [4, 3], "F");
  await npy.write(f, whole);
  const part = await npy.read(f, { rows: [1, 3] });
  assert.equal(part.order, "F");
  assert.deepEqual(part.shape, [2, 3]);
  // column j of the result is rows 1..2 of column j
  assert.deepEqual(
    [...(part.data as Float64Array)],
    [0, 1, 2].flatMap((j) => [1, 2].map((i) => (whole.data as Float64Array)[j * 4 + i])),
  );
  const s = join(dir, "s.npy");
  await npy.write(s, sample("f8", []));
  await assert.rejects(npy.read(s, { rows: [0, 1] }), /at least one axis/);
  const c = join(dir, "c.npy");
  await npy.write(c, sample("f8", [4]));
  for (const rows of [
    [-1, 2],
    [3, 2],
    [0.5, 2],
    [0, Number.NaN],
  ] as [number, number][]) {
    await assert.rejects(npy.read(c, { rows }), ArchiveError, JSON.stringify(rows));
  }
});

test("npy.read rows validates the header against the file before reading", async () => {
  const dir = await tempDir();
  const path = join(dir, "t.npy");
  const bytes = npy.encode(sample("f8", [100, 10]));
  await writeFile(path, bytes.subarray(0, bytes.length - 8));
  await assert.rejects(npy.read(path, { rows: [0, 1] }), (e: unknown) => {
    assert.ok(e instanceof FormatError);
    assert.match(e.message, /t\.npy: npy data length mismatch.*truncated/);
    return true;
  });
  const long = bytes.slice(0, 64);
  new DataView(long.buffer).setUint16(8, 60000, true);
  await writeFile(path, long);
  await assert.rejects(npy.read(path, { rows: [0, 1] }), /goes beyond the end/);
});

test("npy.read of a missing file is a NotFoundError", async () => {
  const dir = await tempDir();
  const { NotFoundError } = await import("../../src/index.js");
  for (const options of [{}, { rows: [0, 1] as [number, number] }]) {
    await assert.rejects(npy.read(join(dir, "none.npy"), options), NotFoundError);
  }
});

test("npy.read rows converts big-endian rows to native order", async () => {
  const dir = await tempDir();
  const path = join(dir, "be.npy");
  const be = new Uint8Array(6 * 4);
  for (let i = 0; i < 6; i++) new DataView(be.buffer).setInt32(i * 4, i * 1000 - 2500, false);
  await writeFile(
    path,
    handMade(1, "{'descr': '>i4', 'fortran_order': False, 'shape': (3, 2), }", be),
  );
  const part = await npy.read(path, { rows: [1, 3] });
  assert.equal(part.dtype, "<i4");
  assert.deepEqual([...part.data], [-500, 500, 1500, 2500]);
});
