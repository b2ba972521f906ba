/**
 * Values that cannot be archived are refused at insert() (not later at save()), with the path and
 * the reason: thenable exports, boxed unique symbols, cycles and over-long chains through
 * constructor arguments only, and insert() arguments that are not an object of names.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import {
  Archive,
  ArchiveError,
  load,
  persist,
  register,
  UnsupportedValueError,
} from "../../src/index.js";
import { assertSameGraph } from "../helpers/same-graph.js";
import { tempDir } from "../helpers/tmp.js";

async function saveAndImport(items: Record<string, unknown>) {
  const archive = new Archive();
  archive.insert(items);
  const dir = await tempDir();
  const { entry } = await archive.save(dir, { name: "run1" });
  const native = (await import(pathToFileURL(entry).href)) as Record<string, unknown>;
  const safe = (await load(entry)) as Record<string, unknown>;
  for (const [name, v] of Object.entries(items)) {
    assertSameGraph(native[name], v, `native ${name}`);
    assertSameGraph(safe[name], v, `load() ${name}`);
  }
}

function refusedAtInsert(items: Record<string, unknown>, pattern: RegExp, path?: string) {
  const archive = new Archive();
  assert.throws(
    () => archive.insert(items),
    (err: unknown) => {
      assert.ok(err instanceof UnsupportedValueError, `UnsupportedValueError, got ${err}`);
      assert.match(err.message, pattern);
      if (path !== undefined) assert.equal(err.valuePath, path);
      return true;
    },
  );
  assert.deepEqual(archive.names(), [], "nothing inserted");
}

// Built with a computed key: the lint rule against `then` properties is right everywhere else.
const THEN = "then";

class Later {
  static [persist.module] = "later-lib";
  constructor(readonly fn: () => void) {}
}

test("a function exported as `then` is refused at insert, with the reason", () => {
  function then() {}
  register(then, { module: "thenable-lib" });
  for (const fn of [then, Math.max, Later, Symbol.for, () => 1]) {
    refusedAtInsert({ ok: 1, [THEN]: fn }, /then.*thenable|Cannot archive then/, "then");
  }
  const single = new Archive({ singleItem: true });
  assert.throws(() => single.insert({ [THEN]: then }), UnsupportedValueError);
  assert.throws(() => Archive.ofItem("then", then, {}), UnsupportedValueError);
});

test("`then` that is not a function is an ordinary export; `then` keys inside values are fine", async () => {
  await saveAndImport({ [THEN]: 5 });
  await saveAndImport({ [THEN]: { [THEN]: 1 }, other: { [THEN]: [1, 2] } });
  await saveAndImport({ [THEN]: null, x: { [THEN]: Math.sin } });
});

test("a boxed unique symbol is refused at insert; boxed registered and well-known symbols archive", async () => {
  refusedAtInsert({ b: Object(Symbol("foo")) }, /boxed symbol.*Symbol\(foo\)/, "b");
  refusedAtInsert({ o: { deep: [Object(Symbol())] } }, /boxed symbol/, "o.deep[0]");
  await saveAndImport({
    reg: Object(Symbol.for("k")),
    wk: Object(Symbol.iterator),
    inMap: new Map([[Object(Symbol.asyncIterator), 1]]),
  });
});

class Node1 {
  static [persist.module] = "chain-lib";
  constructor(public value: unknown) {}
  [persist.rep]() {
    return [this.value];
  }
}

test("a cycle through constructor arguments only is refused at insert, naming the path", () => {
  const a = new Node1(null);
  a.value = a;
  refusedAtInsert({ a }, /Cannot archive a: it is its own constructor argument/, "a");
  refusedAtInsert({ holder: { list: [a] } }, /its own constructor argument/, "holder.list[0]");
  const x = new Node1(null);
  const y = new Node1(x);
  x.value = y;
  refusedAtInsert({ x }, /its own constructor argument \(through x<argument 0>\)/, "x");
  refusedAtInsert({ m: new Map([["k", y]]) }, /its own constructor argument/);
  // Through registered classes' args too.
  class Reg {
    other: unknown;
  }
  register(Reg, { module: "reg-lib", args: (r: Reg) => [r.other] });
  const r = new Reg();
  r.other = [1, r]; // through an array: fine (it can be patched)
  new Archive().insert({ r });
  const s = new Reg();
  s.other = s;
  refusedAtInsert({ s }, /its own constructor argument/, "s");
  // toString() and save() refuse the same (the walk is the same), with the same message.
  const archive = new Archive();
  assert.throws(() => archive.insert({ s }), /its own constructor argument/);
});

test("a cycle through an object inside constructor arguments is accepted", () => {
  const a = new Node1(null);
  a.value = { back: a };
  const archive = new Archive();
  archive.insert({ a });
  const text = archive.toString();
  assert.match(text, /new _Node1\(/);
  assert.match(text, /\.back = a;/);
});

test("more than 400 nested constructor calls with nothing patchable between are refused at insert", () => {
  let head: Node1 = new Node1(1);
  for (let i = 0; i < 450; i++) head = new Node1(head);
  refusedAtInsert({ head }, /more than 400 levels deep/, "head");
  refusedAtInsert({ box: { head } }, /more than 400 levels deep/, "box.head");
  let ok: unknown = 1;
  for (let i = 0; i < 450; i++) ok = new Node1(i % 100 === 0 ? [ok] : ok);
  const archive = new Archive();
  archive.insert({ ok });
  assert.ok(archive.toString().length > 0);
});

test("insert() of null, primitives, arrays, Maps is an ArchiveError, not a raw TypeError", () => {
  const archive = new Archive();
  for (const bad of [
    null,
    undefined,
    5,
    "str",
    true,
    1n,
    Symbol.for("x"),
    [1],
    new Map(),
    new Set(),
  ]) {
    assert.throws(
      () => archive.insert(bad as never),
      (err: unknown) =>
        err instanceof ArchiveError && /insert\(\) takes an object/.test(err.message),
      String(bad?.toString?.() ?? bad),
    );
  }
  assert.deepEqual(archive.names(), []);
  archive.insert(Object.create(null));
  archive.insert({});
});
