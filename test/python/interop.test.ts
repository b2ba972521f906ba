/**
 * Cross-language fixtures: archives and DataSets written by TypeScript are read by Python's
 * persist_archive, and archives written by Python are imported by Node (natively, with no
 * library) and read by load(). Both sides describe what they see in the same neutral, tagged JSON
 * (test/python/neutral.ts, python/tests/neutral.py), so every value kind, shared references and
 * cycles are compared exactly.
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { Archive, DataSet, load, NDArray, persist } from "../../src/index.js";
import { tempDir } from "../helpers/tmp.js";
import { canonical, neutralExports } from "./neutral.js";
import { python, requirePythonModules } from "./python.js";

class Point {
  static [persist.module] = "geometry-lib";
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
  [persist.rep]() {
    return [this.x, this.y];
  }
}

/** Any class named Point (ours, or the stand-in package a native import resolves). */
const pointInfo = (v: object) =>
  v.constructor?.name === "Point"
    ? {
        module: "geometry-lib",
        name: "Point",
        factory: null,
        args: [(v as Point).x, (v as Point).y],
      }
    : undefined;

/** One value of every kind the archive language has (plus shared references and cycles). */
function everyKind(): Record<string, unknown> {
  const shared = { name: "shared", list: [1, 2] };
  const cyc: Record<string, unknown> = { a: 1 };
  cyc.self = cyc;
  const listCycle: unknown[] = [1];
  listCycle.push(listCycle);
  const mapCycle = new Map<unknown, unknown>([["k", 1]]);
  mapCycle.set("self", mapCycle);
  const buffer = new ArrayBuffer(16);
  let deep: unknown[] = [];
  const deepRoot = deep;
  for (let i = 0; i < 1000; i++) {
    const next: unknown[] = [];
    deep.push(next);
    deep = next;
  }
  const re = /a+b/gi;
  re.lastIndex = 3;
  return {
    nums: [0, -0, 1.5, -2, 1e21, 1e-7, 2 ** 53, Number.NaN, Infinity, -Infinity, 0.1, 123456.789],
    strs: [
      "",
      "plain",
      'quote"back\\slash',
      "line\nbreak\ttab",
      "\u2028\u2029",
      "</script>",
      "\ud800",
      "😀",
      "é",
      "\0",
    ],
    bigs: [0n, 123n, -(2n ** 70n)],
    // biome-ignore lint/suspicious/noSparseArray: a hole is one of the value kinds under test
    misc: [null, undefined, true, false, , 5],
    sparse: Object.assign(new Array(1000), { 7: "x" }),
    obj: { a: 1, "b-c": 2, 3: "three", ["__proto__"]: 4 },
    nullProto: Object.assign(Object.create(null), { a: 1, b: [null] }),
    shared1: shared,
    shared2: { s: shared, again: shared },
    cyc,
    listCycle,
    mapPrim: new Map<unknown, unknown>([
      [1, "a"],
      ["k", shared],
      [null, 2],
      [5n, "big"],
    ]),
    mapObj: new Map<unknown, unknown>([
      [{ k: 1 }, "v"],
      [shared, shared],
    ]),
    mapCollide: new Map<unknown, unknown>([
      [1, "one"],
      [true, "true"],
    ]),
    mapCycle,
    setPrim: new Set([1, "x", null, 2.5]),
    setObj: new Set<unknown>([shared, [1]]),
    date: new Date("2020-01-02T03:04:05.006Z"),
    badDate: new Date(Number.NaN),
    farDate: new Date(-8.64e15),
    re,
    re2: /x\/y/,
    err: Object.assign(new TypeError("bad", { cause: shared }), { code: "E1" }),
    agg: new AggregateError([new Error("x")], "m"),
    plainErr: new RangeError("r"),
    boxed: [new Number(1), new String("s"), new Boolean(false), Object(1n)],
    syms: [Symbol.for("k"), Symbol.iterator],
    buf: new Uint8Array([1, 2, 3]).buffer,
    views: [new Float64Array(buffer, 8, 1), new Uint8Array(buffer), new DataView(buffer, 2, 4)],
    typed: [
      new Int8Array([-1, 2]),
      new Uint8Array([255]),
      new Uint8ClampedArray([7]),
      new Int16Array([-300]),
      new Uint16Array([65535]),
      new Int32Array([-70000]),
      new Uint32Array([4000000000]),
      new Float32Array([1.5, Number.NaN]),
      new Float64Array([0.1, -0, Infinity]),
      new BigInt64Array([-1n, 2n ** 62n]),
      new BigUint64Array([2n ** 63n]),
    ],
    nds: [
      new NDArray(new Float64Array([1, 2, 3, 4, 5, 6]), [2, 3], { order: "F" }),
      new NDArray(new Float64Array([1, 2, 3, 4]), [2], { dtype: "<c16" }),
      new NDArray(new Float32Array([1, -2]), [1], { dtype: "<c8" }),
      new NDArray(new Uint8Array([1, 0, 1]), [3], { dtype: "|b1" }),
      new NDArray(new Uint16Array([0x3c00, 0xc000]), [2], { dtype: "<f2" }),
      new NDArray(new BigInt64Array([1n, -2n, 3n, 4n]), [2, 2]),
      new NDArray(
        new Int32Array(24).map((_, i) => i),
        [2, 3, 4],
        { order: "F" },
      ),
    ],
    bigTyped: new Float64Array(500).map((_, i) => i / 3),
    bigND: new NDArray(
      new Int16Array(600).map((_, i) => i - 300),
      [20, 30],
      { order: "F" },
    ),
    bigBytes: new Uint8Array(300).map((_, i) => i % 256).buffer,
    bigClamped: new Uint8ClampedArray(200).fill(9),
    bigComplex: new NDArray(
      new Float64Array(400).map((_, i) => i),
      [200],
      { dtype: "<c16" },
    ),
    fn: Math.sin,
    point: new Point(1, 2),
    deep: deepRoot,
  };
}

