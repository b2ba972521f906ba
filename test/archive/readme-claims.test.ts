/**
 * README's "What can be archived" and "Known limits", claim by claim: each value goes through
 * insert → save → native import() and load(), and each assertion names the README words it checks.
 * Explicit checks (not only a deep-equality helper) so that a claim that stops being true fails
 * here with its README wording, whichever way it breaks (kept where README says dropped, too).
 */

import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { runInNewContext } from "node:vm";
import { Archive, load, NDArray, persist, UnsupportedValueError } from "../../src/index.js";
import { type Rab, resizableBuffer, TYPED_ARRAY_CLASSES } from "../helpers/buffers.js";
import { tempDir } from "../helpers/tmp.js";

type Values = Record<string, unknown>;

/** The values as native import() and safe load() rebuild them from one saved archive. */
async function roundTrip(items: Values): Promise<{ native: Values; safe: Values }> {
  const dir = await tempDir("persist-readme-claims-");
  const archive = new Archive();
  archive.insert(items);
  await archive.save(dir, { name: "claims" });
  const native = await import(pathToFileURL(join(dir, "claims", "index.mjs")).href);
  const safe = await load(join(dir, "claims"));
  return { native: { ...native }, safe };
}

/** Runs `check` on both rebuilt copies, naming the side in failures. */
async function bothWays(items: Values, check: (v: Values, side: string) => void): Promise<void> {
  const { native, safe } = await roundTrip(items);
  check(native, "native import");
  check(safe, "load()");
}

function refusedAtInsert(items: Values, path: RegExp): void {
  const archive = new Archive();
  assert.throws(
    () => archive.insert(items),
    (e: unknown) => e instanceof UnsupportedValueError && path.test(e.message),
  );
  assert.equal(archive.toString().includes("export"), false, "nothing was inserted");
}

test("primitives incl. -0, NaN, ±Infinity, undefined, BigInt, lone surrogates", async () => {
  await bothWays(
    { p: [-0, Number.NaN, Infinity, -Infinity, undefined, 2n ** 70n, "\ud800", "x\udfff"] },
    (v, side) => {
      const p = v.p as unknown[];
      assert.ok(Object.is(p[0], -0), side);
      assert.ok(Number.isNaN(p[1]), side);
      assert.deepEqual(p.slice(2), [
        Infinity,
        -Infinity,
        undefined,
        2n ** 70n,
        "\ud800",
        "x\udfff",
      ]);
      assert.ok(4 in p, `${side}: undefined is an element, not a hole`);
    },
  );
});

test("arrays with holes; plain and null-prototype objects; a __proto__ key stays an own key", async () => {
  const holes: unknown[] = [1];
  holes[2] = 3; // index 1 stays a hole
  holes.length = 5;
  const bare = Object.assign(Object.create(null), { a: 1 });
  const proto = JSON.parse('{"__proto__": {"x": 1}, "b": 2}');
  await bothWays({ holes, bare, proto }, (v, side) => {
    const h = v.holes as unknown[];
    assert.equal(h.length, 5, side);
    assert.deepEqual(Object.keys(h), ["0", "2"], `${side}: holes stay holes`);
    assert.equal(Object.getPrototypeOf(v.bare), null, side);
    assert.equal((v.bare as Values).a, 1);
    assert.equal(Object.getPrototypeOf(v.proto), Object.prototype, side);
    assert.deepEqual(Object.keys(v.proto as object), ["__proto__", "b"], side);
    assert.deepEqual(Object.getOwnPropertyDescriptor(v.proto, "__proto__")?.value, { x: 1 });
  });
});

test("Map, Set, Date (incl. invalid), RegExp (flags, lastIndex), boxed primitives", async () => {
  const re = /a.b/dgimsuy;
  re.lastIndex = 3;
  await bothWays(
    {
      map: new Map<unknown, unknown>([
        [{ k: 1 }, "obj key"],
        [NaN, -0],
      ]),
      set: new Set([3, 1, 2]),
      dates: [new Date(Date.UTC(2024, 4, 1)), new Date(Number.NaN)],
      re,
      boxed: [Object(1), Object("s"), Object(true), Object(5n), Object(Symbol.iterator)],
    },
    (v, side) => {
      const map = v.map as Map<unknown, unknown>;
      assert.ok(map instanceof Map, side);
      assert.deepEqual([...map.keys()].slice(0, 1), [{ k: 1 }]);
      assert.ok(Object.is(map.get(Number.NaN), -0), side);
      assert.deepEqual([...(v.set as Set<number>)], [3, 1, 2], `${side}: insertion order`);
      const [date, invalid] = v.dates as Date[];
      assert.equal(date?.toISOString(), "2024-05-01T00:00:00.000Z");
      assert.ok(invalid instanceof Date && Number.isNaN(invalid.getTime()), side);
      const r = v.re as RegExp;
      assert.equal(r.source, "a.b");
      assert.equal(r.flags, "dgimsuy", side);
      assert.equal(r.lastIndex, 3, side);
      const boxed = v.boxed as object[];
      assert.deepEqual(
        boxed.map((b) => Object.prototype.toString.call(b)),
        ["Number", "String", "Boolean", "BigInt", "Symbol"].map((t) => `[object ${t}]`),
        side,
      );
      assert.equal(boxed[4]?.valueOf(), Symbol.iterator);
    },
  );
});

