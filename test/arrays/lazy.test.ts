/**
 * LazyArray: known from the header alone, `read()` and `rows()` for npy, npz (stored: positional
 * reads; deflated: a stream stopped after the rows) and HDF5 (hyperslabs), in both memory orders,
 * with the same checks as full reads.
 */
import assert from "node:assert/strict";
import { readFile, rename, symlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { Archive } from "../../src/archive.js";
import { readArrayFiles } from "../../src/arrays/containers.js";
import { openArraysLazily } from "../../src/arrays/lazy.js";
import { ArchiveError, FormatError, LazyArray, NDArray, npy } from "../../src/index.js";
import { tempDir } from "../helpers/tmp.js";
import { cOrderHex, hexOf, sample } from "./samples.js";
import { craftZip } from "./zip-craft.js";

/** Rows [lo, hi) of `a` computed in memory (through C order), as hex of C-order bytes. */
function rowsHex(a: NDArray, lo: number, hi: number): string {
  const c = cOrderHex(a);
  const rowHex = a.shape.length === 0 ? c.length : c.length / (a.shape[0] as number);
  return c.slice(lo * rowHex, hi * rowHex);
}

async function checkLazy(lazy: LazyArray, a: NDArray, what: string): Promise<void> {
  assert.ok(lazy instanceof LazyArray, what);
  assert.equal(lazy.dtype, a.dtype, what);
  assert.deepEqual(lazy.shape, a.shape, what);
  assert.equal(lazy.order, a.order, what);
  assert.equal(lazy.size, a.size, what);
  const whole = await lazy.read();
  assert.ok(whole instanceof NDArray);
  assert.equal(hexOf(whole), hexOf(a), `${what} read()`);
  const n = a.shape[0] ?? 1;
  for (const [lo, hi] of [
    [0, 1],
    [1, 3],
    [n - 1, n + 5],
    [2, 2],
    [0, n],
  ] as [number, number][]) {
    const part = await lazy.rows(lo, hi);
    const h = Math.min(hi, n);
    const l = Math.min(lo, h);
    assert.deepEqual(part.shape, [h - l, ...a.shape.slice(1)], `${what} rows(${lo}, ${hi})`);
    assert.equal(part.order, a.order);
    assert.equal(cOrderHex(part), rowsHex(a, l, h), `${what} rows(${lo}, ${hi})`);
    assert.equal(part.data.buffer.byteLength, part.data.byteLength, "exact buffer");
  }
}

const samples = (): { name: string; array: NDArray }[] => [
  { name: "c2", array: sample("f8", [5, 3]) },
  { name: "f2", array: sample("i2", [5, 3], "F") },
  { name: "f3", array: sample("c8", [4, 2, 3], "F") },
  { name: "b1", array: sample("b1", [7]) },
  { name: "u8", array: sample("u8", [6, 2]) },
];

test("npy.open: a LazyArray from the header; read() and rows() in C and Fortran order", async () => {
  const dir = await tempDir();
  for (const { name, array } of samples()) {
    const path = join(dir, `${name}.npy`);
    await npy.write(path, array);
    const lazy = await npy.open(path);
    assert.equal(lazy.file, path);
    await checkLazy(lazy, array, name);
  }
  const s = join(dir, "s.npy");
  await npy.write(s, sample("f8", []));
  const scalar = await npy.open(s);
  assert.deepEqual(scalar.shape, []);
  assert.equal(hexOf(await scalar.read()), hexOf(sample("f8", [])));
  await assert.rejects(scalar.rows(0, 1), /at least one axis/);
  const lazy = await npy.open(join(dir, "c2.npy"));
  for (const [a, b] of [
    [-1, 2],
    [3, 2],
    [0.5, 2],
    [0, Number.NaN],
  ] as [number, number][]) {
    await assert.rejects(lazy.rows(a, b), ArchiveError);
  }
  await assert.rejects(npy.open(join(dir, "missing.npy")), ArchiveError);
});

test("npy.open: a file changed after opening gives a FormatError, not a mis-shaped array", async () => {
  const dir = await tempDir();
  const path = join(dir, "x.npy");
  await npy.write(path, sample("f8", [5, 3]));
  const lazy = await npy.open(path);
  await writeFile(path, npy.encode(sample("f8", [6, 3])));
  await assert.rejects(
    lazy.rows(0, 1),
    (e: unknown) => e instanceof FormatError && /changed/.test(String(e)),
  );
});

async function savedArchive(format: "npy" | "npz" | "hdf5"): Promise<string> {
  const dir = await tempDir();
  const archive = new Archive({ arrayThreshold: 0 });
  archive.insert(Object.fromEntries(samples().map(({ name, array }) => [name, array])));
  return (await archive.save(dir, { name: "run1", dataFormat: format })).entry;
}

for (const format of ["npy", "npz", "hdf5"] as const) {
  test(`openArraysLazily (what load/DataSet use): ${format} archives, rows by positional reads or hyperslabs`, async () => {
    const entry = await savedArchive(format);
    const text = await readFile(entry, "utf8");
    const m = /_loadArrays\(import\.meta\.url, "([^"]+)", "(\w+)", (\[[^\]]*\])\)/.exec(text);
    assert.ok(m, "the module loads its arrays");
    const names = JSON.parse(m[3]!) as string[];
    const lazy = await openArraysLazily(pathToFileURL(entry).href, m[1]!, m[2]!, names);
    const full = await readArrayFiles(join(dirname(entry), m[1]!), format, names);
    for (const name of names) await checkLazy(lazy[name]!, full[name]!, `${format} ${name}`);
  });
}