for (const [format, asPackage] of [
  ["npy", true],
  ["npz", false],
  ["hdf5", false],
] as const) {
  test(`Python reads a TypeScript archive of every value kind exactly (${format}, ${asPackage ? "package" : "module"} layout)`, async (t) => {
    if (!requirePythonModules(t, format === "hdf5" ? ["numpy", "h5py"] : ["numpy"])) return;
    const dir = await tempDir();
    const values = everyKind();
    const archive = new Archive({ arrayThreshold: 100 });
    archive.insert(values);
    const { entry } = await archive.save(dir, {
      name: "every",
      package: asPackage,
      dataFormat: format,
    });
    const expected = neutralExports(sortedKeys(values), pointInfo);
    const target = asPackage ? join(dir, "every") : entry;
    for (const lazy of [false, true]) {
      const got = JSON.parse(
        python(["python/tests/neutral.py", target, ...(lazy ? ["--lazy"] : [])]),
      );
      assertSameExports(got, expected, `lazy=${lazy}`);
    }
  });
}

test("Python reads a TypeScript DataSet: keys, infos, items", async (t) => {
  if (!requirePythonModules(t, ["numpy"])) return;
  const dir = join(await tempDir(), "sweep.ds");
  const ds = await DataSet.open(dir, { mode: "w" });
  const items: unknown[] = [];
  const infos: unknown[] = [];
  for (let i = 0; i < 5; i++) {
    const item = { i, data: new Float64Array(150).fill(i), tags: new Set(["a", `t${i}`]) };
    const info = { i, when: new Date(Date.UTC(2020, 0, i + 1)), neg: -0, big: BigInt(i) };
    items.push(item);
    infos.push(info);
    await ds.insert(item, { info });
  }
  await ds.set("named", "value");
  await ds.delete("x_1");
  const script = `
import json, sys
sys.path.insert(0, "python/tests")
from neutral import Neutral
from persist_archive import DataSet
ds = DataSet(sys.argv[1])
out = {"keys": ds.keys(), "len": len(ds), "iter": list(ds), "contains": ["x_1" in ds, "x_0" in ds]}
n = Neutral()
out["infos"] = [[k, n.of(v)] for k, v in ds.infos().items()]
out["info"] = Neutral().of(ds.info("x_2"))
out["items"] = [[k, Neutral().of(ds[k])] for k in ds.keys()]
out["lazy"] = Neutral().of(ds.get("x_3", lazy=True))
print(json.dumps(out))
`;
  const got = JSON.parse(python(["-c", script, dir]));
  const keys = ["x_0", "x_2", "x_3", "x_4", "named"];
  assert.deepEqual(got.keys, keys);
  assert.equal(got.len, 5);
  assert.deepEqual(got.iter, keys);
  assert.deepEqual(got.contains, [false, true]);
  const expectedInfos = neutralExports(
    Object.fromEntries(keys.map((k) => [k, k === "named" ? null : infos[Number(k.slice(2))]])),
  );
  assert.deepEqual(got.infos, expectedInfos);
  assert.deepEqual(
    got.items,
    keys.map((k) => [
      k,
      (
        neutralExports({ v: k === "named" ? "value" : items[Number(k.slice(2))] }) as [
          string,
          unknown,
        ][]
      )[0]![1],
    ]),
  );
  assert.deepEqual(got.lazy, (neutralExports({ v: items[3] }) as [string, unknown][])[0]![1]);
});

