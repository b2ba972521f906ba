/**
 * `load<T>()` and `ds.get<T>()` let callers type results without casts (no runtime effect). The
 * `@ts-expect-error` lines are checked by `npm run typecheck`, which includes this file.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { Archive, DataSet, load } from "../../src/index.js";
import { tempDir } from "../helpers/tmp.js";

test("load<T>() types the exports; the default is Record<string, unknown>", async () => {
  const dir = await tempDir();
  const a = new Archive();
  a.insert({ n: 3, label: "a" });
  await a.save(dir, { name: "r" });
  const { n, label } = await load<{ n: number; label: string }>(join(dir, "r"));
  const sum: number = n + 1;
  // @ts-expect-error n is a number for the caller
  const text: string = n;
  assert.equal(sum, 4);
  assert.equal(label.toUpperCase(), "A");
  assert.equal(text, 3);
  const untyped = await load(join(dir, "r"));
  // @ts-expect-error without T an export is unknown
  const m: number = untyped.n;
  assert.equal(m, 3);
});

test("ds.get<T>() types an item; the default is unknown", async () => {
  const dir = await tempDir();
  const ds = await DataSet.open(join(dir, "d.ds"), { mode: "w" });
  try {
    const name = await ds.insert({ omega: 2 });
    const item = await ds.get<{ omega: number }>(name);
    const omega: number = item.omega;
    assert.equal(omega, 2);
    const raw = await ds.get(name);
    // @ts-expect-error without T an item is unknown
    raw.omega;
  } finally {
    await ds.close();
  }
});