test("Error and its subclasses: message, cause, extra fields", async () => {
  const e = Object.assign(new RangeError("bad", { cause: { why: 1 } }), { code: "E1" });
  const agg = new AggregateError([new TypeError("t")], "many");
  await bothWays({ e, agg }, (v, side) => {
    const err = v.e as RangeError & { code: string };
    assert.ok(err instanceof RangeError, side);
    assert.equal(err.message, "bad");
    assert.deepEqual(err.cause, { why: 1 });
    assert.equal(err.code, "E1", `${side}: extra fields`);
    const a = v.agg as AggregateError;
    assert.ok(a instanceof AggregateError && a.errors[0] instanceof TypeError, side);
  });
});

test("Symbol.for(...) and well-known symbols; built-in functions by name", async () => {
  await bothWays(
    { syms: [Symbol.for("app.key"), Symbol.asyncIterator], fns: [Math.sin, Float64Array] },
    (v, side) => {
      assert.deepEqual(v.syms, [Symbol.for("app.key"), Symbol.asyncIterator], side);
      assert.deepEqual(v.fns, [Math.sin, Float64Array], side);
    },
  );
});

test("ArrayBuffer, every TypedArray, DataView, views sharing one buffer, NDArray", async () => {
  const buffer = new ArrayBuffer(16);
  const kinds = TYPED_ARRAY_CLASSES;
  const typed = kinds.map((Kind) => new Kind(2));
  await bothWays(
    {
      typed,
      shared: [new Uint8Array(buffer, 4, 4), new DataView(buffer, 2, 8), buffer],
      nd: new NDArray(new Float64Array([1, 2, 3, 4, 5, 6]), [2, 3]),
    },
    (v, side) => {
      assert.deepEqual(
        (v.typed as ArrayBufferView[]).map((t) => t.constructor.name),
        kinds.map((k) => k.name),
        side,
      );
      const [u8, view, buf] = v.shared as [Uint8Array, DataView, ArrayBuffer];
      assert.equal(u8.buffer, buf, `${side}: views share one buffer`);
      assert.equal(view.buffer, buf, side);
      assert.deepEqual([u8.byteOffset, view.byteOffset, view.byteLength], [4, 2, 8]);
      const nd = v.nd as NDArray;
      assert.ok(nd instanceof NDArray, side);
      assert.deepEqual([...nd.shape], [2, 3]);
    },
  );
});

test("URL, URLSearchParams, Node Buffer (a Buffer again in Node), objects from another realm", async () => {
  await bothWays(
    {
      url: new URL("https://example.org/a?b=1#c"),
      params: new URLSearchParams("a=1&a=2&b=x y"),
      buf: Buffer.from("bytes"),
      realm: runInNewContext("({ a: [1, { b: 2 }] })"),
    },
    (v, side) => {
      assert.ok(v.url instanceof URL && v.url.href === "https://example.org/a?b=1#c", side);
      const params = v.params as URLSearchParams;
      assert.ok(params instanceof URLSearchParams, side);
      assert.deepEqual(
        [...params],
        [
          ["a", "1"],
          ["a", "2"],
          ["b", "x y"],
        ],
      );
      assert.ok(Buffer.isBuffer(v.buf) && v.buf.toString() === "bytes", side);
      assert.equal(Object.getPrototypeOf(v.realm), Object.prototype, `${side}: this realm's`);
      assert.deepEqual(v.realm, { a: [1, { b: 2 }] });
    },
  );
});

test("resizable ArrayBuffers keep maxByteLength; length-tracking views track; subarrays keep byteOffset and the whole buffer", async () => {
  const resizable = resizableBuffer(8, 64);
  const tracking = new Uint8Array(resizable);
  const sub = new Uint16Array([10, 20, 30, 40]).subarray(1, 3);
  await bothWays({ tracking, sub }, (v, side) => {
    const t = v.tracking as Uint8Array;
    const buf = t.buffer as Rab;
    assert.ok(buf.resizable && buf.maxByteLength === 64, side);
    buf.resize(32);
    assert.equal(t.length, 32, `${side}: the view tracks the buffer's length`);
    const s = v.sub as Uint16Array;
    assert.deepEqual([s.byteOffset, s.buffer.byteLength, [...s]], [2, 8, [20, 30]], side);
  });
});

test("shared values stay shared and cycles stay cycles", async () => {
  const shared = { s: 1 };
  const cyclic: Values = { shared };
  cyclic.self = cyclic;
  const map = new Map<unknown, unknown>();
  map.set("me", map);
  await bothWays({ a: [shared, shared], cyclic, map }, (v, side) => {
    const [x, y] = v.a as object[];
    assert.equal(x, y, side);
    const c = v.cyclic as Values;
    assert.equal(c.self, c, side);
    const m = v.map as Map<string, unknown>;
    assert.equal(m.get("me"), m, side);
  });
});

