/**
 * Getters on plain objects run user code, so the archiver reads each value once per pass over the
 * graph: once when insert() checks the values, once when toString() or save() writes them (the
 * module text and its declarations both use the values the walk read), and once per DataSet
 * insert. The written value is the one that read returned.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { Archive, DataSet, load } from "../../src/index.js";
import { tempDir } from "../helpers/tmp.js";

/** An object tree whose every property is a counting getter (fields, nested, in arrays, shared). */
function counted() {
  const reads = new Map<string, number>();
  const getter = <T>(name: string, value: T) => ({
    get() {
      reads.set(name, (reads.get(name) ?? 0) + 1);
      return value;
    },
    enumerable: true,
  });
  const shared = Object.defineProperties({}, { s: getter("shared.s", "S") });
  const inner = Object.defineProperties(
    {},
    { y: getter("inner.y", [1, 2]), ref: getter("inner.ref", shared) },
  );
  const root = Object.defineProperties(Object.create(null), {
    x: getter("x", 1),
    inner: getter("inner", inner),
    list: getter("list", [Object.defineProperties({}, { z: getter("list[0].z", 3n) }), shared]),
    map: getter("map", new Map([["k", Object.defineProperties({}, { w: getter("w", "w") })]])),
  });
  return { root, reads };
}

function assertEachRead(reads: Map<string, number>, times: number, when: string): void {
  assert.equal(reads.size, 9, `every getter ran (${when})`);
  for (const [name, n] of reads) assert.equal(n, times, `${name} read ${n} times ${when}`);
}

test("toString() reads each getter once (after insert() read it once)", () => {
  const { root, reads } = counted();
  const archive = new Archive();
  archive.insert({ root });
  assertEachRead(reads, 1, "by insert()");
  const text = archive.toString();
  assertEachRead(reads, 2, "by insert() + toString()");
  assert.match(text, /x: 1/);
  assert.match(text, /z: 3n/);
});

test("save() reads each getter once, for the module and its declarations", async () => {
  const { root, reads } = counted();
  const archive = new Archive();
  archive.insert({ root });
  const dir = await tempDir();
  const { entry } = await archive.save(dir, { name: "getters" });
  assertEachRead(reads, 2, "by insert() + save()");
  const native = (await import(pathToFileURL(entry).href)) as { root: Record<string, unknown> };
  const loaded = (await load(entry)) as { root: Record<string, unknown> };
  for (const got of [native.root, loaded.root]) {
    assert.equal(got.x, 1);
    assert.deepEqual((got.inner as { y: number[] }).y, [1, 2]);
    assert.equal((got.list as unknown[])[1], (got.inner as { ref: unknown }).ref);
  }
});

test("a DataSet insert reads each getter once", async () => {
  const { root, reads } = counted();
  const dir = await tempDir();
  const ds = await DataSet.open(`${dir}/ds`, { mode: "w" });
  try {
    await ds.insert(root);
  } finally {
    await ds.close();
  }
  assertEachRead(reads, 1, "by DataSet.insert()");
});
