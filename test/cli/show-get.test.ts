import assert from "node:assert/strict";
import { readdir, stat, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { test } from "node:test";
import { Archive } from "../../src/archive.js";
import { NDArray } from "../../src/runtime/persist-runtime.mjs";
import { tempDir } from "../helpers/tmp.js";
import { hasEscapes, makeArchive, makeDataSet, runInProcess, spawnCli } from "./helpers.js";

/** Every file under `dir` with its size, keyed by path relative to `base`. */
async function sizes(dir: string, base = dir): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) for (const [k, v] of await sizes(path, base)) out.set(k, v);
    else out.set(relative(base, path), (await stat(path)).size);
  }
  return out;
}

const ARCHIVE_ITEMS = [
  { name: "cfg", kind: "object", entries: 5 },
  { name: "xs", kind: "Float64Array", dtype: "<f8", shape: [20] },
  { name: "grid", kind: "NDArray", dtype: "<i4", shape: [4, 6] },
  { name: "fortran", kind: "NDArray", dtype: "<f4", shape: [3, 4] },
  { name: "counts", kind: "BigInt64Array", dtype: "<i8", shape: [16] },
  { name: "small", kind: "Float32Array", dtype: "<f4", shape: [2] },
];

test("show --json on a package archive (child process): kinds, shapes, dtypes, files and sizes", async () => {
  const dir = await tempDir();
  const entry = await makeArchive(dir, "run1");
  const pkg = join(dir, "run1");
  const r = await spawnCli(["show", pkg, "--json"]);
  assert.equal(r.stderr, "");
  assert.equal(r.code, 0);
  const onDisk = await sizes(pkg);
  const paths = [
    "_arrays/array_0.npy",
    "_arrays/array_1.npy",
    "_arrays/array_2.npy",
    "_arrays/array_3.npy",
    "_persist_runtime.v1.mjs",
    "index.d.mts",
    "index.d.ts",
    "index.mjs",
    "package.json",
  ];
  assert.deepEqual([...onDisk.keys()].sort(), paths);
  const files = paths.map((path) => ({ path, bytes: onDisk.get(path)! }));
  assert.deepEqual(JSON.parse(r.stdout), {
    type: "archive",
    entry,
    layout: "package",
    dataFormat: "npy",
    defaultExport: null,
    bytes: files.reduce((s, f) => s + f.bytes, 0),
    files,
    items: ARCHIVE_ITEMS,
    arrays: [],
  });
  // The entry module itself names the same archive.
  const again = await runInProcess(["show", entry, "--json"]);
  assert.deepEqual(JSON.parse(again.stdout), JSON.parse(r.stdout));
});

test("show on a module-layout archive with npz arrays; plain table when piped", async () => {
  const dir = await tempDir();
  const entry = await makeArchive(dir, "m1", { package: false, dataFormat: "npz" });
  const json = await runInProcess(["show", entry, "--json"]);
  assert.equal(json.code, 0);
  const shown = JSON.parse(json.stdout);
  const onDisk = await sizes(dir);
  assert.deepEqual(shown.files, [
    { path: "m1.mjs", bytes: onDisk.get("m1.mjs") },
    { path: "m1.d.mts", bytes: onDisk.get("m1.d.mts") },
    { path: "m1_arrays.npz", bytes: onDisk.get("m1_arrays.npz") },
  ]);
  assert.equal(shown.layout, "module");
  assert.equal(shown.dataFormat, "npz");
  assert.deepEqual(shown.items, ARCHIVE_ITEMS);

  const text = await spawnCli(["show", entry]);
  assert.equal(text.code, 0);
  assert.equal(hasEscapes(text.stdout), false);
  const lines = text.stdout.trimEnd().split("\n");
  assert.match(
    lines[0]!,
    new RegExp(`^archive ${entry} \\(module layout, external arrays: npz, 3 files, `),
  );
  assert.deepEqual(
    lines.slice(1).map((l) => l.trim().split(/\s+/)),
    [
      ["cfg", "object", "5", "entries"],
      ["xs", "Float64Array", "<f8", "[20]"],
      ["grid", "NDArray", "<i4", "[4,", "6]"],
      ["fortran", "NDArray", "<f4", "[3,", "4]"],
      ["counts", "BigInt64Array", "<i8", "[16]"],
      ["small", "Float32Array", "<f4", "[2]"],
    ],
  );
});