test("npz deflated: rows stream only as far as needed (a corrupt tail does not stop early rows), read() checks the CRC", async () => {
  const dir = await tempDir();
  const a = new NDArray(
    Float64Array.from({ length: 200_000 }, (_, i) => Math.sin(i)),
    [100_000, 2],
  );
  const zip = craftZip([{ name: "a.npy", data: npy.encode(a), deflate: true }]);
  // Break the deflate stream near its end.
  const cdAt = Buffer.from(zip).lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
  for (let i = cdAt - 200; i < cdAt - 100; i++) zip[i] = 0xa5;
  const path = join(dir, "a.npz");
  await writeFile(path, zip);
  const url = pathToFileURL(join(dir, "m.mjs")).href;
  const lazy = (await openArraysLazily(url, "./a.npz", "npz", ["a"])).a!;
  assert.deepEqual(lazy.shape, [100_000, 2]);
  const first = await lazy.rows(10, 20);
  assert.deepEqual([...first.data], [...a.data.subarray(20, 40)]);
  await assert.rejects(lazy.read(), FormatError);
});

test("lazy opening applies the same confinement as loading", async () => {
  const entry = await savedArchive("npy");
  const outside = await tempDir();
  await npy.write(join(outside, "x.npy"), sample("f8", [5, 3]));
  const arrays = join(dirname(entry), "_arrays");
  await rename(join(arrays, "array_0.npy"), join(arrays, "was.npy"));
  await symlink(join(outside, "x.npy"), join(arrays, "array_0.npy"));
  await assert.rejects(
    openArraysLazily(pathToFileURL(entry).href, "./_arrays", "npy", ["array_0"]),
    /outside/,
  );
});

test("npz deflated: rows from the middle allocate for the rows asked for, not for every byte inflated on the way", async () => {
  const dir = await tempDir();
  // 16 MiB of output to skip before the rows: random-ish floats, so the deflate stream is long too.
  const n = 1 << 21;
  const a = new NDArray(
    Float64Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * 1e6),
    [n / 256, 256],
  );
  await writeFile(
    join(dir, "a.npz"),
    craftZip([{ name: "a.npy", data: npy.encode(a), deflate: true }]),
  );
  const url = pathToFileURL(join(dir, "m.mjs")).href;
  const lazy = (await openArraysLazily(url, "./a.npz", "npz", ["a"])).a!;
  await lazy.rows(0, 1); // code paths warmed up
  const start = n / 256 / 2;
  // Node buffers made while the rows are read (a streamed inflater makes one per 64 KiB of output,
  // kept until the next GC: that was a peak of 3-4x the rows' bytes).
  const made = { count: 0, bytes: 0 };
  const allocUnsafe = Buffer.allocUnsafe;
  const allocUnsafeSlow = Buffer.allocUnsafeSlow;
  const count =
    (f: typeof Buffer.allocUnsafe): typeof Buffer.allocUnsafe =>
    (size: number) => {
      made.count++;
      made.bytes += size;
      return f.call(Buffer, size);
    };
  Buffer.allocUnsafe = count(allocUnsafe);
  Buffer.allocUnsafeSlow = count(allocUnsafeSlow);
  let rows: NDArray;
  try {
    rows = await lazy.rows(start, start + 8);
  } finally {
    Buffer.allocUnsafe = allocUnsafe;
    Buffer.allocUnsafeSlow = allocUnsafeSlow;
  }
  assert.deepEqual(
    [...rows.data.subarray(0, 4)],
    [...a.data.subarray(start * 256, start * 256 + 4)],
  );
  assert.ok(
    made.bytes <= 4 * rows.data.byteLength + (256 << 10),
    `${made.count} buffers of ${made.bytes} bytes made to read ${rows.data.byteLength} bytes of rows`,
  );
});
