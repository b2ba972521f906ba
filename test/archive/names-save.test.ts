/** Names, duplicates, single-item mode, save layouts, force/backup and the save error cases. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import {
  Archive,
  ArchiveError,
  DuplicateError,
  InvalidNameError,
  NDArray,
} from "../../src/index.js";
import { tempDir } from "../helpers/tmp.js";

test("names must be unreserved identifiers; _names only when allowed", () => {
  const a = new Archive({ allowedNames: ["_private"] });
  for (const bad of [
    "1x",
    "a-b",
    "class",
    "default",
    "with space",
    "",
    "a.b",
    "_hidden",
    "await",
    "let",
  ]) {
    assert.throws(() => a.insert({ [bad]: 1 }), InvalidNameError, bad);
  }
  a.insert({ _private: 1, ok: 2, $dollar: 3, ünïcode: 4 });
  assert.deepEqual(a.names(), ["_private", "ok", "$dollar", "ünïcode"]);
});

test("same object again is a no-op; a different value is a DuplicateError", () => {
  const a = new Archive();
  const obj = { x: 1 };
  a.insert({ obj, n: Number.NaN });
  a.insert({ obj, n: Number.NaN });
  assert.throws(() => a.insert({ obj: { x: 1 } }), DuplicateError);
  assert.throws(() => a.insert({ n: 1 }), /already holds a different value/);
  assert.deepEqual(a.names(), ["obj", "n"]);
});

test("uniqueName gives base, then base_0, base_1, ...", () => {
  const a = new Archive();
  assert.equal(a.uniqueName("x"), "x");
  a.insert({ x: 1 });
  assert.equal(a.uniqueName("x"), "x_0");
  a.insert({ x_0: 2 });
  assert.equal(a.uniqueName("x"), "x_1");
});

test("singleItem: one name only; default export; save name defaults to the item", async () => {
  const a = new Archive({ singleItem: true });
  a.insert({ result: { v: [1, 2] } });
  assert.throws(
    () => a.insert({ other: 1 }),
    (e: unknown) => e instanceof ArchiveError && /singleItem/.test(String(e)),
  );
  assert.match(a.toString(), /export default result;\n\/\/ persist-archive: end of archive\n$/);
  const dir = await tempDir();
  const { entry } = await a.save(dir, { package: false });
  assert.equal(entry, join(dir, "result.mjs"));
  const mod = await import(pathToFileURL(entry).href);
  assert.equal(mod.default, mod.result);
  assert.deepEqual(mod.default, { v: [1, 2] });
});

test("save: package layout files, package.json, index.d.mts + index.d.ts", async () => {
  const a = new Archive();
  a.insert({ x: { n: 1, list: [1, 2], m: new Map([["a", new Date(0)]]) }, s: "str" });
  const dir = await tempDir();
  const res = await a.save(dir, { name: "run1" });
  assert.equal(res.entry, join(dir, "run1", "index.mjs"));
  assert.deepEqual((await readdir(join(dir, "run1"))).sort(), [
    "index.d.mts",
    "index.d.ts",
    "index.mjs",
    "package.json",
  ]);
  const pkg = JSON.parse(await readFile(join(dir, "run1", "package.json"), "utf8"));
  assert.equal(pkg.type, "module");
  assert.equal(pkg.exports["."].import, "./index.mjs");
  assert.equal(pkg.exports["."].types, "./index.d.mts");
  assert.equal(pkg.types, "./index.d.ts");
  const dts = await readFile(join(dir, "run1", "index.d.mts"), "utf8");
  assert.equal(await readFile(join(dir, "run1", "index.d.ts"), "utf8"), dts);
  assert.match(
    dts,
    /export declare const x: \{ n: number; list: number\[\]; m: Map<string, Date> \};/,
  );
  assert.match(dts, /export declare const s: string;/);
  // The package resolves by directory import through its package.json.
  const mod = await import(pathToFileURL(join(dir, "run1", "index.mjs")).href);
  assert.equal(mod.s, "str");
});

test("save: generated declarations type-check against a consumer (tsc)", async () => {
  const a = new Archive();
  a.insert({
    x: { n: 1, list: [1, "a"], nd: new NDArray(new Float64Array(4), [2, 2]) },
    f: Math.sin,
  });
  const dir = await tempDir();
  await a.save(dir, { name: "run1", package: false });
  await writeFile(
    join(dir, "use.mts"),
    'import { x, f } from "./run1.mjs";\nconst n: number = x.n;\nconst l: (number | string)[] = x.list;\nconst s: readonly number[] = x.nd.shape;\nconst y: number = f(1);\nexport { n, l, s, y };\n',
  );
  const tsc = join(process.cwd(), "node_modules", "typescript", "bin", "tsc");
  const r = spawnSync(
    process.execPath,
    [
      tsc,
      "--noEmit",
      "--strict",
      "--module",
      "nodenext",
      "--target",
      "es2022",
      join(dir, "use.mts"),
    ],
    { encoding: "utf8", cwd: dir },
  );
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test("save: module layout writes name.mjs and name.d.mts beside each other", async () => {
  const a = new Archive();
  a.insert({ x: 1 });
  const dir = await tempDir();
  const res = await a.save(dir, { name: "run1", package: false });
  assert.deepEqual((await readdir(dir)).sort(), ["run1.d.mts", "run1.mjs"]);
  assert.deepEqual(res.files.sort(), [join(dir, "run1.d.mts"), join(dir, "run1.mjs")]);
});

test("save: name required unless singleItem; bad names refused", async () => {
  const a = new Archive();
  a.insert({ x: 1 });
  const dir = await tempDir();
  await assert.rejects(a.save(dir), /options\.name is required/);
  await assert.rejects(a.save(dir, { name: "../evil" }), InvalidNameError);
  await assert.rejects(a.save(dir, { name: "a/b" }), InvalidNameError);
  assert.deepEqual(await readdir(dir), []);
});

test("save: refuses to overwrite without force, naming the file; dir that is a file", async () => {
  const a = new Archive();
  a.insert({ x: 1 });
  const dir = await tempDir();
  await a.save(dir, { name: "run1" });
  await assert.rejects(
    a.save(dir, { name: "run1" }),
    (e: unknown) =>
      e instanceof ArchiveError && e.message.includes(join(dir, "run1")) && /force/.test(e.message),
  );
  await a.save(dir, { name: "m", package: false });
  await assert.rejects(
    a.save(dir, { name: "m", package: false }),
    (e: unknown) => e instanceof ArchiveError && e.message.includes("m.mjs"),
  );
  const file = join(dir, "plain.txt");
  await writeFile(file, "not a dir");
  await assert.rejects(
    a.save(file, { name: "x" }),
    (e: unknown) => e instanceof ArchiveError && /not a directory/.test(e.message),
  );
  assert.equal(await readFile(file, "utf8"), "not a dir");
});

test("save: force replaces; backup keeps the replaced files as *.bak", async () => {
  const dir = await tempDir();
  const v1 = new Archive();
  v1.insert({ x: 1 });
  await v1.save(dir, { name: "run1" });
  await v1.save(dir, { name: "mod", package: false });
  const v2 = new Archive();
  v2.insert({ x: 2 });
  await v2.save(dir, { name: "run1", force: true, backup: true });
  await v2.save(dir, { name: "mod", package: false, force: true, backup: true });
  assert.match(await readFile(join(dir, "run1", "index.mjs"), "utf8"), /x = 2/);
  assert.match(await readFile(join(dir, "run1.bak", "index.mjs"), "utf8"), /x = 1/);
  assert.match(await readFile(join(dir, "mod.mjs"), "utf8"), /x = 2/);
  assert.match(await readFile(join(dir, "mod.mjs.bak"), "utf8"), /x = 1/);
  const v3 = new Archive();
  v3.insert({ x: 3 });
  await v3.save(dir, { name: "run1", force: true });
  assert.match(await readFile(join(dir, "run1", "index.mjs"), "utf8"), /x = 3/);
  assert.match(
    await readFile(join(dir, "run1.bak", "index.mjs"), "utf8"),
    /x = 1/,
    "no backup: .bak untouched",
  );
  const left = (await readdir(dir)).filter((f) => f.startsWith("."));
  assert.deepEqual(left, [], "no staging folders left behind");
});

test("a failed save leaves the previous archive intact", async () => {
  const dir = await tempDir();
  const v1 = new Archive({ arrayThreshold: 2 });
  v1.insert({ x: new Float64Array([1, 2, 3]) });
  await v1.save(dir, { name: "run1", dataFormat: "npy" });
  await v1.save(dir, { name: "mod", package: false });
  const before = await readFile(join(dir, "run1", "index.mjs"), "utf8");
  // float16 cannot be stored in HDF5 by h5wasm: the write fails after staging started.
  const bad = new Archive({ arrayThreshold: 2 });
  bad.insert({ x: new NDArray(new Uint16Array([1, 2, 3]), [3], { dtype: "<f2" }) });
  await assert.rejects(bad.save(dir, { name: "run1", force: true, dataFormat: "hdf5" }));
  await assert.rejects(
    bad.save(dir, { name: "mod", package: false, force: true, dataFormat: "hdf5" }),
  );
  assert.equal(await readFile(join(dir, "run1", "index.mjs"), "utf8"), before);
  const mod = await import(pathToFileURL(join(dir, "mod.mjs")).href);
  assert.deepEqual(mod.x, new Float64Array([1, 2, 3]));
  assert.deepEqual(
    (await readdir(dir)).filter((f) => f.startsWith(".")),
    [],
  );
  assert.ok((await stat(join(dir, "run1", "_arrays", "array_0.npy"))).isFile());
});

test("dir is created when missing", async () => {
  const a = new Archive();
  a.insert({ x: 1 });
  const dir = join(await tempDir(), "a", "b");
  await a.save(dir, { name: "r" });
  assert.ok((await stat(join(dir, "r", "index.mjs"))).isFile());
});

test("declarations are built from the values: a field named `never`, empty collections", async () => {
  const a = new Archive();
  a.insert({ s: new Set([{ never: 1 }]), m: new Map(), e: [] });
  const dir = await tempDir();
  await a.save(dir, { name: "t", package: false });
  const dts = await readFile(join(dir, "t.d.mts"), "utf8");
  assert.match(dts, /export declare const s: Set<\{ never: number \}>;/);
  assert.match(dts, /export declare const m: Map<unknown, unknown>;/);
  assert.match(dts, /export declare const e: unknown\[\];/);
});
