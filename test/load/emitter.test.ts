/**
 * Round trips through the real emitter: Archive.toString() → interpretSource() (and save() →
 * load()) must rebuild the same graph: -0, NaN, holes, shared references, cycles, Map/Set patches,
 * null-prototype objects, own `__proto__` keys, classes via register() and options.modules.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { Archivable, Archive, load, NDArray, persist, register } from "../../src/index.js";
import { interpretSource } from "../../src/load/index.js";
import { assertSameGraph } from "../helpers/same-graph.js";
import { cyclicSample, pooledRows } from "../helpers/samples.js";
import { tempDir } from "../helpers/tmp.js";
import { interpret } from "./helpers.js";

async function roundTrip(
  items: Record<string, unknown>,
  modules?: Record<string, Record<string, unknown>>,
) {
  const archive = new Archive();
  archive.insert(items);
  const loaded = await interpret(archive.toString(), modules);
  for (const [name, value] of Object.entries(items)) assertSameGraph(loaded[name], value, name);
  return loaded;
}

test("emitter output: primitives, strings, symbols", async () => {
  const r = await roundTrip({
    negZero: -0,
    nan: Number.NaN,
    inf: [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 5e-324, 1.7976931348623157e308],
    big: [123456789012345678901234567890n, -5n],
    strs: ['q " \\ \n \t \0', "</script>", "a\u2028b\u2029c", "x\ud800y", "\udc00", "😀", ""],
    misc: [undefined, null, true, false],
    syms: [Symbol.for("my.key"), Symbol.asyncIterator, Symbol.iterator],
  });
  assert.ok(Object.is(r.negZero, -0));
});

test("emitter output: holes, null prototypes, __proto__ own keys", async () => {
  const nullProto = Object.assign(Object.create(null), { a: 1, "b-c": 2, 3: "three" });
  const protoKey = JSON.parse('{"__proto__": {"polluted": true}, "ok": 1}');
  const nullProtoKey = Object.create(null);
  Reflect.set(nullProtoKey, "__proto__", 7);
  // biome-ignore lint/suspicious/noSparseArray: holes are the point
  const holes = [1, , 3, , ,];
  await roundTrip({
    holes,
    nullProto,
    protoKey,
    nullProtoKey,
    nested: { a: { b: [1, [2, { c: 3 }]] }, 10: "t" },
  });
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test("emitter output: Map, Set, Date, RegExp, errors, boxes, global functions", async () => {
  const re = /a(b)?c/gimsuy;
  re.lastIndex = 3;
  await roundTrip({
    map: new Map<unknown, unknown>([
      ["a", 1],
      [{ k: true }, new Set([1, "2", 3n])],
    ]),
    set: new Set([1, "a", null, undefined, Number.NaN, -0]),
    dates: [new Date(Date.UTC(2024, 1, 29, 12, 34, 56, 789)), new Date(-8.64e15)],
    re,
    dflag: /(?<y>\d+)/d,
    errs: [
      new TypeError("bad", { cause: new Error("root") }),
      Object.assign(new RangeError("r"), { code: "E_RANGE", detail: { n: 3 } }),
      new AggregateError([new URIError("u")], "many", { cause: "c" }),
      new Error(),
    ],
    boxes: [
      new Number(-0),
      new String("s"),
      new Boolean(false),
      Object(7n),
      Object(Symbol.for("b")),
    ],
    fns: [Math.sin, Float64Array, JSON.parse, parseFloat],
  });
  const invalid = await interpret(
    (() => {
      const a = new Archive();
      a.insert({ d: new Date(Number.NaN) });
      return a.toString();
    })(),
  );
  assert.ok(invalid.d instanceof Date && Number.isNaN(invalid.d.getTime()));
});

test("emitter output: typed arrays, shared buffers, DataView, NDArray", async () => {
  const buf = new ArrayBuffer(32);
  new Float64Array(buf).set([1.5, -0, Number.NaN, 4]);
  const r = await roundTrip({
    all: [
      new Int8Array([-128, 127]),
      new Uint8ClampedArray([0, 255]),
      new BigInt64Array([-(2n ** 63n)]),
      new BigUint64Array([2n ** 64n - 1n]),
      new Float32Array([0.1, -0, Number.NaN]),
      new Float64Array(0),
    ],
    views: {
      a: new Float64Array(buf, 8, 2),
      b: new Uint8Array(buf, 0, 16),
      dv: new DataView(buf, 4, 12),
    },
    buf,
    nd: new NDArray(new Float64Array([1, 2, 3, 4, 5, 6]), [2, 3], { order: "F" }),
    complex: new NDArray(new Float64Array([1, 2, 3, 4]), [2], { dtype: "<c16" }),
  });
  const views = r.views as { a: Float64Array; b: Uint8Array };
  assert.equal(views.a.buffer, views.b.buffer);
  assert.equal(views.a.buffer, r.buf);
});

test("emitter output: shared references and cycles through objects, arrays, Maps and Sets", async () => {
  const r = await roundTrip(cyclicSample());
  assert.equal(r.shared, r.again);
  assert.deepEqual(Object.keys(r.selfObj as object), ["self", "later"]);
});

test("emitter output: a big graph with many shared nodes", async () => {
  await roundTrip(pooledRows());
});

test("classes resolve through register() without options.modules, and through options.modules", async () => {
  class Vector3 {
    constructor(
      public x: number,
      public y: number,
      public z: number,
    ) {}
  }
  register(Vector3, { module: "vec-lib-loader-test", args: (v) => [v.x, v.y, v.z] });
  const v = new Vector3(1, 2, 3);
  const loaded = await roundTrip({ v, list: [v, v] });
  assert.ok(loaded.v instanceof Vector3);
  assert.equal((loaded.list as unknown[])[0], loaded.v);

  class Run extends Archivable {
    static [persist.module] = "my-sim-loader-test";
    n = 0;
    constructor(opts: { n: number }) {
      super();
      Object.assign(this, opts);
    }
  }
  const archive = new Archive();
  archive.insert({ run: new Run({ n: 10 }) });
  await assert.rejects(
    interpret(archive.toString()),
    /cannot resolve import `Run` from "my-sim-loader-test"/,
  );
  await roundTrip({ run: new Run({ n: 10 }) }, { "my-sim-loader-test": { Run } });
});

test("saved archives with external arrays in npy, npz and hdf5 load safely and equal native import", async () => {
  for (const dataFormat of ["npy", "npz", "hdf5"] as const) {
    for (const pkg of [true, false]) {
      const dir = await tempDir();
      const archive = new Archive({ arrayThreshold: 3 });
      const items = {
        big: new Float64Array([1, 2, 3, 4, 5]),
        nd: new NDArray(new Int32Array([1, 2, 3, 4, 5, 6]), [2, 3]),
        small: new Float64Array([1, 2]),
        nested: { again: new Float32Array([0.5, 1.5, 2.5, 3.5]) },
      };
      archive.insert(items);
      const { entry } = await archive.save(dir, { name: "run1", dataFormat, package: pkg });
      const safe = await load(pkg ? `${dir}/run1` : entry);
      for (const [name, value] of Object.entries(items)) assertSameGraph(safe[name], value, name);
      if (dataFormat !== "hdf5") {
        const native = (await import(pathToFileURL(entry).href)) as Record<string, unknown>;
        for (const name of Object.keys(items)) assertSameGraph(safe[name], native[name], name);
      }
    }
  }
});

test("single-item archives: default export", async () => {
  const dir = await tempDir();
  const archive = new Archive({ singleItem: true });
  const item = { a: [1, 2], self: undefined as unknown };
  item.self = item;
  archive.insert({ item });
  const { entry } = await archive.save(dir);
  const r = await load(entry);
  assertSameGraph(r.item, item, "item");
  assert.equal(r.default, r.item);
  const again = await interpretSource(archive.toString(), { file: entry });
  assert.equal(again.default, again.item);
});

test("every global function path the emitter writes resolves to the same function", async () => {
  const { globalFunctionPaths } = await import("../../src/values/globals.js");
  const paths = [...globalFunctionPaths()];
  assert.ok(paths.length > 100);
  const text = `export const fns = [${paths.map(([, path]) => path).join(", ")}];\n`;
  const loaded = (await interpret(text)).fns as unknown[];
  for (const [i, [fn, path]] of paths.entries()) assert.equal(loaded[i], fn, path);
});

test("emitter output nested 1,000 levels deep (a linked list) loads", async () => {
  let list: unknown = null;
  for (let i = 0; i < 1000; i++) list = { v: i, next: list };
  await roundTrip({ list });
});
