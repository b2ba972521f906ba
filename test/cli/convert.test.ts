import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { Archive } from "../../src/archive.js";
import { dataFilesOf } from "../../src/cli/target.js";
import { DataSet } from "../../src/dataset/dataset.js";
import { load } from "../../src/load/index.js";
import { NDArray } from "../../src/runtime/persist-runtime.mjs";
import { tempDir } from "../helpers/tmp.js";
import {
  archiveValues,
  dataSetItems,
  makeArchive,
  makeDataSet,
  ROOT,
  runInProcess,
  spawnCli,
  treeHashes,
} from "./helpers.js";

type Format = "npy" | "npz" | "hdf5";
const DATA_FILE: Record<Format, string> = { npy: "", npz: ".npz", hdf5: ".h5" };

/** The archive at `entry` holds archiveValues(), 4 arrays external in `format`, `small` inline. */
async function checkArchive(entry: string, format: Format, arraysBase: string): Promise<void> {
  const exports = await load(entry);
  assert.deepStrictEqual({ ...exports }, archiveValues());
  const data = await dataFilesOf(entry);
  assert.equal(data?.format, format);
  assert.deepEqual(data?.names, ["array_0", "array_1", "array_2", "array_3"]);
  assert.equal(data?.location, arraysBase + DATA_FILE[format]);
  assert.match(
    await readFile(entry, "utf8"),
    /export const small = new Float32Array\(\[1\.5, -2\]\);/,
  );
  const verified = await runInProcess(["verify", entry]);
  assert.equal(verified.code, 0, verified.stderr);
}

async function checkDataSet(path: string, format: Format): Promise<void> {
  const ds = await DataSet.open(path, { mode: "r" });
  const expected = dataSetItems();
  assert.deepEqual(
    await ds.keys(),
    expected.map((i) => i.name),
  );
  for (const { name, value, info } of expected) {
    assert.deepStrictEqual(await ds.get(name), value, name);
    assert.deepStrictEqual(await ds.info(name), info, name);
  }
  await ds.close();
  // External arrays stayed external (in the new format), inline ones inline, item by item.
  const arrays = async (name: string) => {
    const data = await dataFilesOf(join(path, `${name}.mjs`));
    if (data) assert.equal(data.format, format, name);
    return data?.names.length ?? 0;
  };
  assert.deepEqual(
    await Promise.all(["alpha", "x_0", "small", "wide", "mixed"].map(arrays)),
    [1, 1, 0, 0, 1],
  );
  assert.match(await readFile(join(path, "mixed.mjs"), "utf8"), /new Float64Array\(\[1, 2, 3\]\)/);
  const verified = await runInProcess(["verify", path]);
  assert.equal(verified.code, 0, verified.stderr);
}

