/**
 * Archives written to attack the loader. Each would write a marker file (or pollute a prototype)
 * if it were executed; safe loading must reject it with UnsafeArchiveError, leave no marker and
 * leave Object.prototype alone. For the code-running ones we also prove, in a child process, that
 * native import really does write the marker — so these tests would fail if load() ran the file.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ArchiveError, FormatError, UnsafeArchiveError } from "../../src/errors.js";
import { load, MAX_DEPTH } from "../../src/load/index.js";
import { runtimeLoadArrays } from "../../src/load/resolve.js";
import { archiveDir, interpret, writeArchive } from "./helpers.js";

const dir = await archiveDir();
let markers = 0;

function prototypesSnapshot(): string {
  return [Object.prototype, Array.prototype, Function.prototype]
    .map((p) => Reflect.ownKeys(p).map(String).sort().join(","))
    .join("|");
}
const cleanPrototypes = prototypesSnapshot();

/** Native run of the archive, then a consumer touching its exports (to trigger getters). */
function runNatively(file: string): void {
  const consumer =
    `const ns = await import(${JSON.stringify(`file://${file}`)});` +
    "for (const v of Object.values(ns)) { if (v && typeof v === 'object') { for (const k in v) void v[k]; String(v); } }";
  spawnSync(process.execPath, ["--input-type=module", "-e", consumer], { encoding: "utf8" });
}

/**
 * Writes `make(markerPath)` as an archive; checks that load() refuses it with UnsafeArchiveError
 * mentioning `expected`, without writing the marker or touching prototypes. With `proveNative`,
 * first checks that running it natively writes the marker.
 */
