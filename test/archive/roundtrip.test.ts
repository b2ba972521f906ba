/**
 * Every built-in value kind survives save → native import() from a temp dir outside this repo
 * (so the archive cannot resolve persist-archive: it needs no library).
 */
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { Archive, load, NDArray, persist, UnsupportedValueError } from "../../src/index.js";
import { assertSameGraph } from "../helpers/same-graph.js";
import { cyclicSample, pooledRows } from "../helpers/samples.js";
import { tempDir } from "../helpers/tmp.js";

async function roundTrip(items: Record<string, unknown>, opts: { package?: boolean } = {}) {
  const archive = new Archive();
  archive.insert(items);
  const dir = await tempDir();
  const { entry } = await archive.save(dir, { name: "run1", package: opts.package ?? true });
  const text = await readFile(entry, "utf8");
  assert.equal(text, archive.toString(), "toString() is exactly the saved entry module");
  const mod = (await import(pathToFileURL(entry).href)) as Record<string, unknown>;
  for (const [name, value] of Object.entries(items)) assertSameGraph(mod[name], value, name);
  return { mod, text };
}

const primitives = {
  int: 42,
  float: 0.1,
  negZero: -0,
  nan: Number.NaN,
  inf: Number.POSITIVE_INFINITY,
  ninf: Number.NEGATIVE_INFINITY,
  tiny: 5e-324,
  huge: 1.7976931348623157e308,
  undef: undefined,
  nul: null,
  yes: true,
  no: false,
  big: 123456789012345678901234567890n,
  negBig: -5n,
  str: "hello",
  escapes: 'quote " back \\ nl \n tab \t nul \0',
  script: "</script><script>alert(1)</script>",
  separators: "a\u2028b\u2029c",
  loneHigh: "x\ud800y",
  loneLow: "\udc00",
  pair: "😀",
  emptyStr: "",
  regSym: Symbol.for("my.key"),
  wellKnown: Symbol.asyncIterator,
};

test("primitives, including -0, NaN, BigInt, lone surrogates, </script> and U+2028", async () => {
  const { text } = await roundTrip(primitives);
  assert.ok(!text.includes("</script>"), "</script> is escaped");
  assert.ok(!text.includes("\u2028"), "U+2028 is escaped");
});

