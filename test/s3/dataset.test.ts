/**
 * The DataSet API on the real S3 gateway: what a DataSet on a folder does, through
 * DataSet.open("s3://bucket/prefix", { s3 }), plus what is particular to object storage
 * (snapshots, stale uploads, no withLock).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { logKey, SNAPSHOT_EVERY } from "../../src/dataset/commit-log.js";
import type { S3DataSet } from "../../src/dataset/s3-dataset.js";
import {
  ArchiveError,
  DataSet,
  FormatError,
  NDArray,
  NotFoundError,
  ReadOnlyError,
  UnsupportedValueError,
} from "../../src/index.js";
import { S3Store } from "../../src/store/s3-store.js";
import { requireGateway } from "./gateway.js";

test("insert, get, info, infos, keys, has; a second handle sees it all", async (t) => {
  const gw = requireGateway(t);
  if (!gw) return;
  const url = gw.freshUrl("ds");
  const ds = await DataSet.open(url, { mode: "w", s3: gw.options, arrayThreshold: 10 });
  assert.deepEqual(await ds.keys(), []);
  const big = new Float64Array(100).map((_, i) => i / 3);
  const nd = new NDArray(
    new Int32Array(24).map((_, i) => i),
    [2, 3, 4],
  );
  const a = await ds.insert({ big, nd, text: "é\u{1F600}", n: -0 }, { info: { run: 1, mu: 0.5 } });
  const b = await ds.insert(new Map([[1, { deep: [1n, null] }]]));
  assert.deepEqual([a, b], ["x_0", "x_1"]);
  assert.equal(await ds.has("x_0"), true);
  assert.equal(await ds.has("x_9"), false);

  const reader = await DataSet.open(url, { s3: gw.options });
  const item = (await reader.get("x_0")) as {
    big: Float64Array;
    nd: NDArray;
    text: string;
    n: number;
  };
  assert.deepEqual(item.big, big);
  assert.deepEqual(item.nd.shape, [2, 3, 4]);
  assert.deepEqual(item.nd.data, nd.data);
  assert.equal(item.text, "é\u{1F600}");
  assert.ok(Object.is(item.n, -0));
  assert.deepEqual(await reader.get("x_1"), new Map([[1, { deep: [1n, null] }]]));
  assert.deepEqual(await reader.info("x_0"), { run: 1, mu: 0.5 });
  assert.equal(await reader.info("x_1"), null);
  const s3reader = reader as unknown as S3DataSet;
  assert.deepEqual(await s3reader.infos(), { x_0: { run: 1, mu: 0.5 }, x_1: null });
  assert.deepEqual(await s3reader.query((info) => info !== null), ["x_0"]);
  const seen: string[] = [];
  for await (const [name] of s3reader) seen.push(name);
  assert.deepEqual(seen, ["x_0", "x_1"]);
  await assert.rejects(reader.get("nope"), NotFoundError);
  await assert.rejects(reader.info("nope"), NotFoundError);
});

for (const laneSize of [64, 0]) {
  test(`set replaces in place, setInfo, delete; names continue (laneSize ${laneSize})`, async (t) => {
    const gw = requireGateway(t);
    if (!gw) return;
    const url = gw.freshUrl("set");
    const ds = await DataSet.open(url, { mode: "w", s3: { ...gw.options, laneSize } });
    await ds.insert(1, { info: "a" });
    await ds.set("custom", [1, 2], { info: { k: 1 } });
    await ds.insert(3);
    await ds.set("x_0", "replaced");
    assert.deepEqual(await ds.keys(), ["x_0", "custom", "x_1"]);
    assert.equal(await ds.get("x_0"), "replaced");
    assert.equal(await ds.info("x_0"), "a", "set without info keeps the info");
    await ds.setInfo("custom", { k: 2 });
    assert.deepEqual(await ds.info("custom"), { k: 2 });
    assert.deepEqual(await ds.get("custom"), [1, 2]);
    await ds.delete("x_1");
    assert.deepEqual(await ds.keys(), ["x_0", "custom"]);
    await assert.rejects(ds.delete("x_1"), NotFoundError);
    await assert.rejects(ds.setInfo("x_1", 1), NotFoundError);
    // In the shared log the next name is after the highest that exists; a lane's names are the
    // lane's, in order, whatever happened to the ones before.
    const next = laneSize > 0 ? 2 : 1;
    assert.equal(await ds.insert(4), `x_${next}`);
    const s3ds = ds as unknown as S3DataSet;
    const many = [1, 2, 3].map((k) => `x_${next + k}`);
    assert.deepEqual(await s3ds.insertMany([5, 6, 7], { infos: [1, 2, 3] }), many);
    assert.deepEqual(await s3ds.insertMany([]), []);
    await assert.rejects(s3ds.insertMany([1], { infos: [] }), ArchiveError);
    // A reader that starts now applies the log's changes after the lane inserts they follow.
    const reader = await DataSet.open(url, { s3: gw.options });
    assert.deepEqual(await reader.keys(), await ds.keys());
    assert.equal(await reader.get("x_0"), "replaced");
    assert.deepEqual(await reader.info(many[2] as string), 3);
    assert.equal(await reader.has("x_1"), laneSize === 0, "x_1 was inserted again without lanes");
  });
}

test("read-only handles, missing DataSets, prefixes that are not DataSets", async (t) => {
  const gw = requireGateway(t);
  if (!gw) return;
  const url = gw.freshUrl("ro");
  await assert.rejects(DataSet.open(url, { s3: gw.options }), NotFoundError);
  const ds = await DataSet.open(url, { mode: "w", s3: gw.options });
  await ds.insert(1);
  const ro = await DataSet.open(url, { s3: gw.options });
  await assert.rejects(ro.insert(2), ReadOnlyError);
  await assert.rejects(ro.set("a", 2), ReadOnlyError);
  await assert.rejects(ro.delete("x_0"), ReadOnlyError);
  await assert.rejects(
    ds.withLock(async () => 1),
    /withLock\(\) needs a lock/,
  );

  const other = gw.freshUrl("other");
  const store = new S3Store(other, gw.options);
  await store.put("precious.txt", new TextEncoder().encode("keep me"));
  await assert.rejects(DataSet.open(other, { mode: "w", s3: gw.options }), /not a DataSet/);
  assert.deepEqual(
    (await store.list("")).map((e) => e.key),
    ["precious.txt"],
  );

  await ds.close();
  await assert.rejects(ds.keys(), /closed/);
});

test("unarchivable values and thenable infos are refused before anything is committed", async (t) => {
  const gw = requireGateway(t);
  if (!gw) return;
  const ds = await DataSet.open(gw.freshUrl("bad"), { mode: "w", s3: gw.options });
  await assert.rejects(ds.insert({ f: () => 1 }), UnsupportedValueError);
  // biome-ignore lint/suspicious/noThenProperty: the thenable is what is being refused
  const thenable = { then: () => undefined };
  await assert.rejects(ds.insert(1, { info: thenable }), UnsupportedValueError);
  await assert.rejects(ds.set("in valid", 1), ArchiveError);
  // One bad value among many: the others' uploads, made in parallel, are removed again.
  const many = Array.from({ length: 12 }, (_, i) => (i === 9 ? { f: () => 1 } : { i }));
  await assert.rejects(ds.insertMany(many), UnsupportedValueError);
  assert.deepEqual(await ds.keys(), []);
  assert.deepEqual(await new S3Store(ds.path, gw.options).list("items/"), [], "no upload left");
});

test("readers start from the latest snapshot and read only the log after it", async (t) => {
  const gw = requireGateway(t);
  if (!gw) return;
  const url = gw.freshUrl("snap");
  // groupCommit "never" and no lanes: every insert a commit of its own, however they race.
  const ds = (await DataSet.open(url, {
    mode: "w",
    s3: { ...gw.options, groupCommit: "never", laneSize: 0 },
  })) as unknown as S3DataSet;
  const total = 2 * SNAPSHOT_EVERY + 5;
  for (let i = 0; i < total; i += 10) {
    const n = Math.min(10, total - i);
    // one commit per value, several writers' worth at once
    await Promise.all(
      Array.from({ length: n }, (_, j) => ds.insert(i + j, { info: { i: i + j } })),
    );
  }
  const store = new S3Store(url, gw.options);
  const snaps = (await store.list("snapshots/")).map((e) => e.key);
  assert.deepEqual(snaps, [
    `snapshots/${String(SNAPSHOT_EVERY).padStart(12, "0")}.json`,
    `snapshots/${String(2 * SNAPSHOT_EVERY).padStart(12, "0")}.json`,
  ]);
  const reader = (await DataSet.open(url, { s3: gw.options })) as unknown as S3DataSet;
  const infos = (await reader.infos()) as Record<string, { i: number }>;
  assert.equal(Object.keys(infos).length, total);
  assert.deepEqual(
    Object.values(infos)
      .map((v) => v.i)
      .sort((a, b) => a - b),
    Array.from({ length: total }, (_, i) => i),
  );
  // Every log entry is still there: a reader at any state can catch up.
  assert.equal((await store.list("log/")).length, total);
});

test("uploads no commit names are removed by writers after the grace period, and only those", async (t) => {
  const gw = requireGateway(t);
  if (!gw) return;
  const url = gw.freshUrl("stale");
  const ds = await DataSet.open(url, { mode: "w", s3: gw.options });
  await ds.insert("kept");
  await ds.set("replaced", "v1");
  await ds.set("replaced", "v2");
  await ds.insert("gone");
  await ds.delete("x_1");
  const store = new S3Store(url, gw.options);
  // What a writer killed between upload and commit leaves.
  await store.put("items/0-dead/item_arrays/array_0.npy", new Uint8Array(8));
  await store.put("items/0-dead/item.mjs", new TextEncoder().encode("export default 1;\n"));
  const uploads = async () => new Set((await store.list("items/")).map((e) => e.key.split("/")[1]));
  assert.equal((await uploads()).size, 5);

  // Within the grace period nothing is touched (an upload may be about to be committed).
  const young = (await DataSet.open(url, { mode: "w", s3: gw.options })) as unknown as S3DataSet;
  assert.deepEqual(await young.removeStaleUploads(), []);
  // After it: the dead upload, the replaced version and the deleted item go.
  const later = (await DataSet.open(url, {
    mode: "w",
    s3: { ...gw.options, staleUploadGrace: 0 },
  })) as unknown as S3DataSet;
  assert.equal((await uploads()).size, 2, "opening for writing cleaned up");
  assert.deepEqual(await later.removeStaleUploads(), []);
  assert.equal(await later.get("x_0"), "kept");
  assert.equal(await later.get("replaced"), "v2");
});

test("a log record whose info is not exactly one expression is a FormatError; other items keep theirs", async (t) => {
  const gw = requireGateway(t);
  if (!gw) return;
  const url = gw.freshUrl("info-records");
  // No lanes: the hostile commit below is the next log entry after the items' own.
  const ds = await DataSet.open(url, { mode: "w", s3: { ...gw.options, laneSize: 0 } });
  for (let i = 0; i < 3; i++) await ds.insert(i, { info: { i } });
  // What a hostile or broken client could commit: x_0's info as two expressions. Read joined
  // with the others (as infos() once did), it shifted x_1's and x_2's infos by one.
  const store = new S3Store(url, gw.options);
  const next = (await store.list("log/")).filter((e) => /^log\/\d+\.json$/.test(e.key)).length + 1;
  const records = [{ op: "set", name: "x_0", info: "1, 2" }];
  const body = new TextEncoder().encode(JSON.stringify({ commit: "hostile", time: "", records }));
  assert.ok(await store.putIfAbsent(logKey(next), body));
  const reader = await DataSet.open(url, { s3: gw.options });
  assert.deepEqual(await reader.info("x_1"), { i: 1 });
  assert.deepEqual(await reader.info("x_2"), { i: 2 });
  await assert.rejects(reader.info("x_0"), (err: unknown) => {
    assert.ok(err instanceof FormatError, String(err));
    assert.match(err.message, /the info of item "x_0" recorded in its log cannot be read/);
    return true;
  });
  await assert.rejects(reader.infos(), FormatError);
  await ds.setInfo("x_0", { i: 0 });
  assert.deepEqual(await reader.infos(), { x_0: { i: 0 }, x_1: { i: 1 }, x_2: { i: 2 } });
});

test("log records and snapshots naming what no item can be named are a FormatError", async (t) => {
  const gw = requireGateway(t);
  if (!gw) return;
  const bad: [string, Record<string, unknown>][] = [
    ["__proto__", { op: "set", name: "__proto__", info: "{ polluted: true }", item: "u1" }],
    ["markup", { op: "set", name: "<img src=x onerror=alert(1)>", info: "1", item: "u1" }],
    ["a path", { op: "set", name: "../x", info: "1", item: "u1" }],
    ["an upload outside items/", { op: "set", name: "x_9", info: "1", item: "../../x" }],
  ];
  for (const [what, record] of bad) {
    const url = gw.freshUrl("bad-records");
    const ds = await DataSet.open(url, { mode: "w", s3: gw.options });
    await ds.insert(0);
    const body = new TextEncoder().encode(
      JSON.stringify({ commit: "hostile", time: "", records: [record] }),
    );
    assert.ok(await new S3Store(url, gw.options).putIfAbsent(logKey(2), body));
    await assert.rejects(
      async () => (await DataSet.open(url, { s3: gw.options })).keys(),
      (err: unknown) => {
        assert.ok(err instanceof FormatError, `${what}: ${err}`);
        assert.match(err.message, /malformed record/);
        return true;
      },
      what,
    );
    assert.equal(Object.getPrototypeOf({}), Object.prototype);
  }
  // A snapshot is checked the same way.
  const url = gw.freshUrl("bad-snapshot");
  await (await DataSet.open(url, { mode: "w", s3: gw.options })).insert(0);
  const snapshot = { entry: 5, items: [["x_0", "0", "../../elsewhere"]] };
  await new S3Store(url, gw.options).put(
    "snapshots/000000000005.json",
    new TextEncoder().encode(JSON.stringify(snapshot)),
  );
  await assert.rejects(
    async () => (await DataSet.open(url, { s3: gw.options })).keys(),
    /malformed item row/,
  );
});