test("convert a package archive in place: npy → npz → hdf5 → npy, values and externals kept", async () => {
  const dir = await tempDir();
  const entry = await makeArchive(dir, "run1");
  const pkg = join(dir, "run1");
  await checkArchive(entry, "npy", join(pkg, "_arrays"));
  // The user's own files in the package survive the conversions.
  await mkdir(join(pkg, "notes"));
  await writeFile(join(pkg, "notes", "README.txt"), "run 1 notes");
  for (const format of ["npz", "hdf5", "npy"] as const) {
    const r = await runInProcess(["convert", pkg, "--format", format]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    assert.equal(
      r.stdout,
      `converted archive ${entry} -> ${entry}: 4 external arrays in ${format}\n`,
    );
    await checkArchive(entry, format, join(pkg, "_arrays"));
    // Only the new format's data file is left, and nothing beside the package.
    const files = (await readdir(pkg)).filter((f) => f.startsWith("_arrays"));
    assert.deepEqual(files, [`_arrays${DATA_FILE[format]}`]);
    assert.deepEqual(await readdir(dir), ["run1"]);
    assert.equal(await readFile(join(pkg, "notes", "README.txt"), "utf8"), "run 1 notes");
  }
});

test("convert a module-layout archive with --out: the source stays untouched", async () => {
  const dir = await tempDir();
  const entry = await makeArchive(dir, "m1", { package: false });
  const source = await treeHashes(dir);
  // One step through the executable itself.
  const first = await spawnCli(["convert", entry, "--format", "npz", "--out", join(dir, "out1")]);
  assert.equal(first.code, 0, first.stderr);
  await checkArchive(join(dir, "out1", "m1.mjs"), "npz", join(dir, "out1", "m1_arrays"));
  // Then npz → hdf5 → npy in process, each step from the previous output.
  for (const [step, format] of [
    [2, "hdf5"],
    [3, "npy"],
  ] as const) {
    const from = join(dir, `out${step - 1}`, "m1.mjs");
    const r = await runInProcess([
      "convert",
      from,
      "--format",
      format,
      "--out",
      join(dir, `out${step}`),
    ]);
    assert.equal(r.code, 0, r.stderr);
    await checkArchive(
      join(dir, `out${step}`, "m1.mjs"),
      format,
      join(dir, `out${step}`, "m1_arrays"),
    );
  }
  const after = await treeHashes(dir);
  for (const [path, hash] of Object.entries(source)) assert.equal(after[path], hash, path);
  assert.deepEqual(
    Object.keys(after)
      .filter((p) => !p.startsWith("/out"))
      .sort(),
    Object.keys(source).sort(),
  );
  // A package converted with --out becomes the package DIR.
  await makeArchive(dir, "p1");
  const pkg = await runInProcess([
    "convert",
    join(dir, "p1"),
    "--format",
    "npz",
    "--out",
    join(dir, "p2"),
  ]);
  assert.equal(pkg.code, 0, pkg.stderr);
  await checkArchive(join(dir, "p2", "index.mjs"), "npz", join(dir, "p2", "_arrays"));
  assert.equal(JSON.parse(await readFile(join(dir, "p2", "package.json"), "utf8")).name, "p2");
});

test("convert --out refuses an existing target and leaves both sides alone", async () => {
  const dir = await tempDir();
  const entry = await makeArchive(dir, "m1", { package: false });
  await mkdir(join(dir, "taken"));
  await writeFile(join(dir, "taken", "keep.txt"), "mine");
  await makeDataSet(join(dir, "ds"));
  const before = await treeHashes(dir);
  const inside = await runInProcess([
    "convert",
    join(dir, "ds"),
    "--format",
    "npz",
    "--out",
    join(dir, "ds", "sub"),
  ]);
  assert.equal(inside.code, 1);
  assert.match(inside.stderr, /--out .*sub is inside .*ds; choose a path outside it/);
  const r = await spawnCli(["convert", entry, "--format", "npz", "--out", join(dir, "taken")]);
  assert.equal(r.code, 2, "an existing --out is a usage error");
  assert.equal(
    r.stderr,
    `persist convert: --out ${join(dir, "taken")} already exists; choose a new path (convert never overwrites)\n` +
      '(run "persist convert --help" for its usage)\n',
  );
  assert.deepEqual(await treeHashes(dir), before);
});

test("convert a DataSet in place: npy → npz → hdf5 → npy keeps values, infos, key order", async () => {
  const dir = await tempDir();
  const ds = join(dir, "ds");
  await makeDataSet(ds);
  await checkDataSet(ds, "npy");
  for (const format of ["npz", "hdf5", "npy"] as const) {
    const r = await runInProcess(["convert", ds, "--format", format]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `converted DataSet ${ds} -> ${ds}: 5 items, arrays in ${format}\n`);
    await checkDataSet(ds, format);
    assert.deepEqual(await readdir(dir), ["ds"], "no staging or old copy left beside it");
  }
  // Still a working DataSet: new names continue after the existing ones.
  const writer = await DataSet.open(ds, { mode: "w" });
  assert.equal(await writer.insert(1), "x_1");
  await writer.close();
});

test("convert a DataSet with --out: DIR is the converted DataSet, the source untouched", async () => {
  const dir = await tempDir();
  const ds = join(dir, "ds");
  await makeDataSet(ds);
  const before = await treeHashes(ds);
  const r = await spawnCli(["convert", ds, "--format", "npz", "--out", join(dir, "copy")]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, "");
  await checkDataSet(join(dir, "copy"), "npz");
  assert.deepEqual(await treeHashes(ds), before);
  assert.deepEqual((await readdir(dir)).sort(), ["copy", "ds"]);
});

test("a failed conversion leaves the original intact and no partial copy", async () => {
  const dir = await tempDir();
  // h5wasm cannot write float16, so converting this archive to hdf5 fails half-way.
  const archive = new Archive({ arrayThreshold: 2 });
  archive.insert({
    ok: new Float64Array([1, 2, 3, 4]),
    half: new NDArray(new Uint16Array([0x3c00, 0x4000, 0x4200]), [3], { dtype: "<f2" }),
  });
  await archive.save(dir, { name: "h" });
  const ds = join(dir, "ds");
  await makeDataSet(ds);
  const dsWriter = await DataSet.open(ds, { mode: "w", arrayThreshold: 2 });
  await dsWriter.set("halfs", new NDArray(new Uint16Array([1, 2, 3]), [3], { dtype: "<f2" }));
  await dsWriter.close();
  const before = await treeHashes(dir);
  const [a, b] = [
    await runInProcess(["convert", join(dir, "h"), "--format", "hdf5"]),
    await runInProcess(["convert", ds, "--format", "hdf5"]),
  ];
  assert.equal(a.code, 1);
  assert.match(
    a.stderr,
    /^persist convert: cannot convert archive .* to hdf5 \(it is unchanged\): .*<f2/,
  );
  assert.equal(b.code, 1);
  assert.match(
    b.stderr,
    /^persist convert: cannot convert DataSet .* to hdf5 \(it is unchanged\): .*<f2/,
  );
  assert.deepEqual(await treeHashes(dir), before);
  assert.deepEqual((await readdir(dir)).sort(), ["ds", "h"]);
});

test("convert says so when an inline array had to become external", async () => {
  const dir = await tempDir();
  const entry = await makeArchive(dir, "m1", { package: false });
  // A hand edit: an inline array larger than the smallest external one (12 elements).
  const extra = Array.from({ length: 15 }, (_, i) => i).join(", ");
  // Inserted before the end marker: a format-2 module must still end with it (else truncated).
  const text = await readFile(entry, "utf8");
  const marker = "// persist-archive: end of archive";
  const added = `export const extra = new Float64Array([${extra}]);\n`;
  await writeFile(
    entry,
    text.includes(marker) ? text.replace(marker, `${added}${marker}`) : `${text}${added}`,
  );
  const r = await runInProcess(["convert", entry, "--format", "npz"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /note: 1 array\(s\) that were inline are now external/);
  assert.equal((await dataFilesOf(entry))?.names.length, 5);
  assert.deepStrictEqual(
    (await load(entry)).extra,
    Float64Array.from({ length: 15 }, (_, i) => i),
  );
});

test("an in-place DataSet convert loses no write of a concurrent writer process", async () => {
  const dir = await tempDir();
  const ds = join(dir, "ds");
  const writer = await DataSet.open(ds, { mode: "w", arrayThreshold: 10 });
  for (let i = 0; i < 120; i++)
    await writer.set(`v${i}`, new Float64Array(30).fill(i), { info: i });
  await writer.close();
  const child = spawn(
    process.execPath,
    ["--import", "tsx", join(ROOT, "test", "cli", "fixtures", "inserter.ts"), ds, "40"],
    { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] },
  );
  let output = "";
  child.stdout.setEncoding("utf8");
  const started = new Promise<void>((resolve) =>
    child.stdout.on("data", (chunk: string) => {
      output += chunk;
      if (output.includes("OK")) resolve();
    }),
  );
  const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
  await started;
  const r = await spawnCli(["convert", ds, "--format", "npz"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await exited, 0);
  const inserted = [...output.matchAll(/^OK (\S+)$/gm)].map((m) => m[1]!);
  assert.equal(inserted.length, 40);
  const reader = await DataSet.open(ds, { mode: "r" });
  const keys = await reader.keys();
  assert.deepEqual(
    keys.filter((k) => k.startsWith("v")),
    Array.from({ length: 120 }, (_, i) => `v${i}`),
  );
  assert.deepEqual(keys.filter((k) => !k.startsWith("v")).sort(), [...inserted].sort());
  for (const name of inserted) {
    const { i } = (await reader.get(name)) as { i: number };
    assert.deepStrictEqual(await reader.info(name), { i });
  }
  assert.deepStrictEqual(await reader.get("v119"), new Float64Array(30).fill(119));
  await reader.close();
});