test("arrays with holes, nested objects, null-prototype objects and __proto__ keys", async () => {
  // biome-ignore lint/suspicious/noSparseArray: holes are what this test is about
  const holes = [1, , 3, , ,];
  // biome-ignore lint/suspicious/noSparseArray: holes are what this test is about
  const trailing = [, ,];
  const nullProto = Object.assign(Object.create(null), { a: 1, "b-c": 2, 3: "three" });
  const protoKey = JSON.parse('{"__proto__": {"polluted": true}, "ok": 1}');
  const nullProtoKey = Object.create(null);
  Reflect.set(nullProtoKey, "__proto__", 7);
  await roundTrip({
    holes,
    trailing,
    empty: [],
    nested: { a: { b: { c: [1, [2, [3, { d: "deep" }]]] } }, "key with space": 1, 10: "ten", $: 2 },
    nullProto,
    protoKey,
    nullProtoKey,
    emptyObj: {},
    undefinedValues: { a: undefined, b: [undefined] },
  });
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test("Map, Set, Date (valid and invalid), RegExp with flags and lastIndex", async () => {
  const re = /a(b)?c/gimsuy;
  re.lastIndex = 3;
  await roundTrip({
    map: new Map<unknown, unknown>([
      ["a", 1],
      [2, { x: [1] }],
      [{ objKey: true }, new Set([1, "2", 3n])],
    ]),
    emptyMap: new Map(),
    set: new Set([1, "a", null, undefined, Number.NaN, -0]),
    date: new Date(Date.UTC(2024, 1, 29, 12, 34, 56, 789)),
    ancient: new Date(-8.64e15),
    future: new Date(8.64e15),
    invalid: new Date(Number.NaN),
    re,
    plain: /x/,
    dflag: /(?<y>\d+)/d,
    vflag: new RegExp("[\\p{L}--[a-z]]", ["v"].join("")), // literal /v needs an ES2024 target
  });
});

test("Errors and subclasses with message, cause, extra fields; AggregateError", async () => {
  const withCode = Object.assign(new RangeError("out of range"), {
    code: "E_RANGE",
    detail: { n: 3 },
  });
  await roundTrip({
    err: new Error("boom"),
    noMessage: new Error(),
    typeErr: new TypeError("bad type", { cause: new Error("root") }),
    causeValue: new SyntaxError("x", { cause: { reason: 42 } }),
    undefinedCause: new Error("u", { cause: undefined }),
    withCode,
    agg: new AggregateError([new URIError("u"), new EvalError("e")], "many", { cause: "c" }),
    ref: new ReferenceError("r"),
  });
});

test("boxed primitives and functions by global name", async () => {
  await roundTrip({
    num: new Number(-0),
    str: new String("boxed"),
    bool: new Boolean(false),
    bigBox: Object(7n),
    symBox: Object(Symbol.for("boxed")),
    sin: Math.sin,
    ctor: Float64Array,
    parse: JSON.parse,
    pf: parseFloat,
  });
});

test("ArrayBuffer, every TypedArray, DataView, views sharing one buffer", async () => {
  const buf = new ArrayBuffer(32);
  new Float64Array(buf).set([1.5, -0, Number.NaN, 4]);
  const a = new Float64Array(buf, 8, 2);
  const b = new Uint8Array(buf, 0, 16);
  const dv = new DataView(buf, 4, 12);
  await roundTrip({
    i8: new Int8Array([-128, 0, 127]),
    u8: new Uint8Array([0, 255]),
    u8c: new Uint8ClampedArray([0, 128, 255]),
    i16: new Int16Array([-32768, 32767]),
    u16: new Uint16Array([65535]),
    i32: new Int32Array([-2147483648, 2147483647]),
    u32: new Uint32Array([4294967295]),
    f32: new Float32Array([0.1, -0, Number.NaN, Number.POSITIVE_INFINITY, 3.4e38]),
    f64: new Float64Array([0.1, -0, Number.NaN, 1e-310]),
    bi64: new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]),
    bu64: new BigUint64Array([2n ** 64n - 1n]),
    emptyF64: new Float64Array(0),
    subView: new Float64Array(new Float64Array([1, 2, 3, 4]).buffer, 8, 2),
    buf,
    views: { a, b, dv },
    lonelyBuffer: new Uint8Array([9, 8, 7]).buffer,
    lonelyDv: new DataView(new Uint8Array([1, 2, 3, 4]).buffer, 1, 2),
  });
});

test("shared views on one buffer stay on one buffer after import", async () => {
  const buf = new ArrayBuffer(16);
  const items = { x: new Float64Array(buf), y: new Uint8Array(buf, 8, 8) };
  const { mod } = await roundTrip({ pair: items });
  const pair = mod.pair as { x: Float64Array; y: Uint8Array };
  assert.equal(pair.x.buffer, pair.y.buffer);
  pair.y[0] = 1;
  assert.notEqual(pair.x[1], 0, "writing through one view is seen by the other");
});

test("NDArray of every dtype and order, inline", async () => {
  await roundTrip({
    c: new NDArray(new Float64Array([1, 2, 3, 4, 5, 6]), [2, 3]),
    f: new NDArray(new Int32Array([1, 2, 3, 4, 5, 6]), [3, 2], { order: "F" }),
    scalar: new NDArray(new Float32Array([7]), []),
    zero: new NDArray(new Float64Array(0), [0, 4]),
    bool: new NDArray(new Uint8Array([1, 0, 1]), [3], { dtype: "|b1" }),
    half: new NDArray(new Uint16Array([0x3c00, 0xc000]), [2], { dtype: "<f2" }),
    complex: new NDArray(new Float64Array([1, 2, 3, 4]), [2], { dtype: "<c16" }),
    complex64: new NDArray(new Float32Array([1, 2]), [1], { dtype: "<c8" }),
  });
});

test("shared references are restored as the same object; cycles as cycles", async () => {
  const { mod } = await roundTrip(cyclicSample());
  assert.equal(mod.shared, mod.again);
  const ml = mod.list as unknown[];
  assert.equal(ml[0], ml[1]);
  assert.equal(ml[2], ml);
  assert.deepEqual([...(mod.m as Map<unknown, unknown>).keys()].length, 3);
  assert.deepEqual(
    Object.keys(mod.selfObj as object),
    ["self", "later"],
    "key order kept across a patch",
  );
});