test("show on a DataSet: every item's kind, size on disk and info, in key order", async () => {
  const dir = await tempDir();
  const ds = join(dir, "ds");
  await makeDataSet(ds);
  const r = await runInProcess(["show", ds, "--json"]);
  assert.equal(r.stderr, "");
  assert.equal(r.code, 0);
  const onDisk = await sizes(ds);
  const itemBytes = (name: string) =>
    [...onDisk]
      .filter(
        ([p]) => p === `${name}.mjs` || p === `${name}.d.mts` || p.startsWith(`${name}_arrays`),
      )
      .reduce((s, [, n]) => s + n, 0);
  assert.deepEqual(JSON.parse(r.stdout), {
    type: "dataset",
    path: ds,
    bytes: [...onDisk.values()].reduce((s, n) => s + n, 0),
    count: 5,
    items: [
      {
        name: "alpha",
        kind: "object",
        entries: 1,
        bytes: itemBytes("alpha"),
        info: { t: 1, tag: "first" },
      },
      {
        name: "x_0",
        kind: "NDArray",
        dtype: "<i2",
        shape: [6, 5],
        bytes: itemBytes("x_0"),
        info: { step: 2, ok: true },
      },
      { name: "small", kind: "array", entries: 3, bytes: itemBytes("small"), info: null },
      {
        name: "wide",
        kind: "Uint8Array",
        dtype: "|u1",
        shape: [500],
        bytes: itemBytes("wide"),
        info: "inline",
      },
      {
        name: "mixed",
        kind: "object",
        entries: 2,
        bytes: itemBytes("mixed"),
        info: { mixed: [1, 2] },
      },
    ],
  });
  assert.ok(itemBytes("alpha") > 50 * 8, "the external array file counts for its item");

  const text = await spawnCli(["show", ds]);
  assert.equal(text.code, 0);
  assert.equal(hasEscapes(text.stdout + text.stderr), false);
  assert.match(text.stdout, /^DataSet .* \(5 items, /);
  assert.match(
    text.stdout,
    /\n {2}alpha +object 1 entry +\S+ k?B +info: \{ t: 1, tag: 'first' \}\n/,
  );
  assert.match(text.stdout, /\n {2}x_0 +NDArray <i2 \[6, 5\] .*info: \{ step: 2, ok: true \}\n/);
});

test("show on a DataSet with a broken item lists the rest, names it on stderr, exits 1", async () => {
  const dir = await tempDir();
  const ds = join(dir, "ds");
  await makeDataSet(ds);
  await writeFile(join(ds, "small.mjs"), "export default globalThis;\n");
  const r = await runInProcess(["show", ds, "--json"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^persist show: item small: .*globalThis.*small\.mjs:1:\d+/);
  const items = JSON.parse(r.stdout).items;
  assert.deepEqual(
    items.map((i: { name: string; kind: string }) => [i.name, i.kind]),
    [
      ["alpha", "object"],
      ["x_0", "NDArray"],
      ["small", "unreadable"],
      ["wide", "Uint8Array"],
      ["mixed", "object"],
    ],
  );
  assert.match(items[2].error, /globalThis/);
});

test("show on a single-item module (a DataSet item) names its default export", async () => {
  const dir = await tempDir();
  await makeDataSet(join(dir, "ds"));
  const r = await runInProcess(["show", join(dir, "ds", "alpha.mjs"), "--json"]);
  assert.equal(r.code, 0);
  const shown = JSON.parse(r.stdout);
  assert.equal(shown.defaultExport, "alpha");
  assert.deepEqual(shown.items, [{ name: "alpha", kind: "object", entries: 1 }]);
});

test("get --json prints arrays as dtype/shape/data (C order) and documented forms for the rest", async () => {
  const dir = await tempDir();
  const entry = await makeArchive(dir, "run1");
  const get = (name: string) => runInProcess(["get", entry, name, "--json"]);
  const [xs, fortran, counts, cfg, small] = await Promise.all([
    get("xs"),
    get("fortran"),
    get("counts"),
    get("cfg"),
    get("small"),
  ]);
  for (const r of [xs, fortran, counts, cfg, small]) assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(xs.stdout), {
    dtype: "<f8",
    shape: [20],
    data: Array.from({ length: 20 }, (_, i) => i / 4),
  });
  // Fortran data [i + 3j] = (i + 3j) * 1.5 for element (i, j); printed in C order (row by row).
  const cOrder: number[] = [];
  for (let i = 0; i < 3; i++) for (let j = 0; j < 4; j++) cOrder.push((i + 3 * j) * 1.5);
  assert.deepEqual(JSON.parse(fortran.stdout), { dtype: "<f4", shape: [3, 4], data: cOrder });
  assert.deepEqual(JSON.parse(counts.stdout), {
    dtype: "<i8",
    shape: [16],
    data: Array.from({ length: 16 }, (_, i) => (BigInt(i) * 1000000000000n).toString()),
  });
  assert.deepEqual(JSON.parse(cfg.stdout), {
    n: 3,
    label: "run",
    when: { $type: "Date", iso: "1970-01-01T00:00:00.000Z" },
    big: "12",
    tags: { $type: "Set", values: ["a", "b"] },
  });
  assert.deepEqual(JSON.parse(small.stdout), { dtype: "<f4", shape: [2], data: [1.5, -2] });
});

test("get --json: complex, float16, bool, non-finite numbers, Map, RegExp, Error, cycles", async () => {
  const dir = await tempDir();
  const archive = new Archive();
  const cyclic: Record<string, unknown> = { name: "c" };
  cyclic.self = { back: cyclic };
  archive.insert({
    z: new NDArray(new Float64Array([1, 2, 3, -4]), [2], { dtype: "<c16" }),
    half: new NDArray(new Uint16Array([0x3c00, 0xc000, 0x7c00, 0x3555]), [2, 2], { dtype: "<f2" }),
    flags: new NDArray(new Uint8Array([1, 0, 1]), [3], { dtype: "|b1" }),
    nums: [Number.NaN, Number.NEGATIVE_INFINITY, -0, undefined, 1.5],
    map: new Map<unknown, unknown>([
      [1, "a"],
      ["k", [2n]],
    ]),
    misc: {
      re: /a+/gi,
      err: new RangeError("bad"),
      bad: new Date(Number.NaN),
      buf: new Uint8Array([7, 8]).buffer,
    },
    cyclic,
  });
  const { entry } = await archive.save(dir, { name: "odd" });
  const names = ["z", "half", "flags", "nums", "map", "misc", "cyclic"];
  const results = await Promise.all(names.map((n) => runInProcess(["get", entry, n, "--json"])));
  const got = Object.fromEntries(names.map((n, i) => [n, JSON.parse(results[i]!.stdout)]));
  assert.deepEqual(got, {
    z: {
      dtype: "<c16",
      shape: [2],
      data: [
        [1, 2],
        [3, -4],
      ],
    },
    half: { dtype: "<f2", shape: [2, 2], data: [1, -2, "Infinity", 0.333251953125] },
    flags: { dtype: "|b1", shape: [3], data: [true, false, true] },
    nums: ["NaN", "-Infinity", 0, null, 1.5],
    map: {
      $type: "Map",
      entries: [
        [1, "a"],
        ["k", ["2"]],
      ],
    },
    misc: {
      re: { $type: "RegExp", source: "a+", flags: "gi" },
      err: { $type: "RangeError", message: "bad" },
      bad: { $type: "Date", iso: null },
      buf: { $type: "ArrayBuffer", data: [7, 8] },
    },
    cyclic: { name: "c", self: { back: { $cycle: "cyclic" } } },
  });
});

test("get without --json renders readably; get on a DataSet; a missing name exits 1", async () => {
  const dir = await tempDir();
  const entry = await makeArchive(dir, "run1");
  const ds = join(dir, "ds");
  await makeDataSet(ds);
  const [grid, item, info, missing, missingItem] = await Promise.all([
    spawnCli(["get", entry, "grid"]),
    runInProcess(["get", ds, "x_0", "--json"]),
    runInProcess(["get", ds, "small"]),
    runInProcess(["get", entry, "nope"]),
    runInProcess(["get", ds, "nope"]),
  ]);
  assert.equal(grid.code, 0);
  assert.equal(hasEscapes(grid.stdout), false);
  assert.match(grid.stdout, /^NDArray \{/);
  assert.match(grid.stdout, /shape: \[ 4, 6 \]/);
  assert.match(grid.stdout, /-5, +-4, +-3/);
  assert.deepEqual(JSON.parse(item.stdout), {
    dtype: "<i2",
    shape: [6, 5],
    data: Array.from({ length: 30 }, (_, i) => i),
  });
  assert.equal(info.stdout, "[ 1, 'two', Float32Array(1) [ 3 ] ]\n");
  assert.equal(missing.code, 1);
  assert.match(
    missing.stderr,
    /^persist get: archive .*index\.mjs has no export "nope"; it has cfg, xs, grid, fortran, counts, small\n$/,
  );
  assert.equal(missingItem.code, 1);
  assert.match(missingItem.stderr, /^persist get: DataSet .* has no item "nope"/);
});

test("show lists arrays nested inside exports, with their paths", async () => {
  const dir = await tempDir();
  const archive = new Archive({ arrayThreshold: 10 });
  const shared = new Float32Array(5);
  archive.insert({
    results: {
      field: new NDArray(new Float64Array(3 * 4096), [3, 4096]),
      runs: [{ x: new Int16Array(20) }, { "odd key": shared, again: shared }],
      byName: new Map([["a", new Uint8Array(3)]]),
    },
    top: new Float64Array(4),
  });
  const { entry } = await archive.save(dir, { name: "nested" });
  const r = await runInProcess(["show", entry]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split("\n").map((l) => l.trim().replace(/ {2,}/g, "  "));
  assert.deepEqual(lines.slice(1, -1), [
    "results  object 3 entries",
    "results.field  NDArray <f8 [3, 4096]",
    "results.runs[0].x  Int16Array <i2 [20]",
    'results.runs[1]["odd key"]  Float32Array <f4 [5]',
    'results.byName.get("a")  Uint8Array |u1 [3]',
    "top  Float64Array <f8 [4]",
  ]);
  const json = JSON.parse((await runInProcess(["show", entry, "--json"])).stdout);
  assert.deepEqual(json.arrays[0], {
    path: "results.field",
    kind: "NDArray",
    dtype: "<f8",
    shape: [3, 4096],
  });
});
