// Reading a DataSet for analysis (issue 12): every info from one read of the index, queries,
// async iteration, lazy arrays, batches committed at once, and set() as one commit.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { verifyDataSetIndex } from "../../src/dataset/verify.js";
import {
  ArchiveError,
  DataSet,
  LazyArray,
  NDArray,
  UnsupportedValueError,
} from "../../src/index.js";
import { tempDir } from "../helpers/tmp.js";
import { startChild } from "../store/children.js";

async function newDataSet(options: Parameters<typeof DataSet.open>[1] = {}) {
  const path = join(await tempDir(), "ds");
  return { path, ds: await DataSet.open(path, { mode: "w", ...options }) };
}

test("infos(), query() and for await: every info in key order from one read of the index", async () => {
  const { path, ds } = await newDataSet();
  await ds.insertMany([0, 1, 2, 3], {
    infos: [{ omega: 3 }, { omega: 1 }, null, { omega: 2, when: new Date(5) }],
  });
  await ds.set("named", "v", { info: new Map([["k", 1]]) });
  await ds.delete("x_2");
  await ds.setInfo("x_0", { omega: 4 });
  const expected = {
    x_0: { omega: 4 },
    x_1: { omega: 1 },
    x_3: { omega: 2, when: new Date(5) },
    named: new Map([["k", 1]]),
  };
  const reader = await DataSet.open(path);
  assert.deepEqual(await reader.infos(), expected);
  // Fresh values: changing one changes nothing for the next call.
  ((await reader.infos()).x_0 as { omega: number }).omega = 99;
  assert.deepEqual((await reader.infos()).x_0, { omega: 4 });
  const seen: [string, unknown][] = [];
  for await (const pair of reader) seen.push(pair);
  assert.deepEqual(seen, Object.entries(expected));
  const omega = (info: unknown) => (info as { omega?: number } | null)?.omega;
  assert.deepEqual(await reader.query((info) => omega(info) !== undefined), ["x_0", "x_1", "x_3"]);
  assert.deepEqual(
    await reader.query((info) => omega(info) !== undefined, {
      sort: ([, a], [, b]) => omega(a)! - omega(b)!,
      limit: 2,
    }),
    ["x_1", "x_3"],
  );
  assert.deepEqual(await reader.query((_, name) => name.startsWith("n")), ["named"]);
  assert.deepEqual(await reader.query(() => true, { limit: 0 }), []);
  // Another process's writes are seen by the next call.
  await ds.insert(9, { info: { omega: 0 } });
  assert.deepEqual(await reader.query((info) => omega(info) === 0), ["x_4"]);
});

test("insertMany: one index record, names in order, infos by position; failures write nothing", async () => {
  const { path, ds } = await newDataSet({ arrayThreshold: 10 });
  await ds.insert("first");
  const lines = () => readFileSync(join(path, "index.journal"), "utf8").split("\n").length;
  const before = lines();
  const arrays = [1, 2, 3].map((i) => new Float64Array(100).fill(i));
  const names = await ds.insertMany(arrays, { infos: [{ i: 1 }, undefined, { i: 3 }] });
  assert.deepEqual(names, ["x_1", "x_2", "x_3"]);
  assert.equal(lines(), before + 1, "one record for the whole batch");
  assert.deepEqual(await ds.get("x_2"), arrays[1]);
  assert.deepEqual(await ds.infos(), { x_0: null, x_1: { i: 1 }, x_2: null, x_3: { i: 3 } });
  assert.deepEqual(await ds.insertMany([]), []);
  await assert.rejects(ds.insertMany([1, 2], { infos: [1] }), ArchiveError);
  const files = readdirSync(path).sort();
  await assert.rejects(ds.insertMany([1, () => 2]), UnsupportedValueError);
  await assert.rejects(ds.insertMany([1, 2], { infos: [1, new WeakMap()] }), UnsupportedValueError);
  assert.deepEqual(readdirSync(path).sort(), files, "nothing written, no claim left");
  assert.deepEqual(await ds.keys(), ["x_0", "x_1", "x_2", "x_3"]);
  assert.equal(await ds.insert(4), "x_4");
  // Batches with npz and hdf5 data commit the same way.
  for (const dataFormat of ["npz", "hdf5"] as const) {
    const other = await DataSet.open(join(path, "..", dataFormat), {
      mode: "w",
      dataFormat,
      arrayThreshold: 10,
    });
    const got = await other.insertMany(arrays.slice(0, 2), { infos: [1, 2] });
    assert.deepEqual(await other.get(got[1]!), arrays[1]);
    assert.deepEqual(await other.infos(), { x_0: 1, x_1: 2 });
  }
});

test("insertMany from several processes at once: every name unique, every item intact", async () => {
  const { path } = await newDataSet();
  const writers = ["p", "q", "r"].map((tag) =>
    startChild("test/dataset/fixtures/writer.ts", [path, "arrays", tag]),
  );
  await Promise.all(writers.map((w) => w.waitFor(/^OK x_/)));
  await sleep(500);
  for (const w of writers) {
    w.proc.kill("SIGKILL");
    await w.exited;
  }
  const ds = await DataSet.open(path, { mode: "w" });
  const keys = await ds.keys();
  assert.equal(new Set(keys).size, keys.length);
  const returned = writers.flatMap((w) =>
    w.lines.filter((l) => l.startsWith("OK x_")).map((l) => l.split(" ")[1]!),
  );
  assert.equal(new Set(returned).size, returned.length, "no name given out twice");
  for (const name of returned) assert.ok(keys.includes(name), `${name} lost`);
  for (const name of keys.filter((k) => k.startsWith("x_"))) {
    const value = (await ds.get(name)) as { tag: string; i: number; data: Float64Array };
    assert.ok(
      value.data.every((x) => x === value.i),
      name,
    );
    assert.deepEqual(
      await ds.info(name),
      "k" in value
        ? { tag: value.tag, i: value.i, k: (value as { k: number }).k }
        : { tag: value.tag, i: value.i },
    );
  }
  assert.deepEqual((await verifyDataSetIndex(path)).problems, []);
});

test("get(name, { lazy: true }): external arrays as LazyArrays, read by rows", async () => {
  const { ds } = await newDataSet({ arrayThreshold: 10 });
  const grid = new NDArray(
    Float64Array.from({ length: 60 }, (_, i) => i),
    [20, 3],
  );
  await ds.set("a", { grid, small: [1, 2] });
  const value = await ds.get<{ grid: unknown; small: number[] }>("a", { lazy: true });
  assert.ok(value.grid instanceof LazyArray, String(value.grid));
  assert.equal(value.grid.loadsAs, "NDArray");
  assert.deepEqual(value.small, [1, 2]);
  assert.deepEqual(value.grid.shape, [20, 3]);
  assert.equal(value.grid.dtype, "<f8");
  const rows = await value.grid.rows(5, 7);
  assert.deepEqual([...rows.data], [15, 16, 17, 18, 19, 20]);
  assert.deepEqual((await value.grid.read()).data, grid.data);
});

test("get<T>() and info<T>() type their result for the caller", async () => {
  const { ds } = await newDataSet();
  await ds.set("run", { n: 3 }, { info: { omega: 2 } });
  const run = await ds.get<{ n: number }>("run");
  const info = await ds.info<{ omega: number }>("run");
  assert.equal(run.n + info.omega, 5);
});