const PYTHON_VALUES = `
import datetime, json, math, sys
import numpy as np
sys.path.insert(0, "python/tests")
from neutral import neutral_exports
from persist_archive import (save, HOLE, UNDEFINED, JSBigInt, JSBoxed, JSError, JSMap, JSRegExp, JSSet,
    JSSymbol, JSFunction, JSDate, Instance)
shared = {"name": "shared", "list": [1, 2]}
cyc = {"a": 1}; cyc["self"] = cyc
lc = [1]; lc.append(lc)
deep = []; cur = deep
for _ in range(1000):
    nxt = []; cur.append(nxt); cur = nxt
mc = {1: "a"}; mc[2] = mc
values = dict(
    nums=[0, -0.0, 1.5, -2, 1e21, 1e-7, 2**53, math.nan, math.inf, -math.inf, 0.1, 2**60],
    strs=["", "plain", 'quote"back\\\\slash', "line\\nbreak", "\\u2028\\u2029", "</script>", "\\ud800", "\\U0001F600", "\\u00e9", "\\0"],
    big=JSBigInt(5), none=None, undef=UNDEFINED, flags=[True, False], holes=[1, HOLE, 3, HOLE],
    obj={"a": 1, "b-c": 2, "__proto__": 4, "nested": {"x": [1, {"y": None}]}},
    intkeys={1: "one", 2.5: "x", "s": 3}, mixed=JSMap([({"k": 1}, "v"), (shared, shared)]),
    shared1=shared, shared2={"s": shared, "again": shared}, cyc=cyc, lc=lc, mc=mc,
    tup=(1, "two", (3,)), st={1, "x", 2.5}, jsset=JSSet([shared, [1]]),
    date=datetime.datetime(2020, 1, 2, 3, 4, 5, 6000, tzinfo=datetime.timezone.utc),
    date2=datetime.datetime(2021, 6, 1, 12, tzinfo=datetime.timezone(datetime.timedelta(hours=2))),
    bad=JSDate(math.nan), raw=b"abc", raw2=bytearray(b"\\x00\\xff"),
    re=JSRegExp("a+b", "gi", 3), err=JSError("TypeError", "bad", cause=shared, props={"code": "E1"}),
    agg=JSError("AggregateError", "m", errors=[JSError("Error", "x")]),
    boxed=[JSBoxed(1), JSBoxed("s"), JSBoxed(False), JSBoxed(JSBigInt(1))],
    syms=[JSSymbol("k"), JSSymbol("iterator", True)], fn=JSFunction("Math.sin"),
    point=Instance("geometry-lib", "Point", [1, 2]),
    f8=np.array([0.1, -0.0, np.inf]), i4f=np.arange(6, dtype=np.int32).reshape(2, 3, order="F"),
    c16=np.array([1 + 2j, 3 - 4j]), c8=np.array([1 - 2j], dtype=np.complex64), b1=np.array([True, False]),
    f2=np.array([1.0, -2.0], dtype=np.float16), i8=np.array([[1, -2], [3, 2**62]], dtype=np.int64),
    u8=np.array([2**63], dtype=np.uint64), u1=np.array([255], dtype=np.uint8), i1=np.array([-1], dtype=np.int8),
    big_f8=np.arange(500) / 3, big_f=np.asfortranarray(np.arange(600, dtype=np.int16).reshape(20, 30) - 300),
    big_raw=bytes(range(256)) * 2, big_c=np.arange(200) * (1 + 1j),
    scalars=[np.float64(1.5), np.int64(7), np.bool_(True), np.float32(0.5)],
    deep=deep,
)
save(sys.argv[1], **values)
print(json.dumps(neutral_exports(dict(sorted(values.items()))), ensure_ascii=True))
`;