test("module layout round-trips too", async () => {
  await roundTrip(
    { x: { y: [1, 2, new Map([[1, 2]])] }, z: new NDArray(new Int8Array([1, 2]), [2]) },
    { package: false },
  );
});

test("a big graph with many shared nodes round-trips", async () => {
  await roundTrip(pooledRows());
});

test("deep chains of any depth: continued in later statements, imported natively and by load()", async () => {
  let list: unknown = null;
  for (let i = 0; i < 100_000; i++) list = { v: i, next: list };
  const nodes: Record<string, unknown>[] = Array.from({ length: 5_000 }, (_, i) => ({ i }));
  nodes.forEach((n, i) => {
    n.prev = nodes[i - 1] ?? null;
    n.next = nodes[i + 1] ?? null;
  });
  const { mod, text } = await roundTrip({ list, doubly: nodes[0] });
  const longest = text.split("\n").reduce((m, l) => Math.max(m, l.length), 0);
  assert.ok(longest <= 120, `indentation is capped (longest line ${longest})`);
  let n = 0;
  for (let p = mod.list as { next: unknown } | null; p; p = p.next as typeof p) n++;
  assert.equal(n, 100_000);
  const dir = await tempDir();
  const file = join(dir, "deep.mjs");
  await writeFile(file, text);
  const loaded = await load(file);
  assertSameGraph(loaded.doubly, nodes[0], "doubly");
});

test("a chain of constructor calls deeper than one statement can hold is a clear UnsupportedValueError", () => {
  class Link {
    static [persist.module] = "links";
    constructor(readonly next: Link | null) {}
    [persist.rep]() {
      return [this.next];
    }
  }
  let chain: Link | null = null;
  for (let i = 0; i < 1_000; i++) chain = new Link(chain);
  const archive = new Archive();
  assert.throws(
    () => archive.insert({ chain }),
    (e: unknown) => e instanceof UnsupportedValueError && /levels deep/.test(e.message),
  );
});

test("cycles through Error fields, AggregateError errors and an own __proto__ key", async () => {
  const protoSelf: Record<string, unknown> = {};
  Object.defineProperty(protoSelf, "__proto__", {
    value: protoSelf,
    enumerable: true,
    writable: true,
    configurable: true,
  });
  protoSelf.after = 1;
  const holder: Record<string, unknown> = { name: "h" };
  holder.err = new Error("e", { cause: holder });
  const selfErr = Object.assign(new Error("self"), { self: undefined as unknown });
  selfErr.self = selfErr;
  const causeSelf = new Error("c");
  (causeSelf as { cause?: unknown }).cause = causeSelf;
  const agg: { list: unknown[] } = { list: [] };
  agg.list.push(new AggregateError([agg], "a"));
  const errs = [new Error("x")];
  const sharedErrors = new AggregateError([], "s");
  Object.defineProperty(sharedErrors, "errors", {
    value: errs,
    writable: true,
    configurable: true,
  });
  const { mod, text } = await roundTrip({
    protoSelf,
    holder,
    selfErr,
    causeSelf,
    agg,
    sharedErrors,
    errs,
  });
  assert.match(text, /protoSelf\["__proto__"\] = protoSelf;/);
  assert.equal(
    (mod.sharedErrors as AggregateError).errors,
    mod.errs,
    "AggregateError.errors keeps its identity",
  );
  assert.equal(Object.getPrototypeOf(mod.protoSelf), Object.prototype);
});

test("sparse arrays are written by their elements, not their length", async () => {
  const huge: unknown[] = [];
  huge[4_294_967_294] = "last";
  huge[5] = huge;
  const sparse = new Array(1_000_000);
  sparse[10] = 1;
  const archive = new Archive();
  archive.insert({ huge, sparse });
  const text = archive.toString();
  assert.ok(text.length < 500, text);
  assert.match(text, /Object\.assign\(\[\], \{ 10: 1, length: 1000000 \}\)/);
  const dir = await tempDir();
  const { entry } = await archive.save(dir, { name: "s" });
  const mod = (await import(pathToFileURL(entry).href)) as { huge: unknown[]; sparse: unknown[] };
  assert.equal(mod.huge.length, 4_294_967_295);
  assert.equal(mod.huge[5], mod.huge);
  assert.deepEqual(Object.keys(mod.huge), ["5", "4294967294"]);
  assertSameGraph(mod.sparse, sparse);
});