test("known limit: a 100,000-long linked list round-trips; 401 constructor calls in a chain are refused", async () => {
  let list: Values | null = null;
  for (let i = 0; i < 100_000; i++) list = { i, next: list };
  await bothWays({ list }, (v, side) => {
    let n = 0;
    for (let node = v.list as Values | null; node; node = node.next as Values | null) n++;
    assert.equal(n, 100_000, side);
  });
  // Only constructor arguments with nothing splittable between them: a registered class's chain.
  class Cell {
    constructor(public inner: unknown) {}
    static [persist.module] = "cells";
    [persist.rep]() {
      return [this.inner];
    }
  }
  let cells: unknown = 0;
  for (let i = 0; i < 401; i++) cells = new Cell(cells);
  refusedAtInsert({ cells }, /cells/);
  let short: unknown = 0;
  for (let i = 0; i < 399; i++) short = new Cell(short);
  new Archive().insert({ short });
});

test("known limit: refused at insert() with the path (then, unique symbols, constructor-argument cycles, bad views, SharedArrayBuffer, other-realm built-ins)", () => {
  refusedAtInsert({ ["th" + "en"]: Math.sin }, /then/); // spelled apart: a literal then trips lint
  refusedAtInsert({ x: { deep: [Symbol("u")] } }, /x\.deep\[0\]/);
  refusedAtInsert({ x: { boxed: Object(Symbol("u")) } }, /x\.boxed/);
  class Node1 {
    constructor(public next: unknown) {}
    static [persist.module] = "nodes";
    [persist.rep]() {
      return [this.next];
    }
  }
  const a = new Node1(null);
  a.next = a;
  refusedAtInsert({ a }, /a/);
  const shrinking = resizableBuffer(16, 16);
  const oob = new DataView(shrinking, 8, 8);
  shrinking.resize(4);
  refusedAtInsert({ v: { oob } }, /v\.oob/);
  const detached = new ArrayBuffer(8);
  const onDetached = new Uint8Array(detached);
  structuredClone(detached, { transfer: [detached] });
  refusedAtInsert({ v: [onDetached] }, /v\[0\]/);
  refusedAtInsert({ s: { sab: new SharedArrayBuffer(8) } }, /s\.sab/);
  refusedAtInsert({ r: { m: runInNewContext("new Map()") } }, /r\.m/);
});

test("known limit: only own enumerable string-keyed fields; extras on arrays, Maps, Sets, Dates, RegExps, boxed primitives, non-enumerable fields, frozenness and stacks are not kept; symbol keys are refused", async () => {
  const extras = {
    arr: Object.assign([1], { extra: 1 }),
    map: Object.assign(new Map(), { extra: 1 }),
    set: Object.assign(new Set(), { extra: 1 }),
    date: Object.assign(new Date(0), { extra: 1 }),
    re: Object.assign(/x/, { extra: 1 }),
    boxed: Object.assign(Object("s"), { extra: 1 }),
  };
  const error = new Error("e");
  const hidden = Object.defineProperty({ a: 1 }, "h", { value: 2, enumerable: false });
  const frozen = Object.freeze({ f: 1 });
  await bothWays({ extras, hidden, frozen, error }, (v, side) => {
    const origin = String(error.stack).split("\n")[1] as string; // where `error` was made
    assert.ok(!String((v.error as Error).stack).includes(origin), `${side}: stack not kept`);
    for (const [kind, value] of Object.entries(v.extras as Values)) {
      assert.equal((value as Values).extra, undefined, `${side}: extra field on ${kind} dropped`);
    }
    assert.deepEqual(Object.getOwnPropertyNames(v.hidden), ["a"], side);
    assert.equal(Object.isFrozen(v.frozen), false, side);
  });
  refusedAtInsert({ o: { [Symbol("k")]: 1 } }, /symbol key/);
});

test("known limit: a Buffer is its bytes (its memory is not shared with other views)", async () => {
  const buf = Buffer.from("abcd");
  const view = new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
  await bothWays({ buf, view }, (v, side) => {
    assert.notEqual((v.buf as Buffer).buffer, (v.view as Uint8Array).buffer, side);
    assert.equal((v.buf as Buffer).toString(), "abcd");
  });
});

test("known limit: resizable buffers are written inline, never to data files", async () => {
  const dir = await tempDir("persist-readme-claims-");
  const archive = new Archive({ arrayThreshold: 1 });
  const big = new Float64Array(resizableBuffer(800, 1600));
  big.fill(0.5);
  archive.insert({ big, fixed: new Float64Array(100) });
  await archive.save(dir, { name: "inline" });
  const text = await readFile(join(dir, "inline", "index.mjs"), "utf8");
  assert.match(text, /maxByteLength: 1600/);
  assert.match(text, /export const big = new Float64Array\(/, "the resizable one is inline");
  assert.match(text, /export const fixed = _arrays\.\w+\.data;/, "the fixed one is external");
  const { big: back } = await load(join(dir, "inline"));
  assert.equal(((back as Float64Array).buffer as Rab).maxByteLength, 1600);
  assert.equal((back as Float64Array)[99], 0.5);
});