test("Node imports a Python-written archive natively, and load() reads it, exactly as Python wrote it", async (t) => {
  if (!requirePythonModules(t, ["numpy"])) return;
  const dir = await tempDir();
  // The package the archive imports its class from, where Node resolves it from the archive.
  const lib = join(dir, "node_modules", "geometry-lib");
  mkdirSync(lib, { recursive: true });
  writeFileSync(
    join(lib, "package.json"),
    '{ "name": "geometry-lib", "type": "module", "exports": "./index.js" }\n',
  );
  writeFileSync(
    join(lib, "index.js"),
    "export class Point { constructor(x, y) { this.x = x; this.y = y; } }\n",
  );
  const target = join(dir, "frompy");
  const expected = JSON.parse(python(["-c", PYTHON_VALUES, target]));
  const native = await import(pathToFileURL(join(target, "index.mjs")).href);
  assertSameExports(
    neutralExports(sortedKeys({ ...native }), pointInfo),
    expected,
    "native import",
  );
  const safe = await load(target, { modules: { "geometry-lib": { Point } } });
  assertSameExports(neutralExports(sortedKeys(safe), pointInfo), expected, "load()");
  // And back: Python reads what it wrote.
  assertSameExports(
    JSON.parse(python(["python/tests/neutral.py", target])),
    expected,
    "Python load()",
  );
});

test("a Python-written DataSet item and info line are read by Node's DataSet and native import", async (t) => {
  if (!requirePythonModules(t, ["numpy"])) return;
  const dir = join(await tempDir(), "py.ds");
  await (await DataSet.open(dir, { mode: "w" })).insert({ from: "node" }, { info: { n: 0 } });
  python([
    "-c",
    `
import sys, datetime, numpy as np
from persist_archive import DataSet
ds = DataSet(sys.argv[1], mode="w")
print(ds.insert({"from": "python", "x": np.arange(300.0)}, info={"n": 1, "when": datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc), "s": {1, 2}}))
print(ds.insert([1, 2, 3]))
`,
    dir,
  ]);
  const ds = await DataSet.open(dir);
  assert.deepEqual(await ds.keys(), ["x_0", "x_1", "x_2"]);
  assert.deepEqual(await ds.info("x_1"), {
    n: 1,
    when: new Date("2020-01-01T00:00:00.000Z"),
    s: new Set([1, 2]),
  });
  assert.equal(await ds.info("x_2"), null);
  const item = (await ds.get("x_1")) as { from: string; x: NDArray };
  assert.equal(item.from, "python");
  assert.deepEqual([...item.x.data.slice(0, 3)], [0, 1, 2]);
  assert.deepEqual(await ds.get("x_2"), [1, 2, 3]);
  const native = await import(pathToFileURL(join(dir, "x_1.mjs")).href);
  assert.equal((native.default.x as NDArray).size, 300);
  writeFileSync(join(dir, "check.mjs"), 'export { info } from "./index.mjs";\n');
  const { info } = await import(pathToFileURL(join(dir, "check.mjs")).href);
  assert.deepEqual(Object.keys(info), ["x_0", "x_1", "x_2"]);
});

/** Export by export, so a mismatch names the export it is in. */
function assertSameExports(got: unknown, expected: unknown, what: string): void {
  const g = new Map(got as [string, unknown][]);
  const e = new Map(expected as [string, unknown][]);
  assert.deepEqual([...g.keys()], [...e.keys()], `${what}: export names`);
  for (const [name, value] of e) {
    // Canonical text first: deepEqual overflows the stack on the 1000-level export.
    if (canonical(g.get(name) as never) !== canonical(value as never)) {
      assert.deepEqual(g.get(name), value, `${what}: export ${name}`);
    }
  }
}

function sortedKeys(values: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.keys(values)
      .sort()
      .map((k) => [k, values[k]]),
  );
}
