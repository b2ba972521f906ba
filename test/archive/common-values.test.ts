/**
 * Values users commonly hit that peers archive: Node Buffers (back as Buffers in Node), URL,
 * URLSearchParams, plain objects and arrays from another realm; and messages that name the real
 * class of what cannot be archived.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import vm from "node:vm";
import { Archive, load, UnsupportedValueError } from "../../src/index.js";
import { tempDir } from "../helpers/tmp.js";

let n = 0;
async function both(items: Record<string, unknown>, pkg = true) {
  const archive = new Archive();
  archive.insert(items);
  const dir = await tempDir();
  const { entry } = await archive.save(dir, { name: `c${n++}`, package: pkg });
  const native = (await import(pathToFileURL(entry).href)) as Record<string, unknown>;
  const safe = (await load(entry)) as Record<string, unknown>;
  return { native, safe, text: archive.toString() };
}

test("Node Buffers come back as Buffers with their bytes only (not the shared pool)", async () => {
  const small = Buffer.from("hello");
  const sliced = Buffer.from([1, 2, 3, 4, 5]).subarray(1, 3);
  const big = Buffer.alloc(300, 7);
  for (const pkg of [true, false]) {
    const { native, safe, text } = await both(
      { small, sliced, big, inObj: { b: small }, empty: Buffer.alloc(0) },
      pkg,
    );
    assert.match(text, /_NodeBuffer\.from\(new Uint8Array\(\[104, 101, 108, 108, 111\]\)\)/);
    for (const mod of [native, safe]) {
      assert.ok(Buffer.isBuffer(mod.small), "a Buffer");
      assert.equal((mod.small as Buffer).toString(), "hello");
      assert.deepEqual([...(mod.sliced as Buffer)], [2, 3]);
      assert.equal((mod.big as Buffer).length, 300);
      assert.equal((mod.inObj as { b: unknown }).b, mod.small, "shared stays shared");
      assert.equal((mod.empty as Buffer).length, 0);
      assert.ok(Buffer.isBuffer(mod.empty));
    }
  }
});

test("URL and URLSearchParams", async () => {
  const url = new URL("https://user:pw@example.com:8080/a/b?x=1&y=%20#frag");
  const params = new URLSearchParams("a=1&b=two&a=3&sp=%20x");
  const { native, safe, text } = await both({ url, params, list: [new URL("file:///tmp/x")] });
  assert.match(text, /new URL\("https:\/\/user:pw@example\.com:8080\/a\/b\?x=1&y=%20#frag"\)/);
  for (const mod of [native, safe]) {
    assert.ok(mod.url instanceof URL);
    assert.equal((mod.url as URL).href, url.href);
    assert.ok(mod.params instanceof URLSearchParams);
    assert.deepEqual([...(mod.params as URLSearchParams)], [...params]);
    assert.equal(((mod.list as URL[])[0] as URL).pathname, "/tmp/x");
  }
});

test("plain objects and arrays from another realm archive as plain ones", async () => {
  const foreign = vm.runInNewContext(
    '({ a: 1, list: [1, [2, { deep: "x" }]], nul: Object.assign(Object.create(null), { k: 1 }) })',
  ) as Record<string, unknown>;
  assert.notEqual(Object.getPrototypeOf(foreign), Object.prototype);
  const { native, safe } = await both({ foreign, arr: vm.runInNewContext("[1, , 3]") });
  for (const mod of [native, safe]) {
    assert.deepEqual(mod.foreign, {
      a: 1,
      list: [1, [2, { deep: "x" }]],
      nul: Object.assign(Object.create(null), { k: 1 }),
    });
    assert.equal(Object.getPrototypeOf(mod.foreign), Object.prototype);
    assert.equal((mod.arr as unknown[]).length, 3);
    assert.equal(1 in (mod.arr as unknown[]), false, "hole kept");
  }
});

test("messages name the real class: a Model, an Item, a class from another realm", () => {
  const cases: [unknown, RegExp][] = [
    [new (class Model {})(), /it is a Model\b/],
    [new (class Item {})(), /it is an Item\b/],
    [vm.runInNewContext("new (class Engine {})()"), /it is an Engine\b/],
    [new WeakMap(), /it is a WeakMap/],
  ];
  for (const [value, pattern] of cases) {
    assert.throws(
      () => new Archive().insert({ x: { v: value } }),
      (err: unknown) =>
        err instanceof UnsupportedValueError &&
        pattern.test(err.message) &&
        err.valuePath === "x.v",
    );
  }
  assert.throws(
    () => new Archive().insert({ m: vm.runInNewContext("new Map()") }),
    /it is a Map from another realm/,
  );
});