async function rejects(
  make: (marker: string) => string,
  expected: RegExp,
  proveNative = false,
): Promise<UnsafeArchiveError> {
  const marker = join(dir, `marker-${++markers}`);
  const text = make(marker);
  if (proveNative) {
    const probe = await writeArchive(text);
    runNatively(probe);
    assert.ok(
      existsSync(marker),
      "the attack archive must work natively, or this test proves nothing",
    );
    const { rm } = await import("node:fs/promises");
    await rm(marker);
  }
  const file = await writeArchive(text);
  const error = await load(file).then(
    () => assert.fail("load() accepted an unsafe archive"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof UnsafeArchiveError, `expected UnsafeArchiveError, got ${error}`);
  assert.match(error.message, expected);
  assert.equal(error.file, file);
  assert.ok(typeof error.line === "number" && typeof error.column === "number");
  assert.ok(!existsSync(marker), "marker written: the archive was executed");
  assert.equal(prototypesSnapshot(), cleanPrototypes);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  return error;
}

const fsWrite = (marker: string) =>
  `process.getBuiltinModule("fs").writeFileSync(${JSON.stringify(marker)}, "x")`;

test("dynamic import() is rejected with file:line:column and what was found", async () => {
  const err = await rejects(
    (m) =>
      `export const a = 1;\nexport const b = 2;\nexport const c = import("node:fs").then((fs) => fs.writeFileSync(${JSON.stringify(m)}, "x"));\n`,
    /unexpected `import\(` at .*:3:18/,
    true,
  );
  assert.equal(err.line, 3);
  assert.equal(err.column, 18);
  await rejects(
    (m) => `const fs = await import("node:fs");\nfs.writeFileSync(${JSON.stringify(m)}, "x");\n`,
    /await/,
    true,
  );
});

test("imports of node:* and unresolvable modules are rejected before anything runs", async () => {
  await rejects(
    (m) =>
      `import { execSync as _x } from "node:child_process";\n_x("touch ${m}");\nexport const a = 1;\n`,
    /cannot resolve import `execSync` from "node:child_process"/,
    true,
  );
  await rejects(() => 'import { Point as _P } from "geometry-lib";\n', /cannot resolve import/);
  await rejects(() => 'import fs from "node:fs";\n', /only named imports/);
  await rejects(() => 'import * as fs from "node:fs";\n', /only named imports/);
});

test("Function, eval, constructor.constructor, globalThis, this, process", async () => {
  await rejects(
    (m) => `export const a = Function(${JSON.stringify(`${fsWrite(m)}`)})();\n`,
    /unexpected `Function\(`/,
    true,
  );
  await rejects(
    (m) => `export const a = new Function(${JSON.stringify(fsWrite(m))})();\n`,
    /`new Function` is not allowed/,
    true,
  );
  await rejects(
    (m) => `export const a = {}.constructor.constructor(${JSON.stringify(fsWrite(m))})();\n`,
    /member access `\.constructor`/,
    true,
  );
  await rejects(
    (m) =>
      `const _g0 = [];\nexport const a = _g0.constructor.constructor(${JSON.stringify(fsWrite(m))})();\n`,
    /member access `\.constructor`/,
    true,
  );
  await rejects(
    (m) => `export const a = Math.max.constructor(${JSON.stringify(fsWrite(m))})();\n`,
    /`Math\.max\.constructor` is not an allowed global/,
    true,
  );
  await rejects(
    (m) => `export const a = eval(${JSON.stringify(fsWrite(m))});\n`,
    /unexpected `eval\(`/,
    true,
  );
  await rejects(
    (m) => `export const a = globalThis.${fsWrite(m)};\n`,
    /unexpected `globalThis\.`/,
    true,
  );
  await rejects((m) => `export const a = ${fsWrite(m)};\n`, /unexpected `process\.`/, true);
  await rejects(() => "export const a = this;\n", /unexpected `this`/);
  await rejects(() => "export const a = Function;\n", /unexpected `Function`/);
  await rejects(
    () => "export const a = Object.prototype;\n",
    /`Object\.prototype` is not an allowed global/,
  );
});

test("a factory call cannot reach the constructor of an imported class", async () => {
  class Point {}
  const modules = { geo: { Point } };
  for (const member of ["constructor", "call", "apply", "bind", "__proto__", "prototype"]) {
    const error = await interpret(
      `import { Point as _P } from "geo";\nexport const a = _P.${member}("return 1");\n`,
      modules,
    ).catch((e: unknown) => e);
    assert.ok(error instanceof UnsafeArchiveError, member);
  }
  const called = await interpret(
    `import { Point as _P } from "geo";\nexport const a = _P("x");\n`,
    modules,
  ).catch((e: unknown) => e);
  assert.ok(called instanceof UnsafeArchiveError);
});

test("getters, setters and methods in object literals", async () => {
  await rejects(
    (m) => `export const a = { get x() { ${fsWrite(m)}; return 1; } };\n`,
    /getters, setters and methods are not allowed/,
    true,
  );
  await rejects(
    (m) => `export const a = { set x(v) { ${fsWrite(m)}; } };\na.x = 1;\n`,
    /getters, setters and methods are not allowed/,
    true,
  );
  await rejects(
    (m) => `export const a = { toString() { ${fsWrite(m)}; return ""; } };\n`,
    /getters, setters and methods are not allowed/,
    true,
  );
  await rejects(() => "export const a = { async x() {} };\n", /getters, setters and methods/);
  await rejects(() => "export const a = { *x() {} };\n", /generator methods/);
  await rejects(() => "const b = 1;\nexport const a = { b };\n", /shorthand property/);
  await rejects(() => "export const a = () => 1;\n", /unexpected `\(`/);
  await rejects(() => "export const a = function () {};\n", /unexpected `function`/);
  await rejects(() => "export const a = class {};\n", /unexpected `class`/);
});

test("template literals and tagged templates", async () => {
  await rejects(
    (m) => `export const a = Function\`${fsWrite(m)}\`();\n`,
    /unexpected `Function`/,
    true,
  );
  await rejects(() => "export const a = Math.max`1`;\n", /template literals are not allowed/);
  await rejects(() => "export const a = `x`;\n", /template literals are not allowed/);
});

test("__proto__ pollution in literals, patches and Object.assign", async () => {
  await rejects(
    () => "export const a = { __proto__: { polluted: 1 } };\n",
    /`__proto__` may only be set to `null`/,
  );
  await rejects(
    () => 'export const a = { "__proto__": [] };\n',
    /`__proto__` may only be set to `null`/,
  );
  await rejects(
    () => "export const a = { __proto__: null, __proto__: null };\n",
    /duplicate `__proto__`/,
  );
  await rejects(() => "const _g0 = {};\n_g0.__proto__.polluted = 1;\n", /unexpected `\.`/);
  await rejects(
    () => 'const _g0 = {};\n_g0["__proto__"] = { polluted: 1 };\n',
    /would replace a prototype/,
  );
  await rejects(
    () => 'export const e = Object.assign(new Error("m"), { ["__proto__"]: { polluted: 1 } });\n',
    /`__proto__` key is not allowed/,
  );
  await rejects(() => 'export const a = { ["__proto__"]: 1, [`x`]: 2 };\n', /template literals/);
  await rejects(
    () => "const k = 1;\nexport const a = { [k]: 2 };\n",
    /computed keys must be literals/,
  );
  // The allowed forms make own properties and never touch Object.prototype.
  const ok = await interpret('export const a = { ["__proto__"]: { polluted: 1 } };\n');
  assert.ok(Object.hasOwn(ok.a as object, "__proto__"));
  assert.equal(Object.getPrototypeOf(ok.a), Object.prototype);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test("assignments, members and calls outside the patch forms", async () => {
  await rejects(() => "const _g0 = {};\n_g0.a.b = 1;\n", /unexpected `\.`/);
  await rejects(() => "const _g0 = {};\n_g0.a += 1;\n", /unexpected/);
  await rejects(() => "export const a = Math.sin;\na.x = 1;\n", /cannot be patched/);
  await rejects(() => "const _g0 = {};\nexport const a = _g0.x;\n", /member access `\.x`/);
  await rejects(() => "export const a = Math.max(1, 2);\n", /unexpected `\(`/);
  await rejects(
    () => "export const a = Object.defineProperty({}, 'x', {});\n",
    /calling `Object\.defineProperty\(\.\.\.\)`/,
  );
  await rejects(() => 'export const a = Symbol("x");\n', /calling `Symbol\(\.\.\.\)`/);
  await rejects(() => "export const a = new Proxy({}, {});\n", /`new Proxy` is not allowed/);
  await rejects(() => "export const a = new Promise(1);\n", /`new Promise` is not allowed/);
  await rejects(() => "export const a = new WeakMap();\n", /`new WeakMap` is not allowed/);
  await rejects(() => "export const a = [...[1]];\n", /spread is not allowed/);
  await rejects(() => "export const a = Object.assign(Math.sin, { x: 1 });\n", /needs a new value/);
  await rejects(() => "let a = 1;\n", /unexpected `let`/);
  await rejects(() => "export const a = 1, b = 2;\n", /unexpected `,`/);
  await rejects(() => "export const Map = 1;\n", /`Map` cannot be bound/);
  await rejects(() => "export const undefined = 1;\n", /`undefined` cannot be bound/);
  await rejects(() => "export const a = 1;\nexport const a = 2;\n", /bound twice/);
  await rejects(() => "export const a = 1 + 2;\n", /unexpected `\+`/);
  await rejects(() => "export const a = /x/;\n", /regular expression literals/);
  await rejects(() => "export const a = 1;\nexport { nope as b };\n", /`nope` is not bound/);
  await rejects(() => "export const a = 1;\nexport { a as a };\n", /exported twice/);
});

test("sizes are bounded by the file: no huge buffers, arrays or BigInts", async () => {
  await rejects(() => "export const a = new ArrayBuffer(1e12);\n", /takes a byte length up to/);
  await rejects(() => "export const a = new Float64Array(1e10);\n", /bounded length/);
  await rejects(() => "const _g0 = [];\n_g0[1000000000] = 1;\n", /index up to their length/);
  await rejects(() => "const _g0 = [];\n_g0.length = 1e9;\n", /index up to their length/);
  await rejects(() => `export const a = ${"9".repeat(1_000_001)}n;\n`, /BigInt literal too long/);
  // Copies of one big value, each a few characters of text, are charged to the same budget.
  await rejects(
    () =>
      `const _g0 = new Float64Array(100000);\nexport const a = [${"new Float64Array(_g0), ".repeat(2000)}];\n`,
    /work budget/,
  );
  await rejects(
    () =>
      `const _g0 = [${"0,".repeat(100_000)}];\nexport const a = [${"new Set(_g0), ".repeat(100_000)}];\n`,
    /work budget/,
  );
  await rejects(
    () => `export const a = [${"new ArrayBuffer(1000000), ".repeat(100)}];\n`,
    /byte length up to/,
  );
  const small = await interpret("export const a = new ArrayBuffer(1024);\n");
  assert.equal((small.a as ArrayBuffer).byteLength, 1024);
});

test(`nesting: ${MAX_DEPTH} levels load, 10k and 100k levels are refused without a stack overflow`, async () => {
  const ok = await interpret(
    `export const a = ${"[".repeat(MAX_DEPTH)}${"]".repeat(MAX_DEPTH)};\n`,
  );
  let depth = 0;
  for (let v = ok.a as unknown[]; v.length > 0; v = v[0] as unknown[]) depth++;
  assert.equal(depth, MAX_DEPTH - 1);
  for (const n of [10_000, 100_000]) {
    await rejects(
      () => `export const a = ${"[".repeat(n)}${"]".repeat(n)};\n`,
      /nesting deeper than/,
    );
    await rejects(
      () => `export const a = ${"{a:".repeat(n)}1${"}".repeat(n)};\n`,
      /nesting deeper than/,
    );
    await rejects(
      () => `export const a = ${"new Set([".repeat(n)}${"])".repeat(n)};\n`,
      /nesting deeper than/,
    );
  }
});

test("external array locations must stay inside the archive folder", async (t) => {
  if (!runtimeLoadArrays()) {
    t.skip("this build's runtime has no loadArrays yet (branch arrays)");
    return;
  }
  for (const location of ["../outside", "./a/../../b", "/etc", "file:///etc"]) {
    await rejects(
      () =>
        'import { loadArrays as _loadArrays } from "./_persist_runtime.v1.mjs";\n' +
        `const _arrays = await _loadArrays(import.meta.url, ${JSON.stringify(location)}, "npy", ["array_0"]);\n`,
      /must be a relative path inside the archive folder/,
    );
  }
});

test("a function export named `then` is refused: awaiting load() would call it", async () => {
  await rejects(() => "export const then = Array.from;\n", /export named `then`/);
  const plain = await interpret("export const then = 1;\n");
  assert.equal(plain.then, 1);
});

test("values a built-in refuses become FormatError, an ArchiveError", async () => {
  for (const text of ["export const a = new Map([1]);\n", 'export const a = new RegExp("(");\n']) {
    const error = await interpret(text).catch((e: unknown) => e);
    assert.ok(error instanceof FormatError, String(error));
    assert.ok(error instanceof ArchiveError);
    assert.match(error.message, /failed: .* at .*inline\.mjs:1:18/);
  }
});
