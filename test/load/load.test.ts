/** load(): entry resolution, re-reading on every call, trusted mode. */
import assert from "node:assert/strict";
import { copyFile, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { FormatError, NotFoundError, UnsafeArchiveError } from "../../src/errors.js";
import { load } from "../../src/index.js";
import { interpretSource } from "../../src/load/index.js";
import { NDArray } from "../../src/runtime/persist-runtime.mjs";
import { tempDir } from "../helpers/tmp.js";

const RUNTIME = fileURLToPath(new URL("../../src/runtime/persist-runtime.mjs", import.meta.url));
const root = await tempDir("persist-load-api-");
let n = 0;

async function folder(): Promise<string> {
  const dir = join(root, `d${++n}`);
  await mkdir(dir, { recursive: true });
  await copyFile(RUNTIME, join(dir, "_persist_runtime.v1.mjs"));
  return dir;
}

test("load() of an entry module returns its exports as a plain object, default included", async () => {
  const dir = await folder();
  const file = join(dir, "run1.mjs");
  await writeFile(
    file,
    "export const a = { x: 1 };\nexport const b = [1, 2];\nexport default a;\n",
  );
  const r = await load(file);
  assert.equal(Object.getPrototypeOf(r), Object.prototype);
  assert.deepEqual(r, { a: { x: 1 }, b: [1, 2], default: { x: 1 } });
  assert.equal(r.default, r.a);
});

test("load() of a package directory follows exports, then main, then index.mjs", async () => {
  const cases: [unknown, string][] = [
    [{ exports: "./lib/entry.mjs" }, "lib/entry.mjs"],
    [{ exports: { ".": { types: "./x.d.mts", import: "./e.mjs" } } }, "e.mjs"],
    [{ exports: { ".": "./dot.mjs" } }, "dot.mjs"],
    [{ exports: { default: "./cond.mjs" } }, "cond.mjs"],
    [{ main: "main.mjs" }, "main.mjs"],
    [{ name: "x" }, "index.mjs"],
    [undefined, "index.mjs"],
  ];
  for (const [pkg, entry] of cases) {
    const dir = await folder();
    if (pkg !== undefined) await writeFile(join(dir, "package.json"), JSON.stringify(pkg));
    await mkdir(join(dir, "lib"), { recursive: true });
    await writeFile(join(dir, entry), `export const which = ${JSON.stringify(entry)};\n`);
    assert.deepEqual(await load(dir), { which: entry }, JSON.stringify(pkg));
  }
});

test("load() errors: missing path, missing entry, bad package.json, entry outside the package", async () => {
  const dir = await folder();
  await assert.rejects(load(join(dir, "nope.mjs")), NotFoundError);
  await assert.rejects(load(dir), NotFoundError);
  await writeFile(join(dir, "package.json"), "{ not json");
  await assert.rejects(load(dir), FormatError);
  await writeFile(join(dir, "package.json"), JSON.stringify({ main: "../outside.mjs" }));
  await assert.rejects(load(dir), /points outside the package/);
});

test("load() reads the file again on every call", async () => {
  const dir = await folder();
  const file = join(dir, "m.mjs");
  await writeFile(file, "export const v = 1;\n");
  assert.equal((await load(file)).v, 1);
  await writeFile(file, "export const v = 2;\n");
  assert.equal((await load(file)).v, 2);
});

test("safe load resolves imports through options.modules before the registry", async () => {
  const dir = await folder();
  const file = join(dir, "m.mjs");
  class Point {
    constructor(public x: number) {}
  }
  await writeFile(
    file,
    'import { Point as _Point } from "geometry-lib";\nexport const p = new _Point(3);\n',
  );
  await assert.rejects(load(file), UnsafeArchiveError);
  const r = await load(file, { modules: { "geometry-lib": { Point } } });
  assert.ok(r.p instanceof Point);
  assert.equal((r.p as Point).x, 3);
});

test("trusted load evaluates the module, fresh on every call, runtime import resolving beside it", async () => {
  const dir = await folder();
  const file = join(dir, "t.mjs");
  const text = (v: number) =>
    'import { NDArray as _NDArray } from "./_persist_runtime.v1.mjs";\n' +
    `export const v = ${v};\nexport const computed = [1, 2, 3].map((x) => x * ${v});\n` +
    "export const nd = new _NDArray(new Float64Array([1, 2]), [2]);\n";
  await writeFile(file, text(1));
  const first = await load(file, { trusted: true });
  assert.deepEqual(first.computed, [1, 2, 3]);
  assert.ok(first.nd instanceof NDArray);
  await writeFile(file, text(2));
  const second = await load(file, { trusted: true });
  assert.equal(second.v, 2);
  assert.deepEqual(second.computed, [2, 4, 6]);
  // The safe loader refuses the same file: `.map(...)` is code.
  await assert.rejects(load(file), UnsafeArchiveError);
});

test("trusted load re-reads relative sibling modules too", async () => {
  const dir = await folder();
  await writeFile(join(dir, "part.mjs"), "export const p = 1;\n");
  const file = join(dir, "main.mjs");
  await writeFile(file, 'export { p } from "./part.mjs";\n');
  assert.equal((await load(file, { trusted: true })).p, 1);
  await writeFile(join(dir, "part.mjs"), "export const p = 2;\n");
  assert.equal((await load(file, { trusted: true })).p, 2);
});

test("trusted load: options.modules take precedence over Node resolution", async () => {
  const dir = await folder();
  const file = join(dir, "t.mjs");
  class Point {
    constructor(
      public x: number,
      public y: number,
    ) {}
  }
  const solve = () => 42;
  await writeFile(
    file,
    'import { Point as _Point, solve as _solve } from "geometry-lib";\n' +
      'import { join as _join } from "node:path";\n' +
      "export const p = new _Point(1, 2);\nexport const f = _solve;\n" +
      'export const joined = _join("a", "b");\n',
  );
  // "geometry-lib" does not exist on disk: without modules, Node cannot resolve it.
  await assert.rejects(load(file, { trusted: true }), /geometry-lib/);
  const r = await load(file, { trusted: true, modules: { "geometry-lib": { Point, solve } } });
  assert.ok(r.p instanceof Point);
  assert.equal(r.f, solve);
  assert.equal(r.joined, join("a", "b"));
  // A module given in options.modules replaces even a resolvable one.
  const fakeJoin = () => "fake";
  const r2 = await load(file, {
    trusted: true,
    modules: { "geometry-lib": { Point, solve }, "node:path": { join: fakeJoin } },
  });
  assert.equal(r2.joined, "fake");
});

test("interpretSource() reads text, naming the given file in errors", async () => {
  const r = await interpretSource('export const info = {};\ninfo["x_1"] = 1;\n', {
    file: "/x/index.mjs",
  });
  assert.deepEqual(r, { info: { x_1: 1 } });
  const error = await interpretSource("export const a = 1;\nexport const b = oops;\n", {
    file: "/x/index.mjs",
  }).catch((e: unknown) => e);
  assert.ok(error instanceof UnsafeArchiveError);
  assert.equal(error.file, "/x/index.mjs");
  assert.deepEqual([error.line, error.column], [2, 18]);
  assert.match(error.message, /unexpected `oops` \(expected a value\) at \/x\/index\.mjs:2:18/);
});

test("trusted load of a saved archive with external npy arrays (import.meta.url carries a query)", async () => {
  const { Archive } = await import("../../src/index.js");
  const dir = await folder();
  const archive = new Archive({ arrayThreshold: 2 });
  archive.insert({
    big: new Float64Array([1, 2, 3, 4]),
    nd: new NDArray(new Int16Array([1, 2, 3, 4]), [2, 2]),
  });
  const { entry } = await archive.save(dir, { name: "run1" });
  const trusted = await load(entry, { trusted: true });
  const safe = await load(entry);
  assert.deepEqual(Array.from(trusted.big as Float64Array), [1, 2, 3, 4]);
  assert.deepEqual(Array.from(safe.big as Float64Array), [1, 2, 3, 4]);
  assert.deepEqual((trusted.nd as NDArray).shape, [2, 2]);
  assert.deepEqual(Array.from((safe.nd as NDArray).data as Int16Array), [1, 2, 3, 4]);
});
