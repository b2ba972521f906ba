/**
 * Writer lanes on the real gateway (src/dataset/lanes.ts): inserts in a lane of the writer's own,
 * the order readers apply lane inserts and log changes in, lanes ended by close(), by set() of a
 * name they hold and by later writers once idle, lanes in snapshots, and hostile lane objects.
 * (Many writers and SIGKILL with lanes: concurrency.test.ts.)
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { CommitLog, logKey, SNAPSHOT_EVERY } from "../../src/dataset/commit-log.js";
import { laneKey } from "../../src/dataset/lanes.js";
import type { S3DataSet } from "../../src/dataset/s3-dataset.js";
import { DataSet, FormatError } from "../../src/index.js";
import { S3Store } from "../../src/store/s3-store.js";
import { storeCalls } from "./fetched.js";
import { type Gateway, requireGateway } from "./gateway.js";

const encode = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const decode = (b: Uint8Array | undefined) => JSON.parse(new TextDecoder().decode(b));

/** The ids of the lanes that have objects under lanes/. */
async function laneIds(store: S3Store): Promise<string[]> {
  return [...new Set((await store.list("lanes/")).map((e) => e.key.split("/")[1] as string))];
}

/** A fresh reader's state, straight from the store. */
async function freshLog(gw: Gateway, url: string): Promise<CommitLog> {
  const log = new CommitLog(new S3Store(url, gw.options));
  await log.refresh();
  return log;
}

test("inserts are one put each in the writer's lane; close() ends it into the log", async (t) => {
  const gw = requireGateway(t);
  if (!gw) return;
  const url = gw.freshUrl("lane");
  const ds = await DataSet.open(url, { mode: "w", s3: gw.options });
  for (let i = 0; i < 3; i++) assert.equal(await ds.insert(i, { info: { i } }), `x_${i}`);
  const store = new S3Store(url, gw.options);
  const [id] = await laneIds(store);
  assert.ok(id !== undefined);
  assert.deepEqual(
    (await store.list(`lanes/${id}/`)).map((e) => e.key),
    [0, 1, 2].map((k) => laneKey(id, k)),
  );
  // One log entry so far: the reservation (no lane was open: no `after`, as older versions wrote).
  const reservation = decode(await store.get(logKey(1)));
  assert.deepEqual(reservation.records, [
    { op: "lane", lane: id, prefix: "x_", first: 0, count: 64 },
  ]);
  assert.equal("after" in reservation, false);
  assert.equal(await store.get(logKey(2)), undefined);
  const reader = await DataSet.open(url, { s3: gw.options });
  assert.deepEqual(await reader.keys(), ["x_0", "x_1", "x_2"]);

  await ds.close();
  // The seal, then the lane-end with the three inserts inline: a reader needs the lane no more.
  assert.deepEqual(decode(await store.get(laneKey(id, 3))).seal, true);
  const ending = decode(await store.get(logKey(2)));
  assert.deepEqual(ending.after, { [id]: 4 }, "three inserts and the seal read");
  const end = ending.records;
  assert.equal(end[0].op, "lane-end");
  assert.deepEqual(
    end[0].records.map((r: { name: string }) => r.name),
    ["x_0", "x_1", "x_2"],
  );
  const log = await freshLog(gw, url);
  assert.equal(log.lanes.open.size, 0);
  assert.deepEqual(log.names(), ["x_0", "x_1", "x_2"]);
  assert.deepEqual(await reader.infos(), { x_0: { i: 0 }, x_1: { i: 1 }, x_2: { i: 2 } });
  // The next writer's names go on where the ended lane's inserts stopped.
  const next = await DataSet.open(url, { mode: "w", s3: gw.options });
  assert.equal(await next.insert(3), "x_3");
});

test("a reader applies log changes after the lane inserts they were made after", async (t) => {
  const gw = requireGateway(t);
  if (!gw) return;
  const url = gw.freshUrl("lane-order");
  const a = await DataSet.open(url, { mode: "w", s3: gw.options });
  // A reader whose state is older than everything below.
  const early = await DataSet.open(url, { s3: gw.options });
  assert.deepEqual(await early.keys(), []);
  for (let i = 0; i < 3; i++) await a.insert(`v${i}`, { info: { i } });
  const b = await DataSet.open(url, { mode: "w", s3: gw.options });
  await b.setInfo("x_1", { i: "changed" });
  await b.delete("x_2");
  await b.set("x_0", "replaced");
  // Read in log order without the lane positions each change carries, the early reader would
  // have dropped the info change (x_1 unknown yet), kept x_2, and put the old x_0 back.
  for (const reader of [early, await DataSet.open(url, { s3: gw.options })]) {
    assert.deepEqual(await reader.keys(), ["x_0", "x_1"]);
    assert.equal(await reader.get("x_0"), "replaced");
    assert.deepEqual(await reader.infos(), { x_0: { i: 0 }, x_1: { i: "changed" } });
  }
  // The lane goes on after all that, for the writer that holds it.
  assert.equal(await a.insert("v3"), "x_3");
  assert.deepEqual(await early.keys(), ["x_0", "x_1", "x_3"]);
});

test("set() of a name another writer's lane holds ends that lane first; names stay unique", async (t) => {
  const gw = requireGateway(t);
  if (!gw) return;
  const url = gw.freshUrl("lane-set");
  const a = await DataSet.open(url, { mode: "w", s3: gw.options });
  assert.equal(await a.insert("a0"), "x_0");
  const b = await DataSet.open(url, { mode: "w", s3: gw.options });
  // x_1 is the next name of a's lane, and b has not seen a insert it: b tries to end the lane,
  // finds the insert there, and sets over the item instead (a keeps its lane).
  assert.equal(await a.insert("a1"), "x_1");
  await b.set("x_1", "b1");
  assert.equal(await a.insert("a2"), "x_2");
  // x_5 is held for an insert that has not happened: the lane ends (sealed at its next number),
  // and a goes on in a new lane after the names that exist.
  await b.set("x_5", "b5");
  assert.equal(await a.insert("a3"), "x_6");
  const reader = await DataSet.open(url, { s3: gw.options });
  assert.deepEqual(await reader.keys(), ["x_0", "x_1", "x_2", "x_5", "x_6"]);
  const values = await Promise.all((await reader.keys()).map((k) => reader.get(k)));
  assert.deepEqual(values, ["a0", "b1", "a2", "b5", "a3"]);
  assert.equal((await laneIds(new S3Store(url, gw.options))).length, 2);
});

test("lanes of writers that are gone are ended by later writers once idle, and only those", async (t) => {
  const gw = requireGateway(t);
  if (!gw) return;
  const url = gw.freshUrl("lane-idle");
  const gone = await DataSet.open(url, { mode: "w", s3: gw.options });
  await gone.insert("g0");
  await gone.insert("g1"); // and never closed: as if killed
  const store = new S3Store(url, gw.options);
  // Within the idle time (the stale-upload grace) a later writer leaves the lane alone.
  await DataSet.open(url, { mode: "w", s3: gw.options });
  assert.equal((await freshLog(gw, url)).lanes.open.size, 1);
  // After it, opening for writing ends it: seal, lane-end.
  await DataSet.open(url, { mode: "w", s3: { ...gw.options, staleUploadGrace: 0 } });
  const [id] = await laneIds(store);
  assert.equal(decode(await store.get(laneKey(id as string, 2))).seal, true);
  const log = await freshLog(gw, url);
  assert.equal(log.lanes.open.size, 0);
  assert.deepEqual(log.names(), ["x_0", "x_1"]);
  // The writer was only slow after all: its next insert finds the seal and takes a new lane.
  assert.equal(await gone.insert("g2"), "x_2");
  const reader = await DataSet.open(url, { s3: gw.options });
  assert.deepEqual(await Promise.all(["x_0", "x_1", "x_2"].map((k) => reader.get(k))), [
    "g0",
    "g1",
    "g2",
  ]);
});

test("insertMany in a lane: one object, consecutive names; a batch with no room starts a new lane", async (t) => {
  const gw = requireGateway(t);
  if (!gw) return;
  const url = gw.freshUrl("lane-many");
  const ds = (await DataSet.open(url, {
    mode: "w",
    s3: { ...gw.options, laneSize: 4 },
  })) as unknown as S3DataSet;
  assert.deepEqual(await ds.insertMany(["a", "b", "c"]), ["x_0", "x_1", "x_2"]);
  const store = new S3Store(url, gw.options);
  const [first] = await laneIds(store);
  assert.equal(decode(await store.get(laneKey(first as string, 0))).records.length, 3);
  // One name left in this lane: the batch goes to a new one, right after the names used.
  assert.deepEqual(await ds.insertMany(["d", "e"]), ["x_3", "x_4"]);
  // More than a lane of names at once: a lane of that size.
  const six = ["f", "g", "h", "i", "j", "k"];
  assert.deepEqual(
    await ds.insertMany(six),
    six.map((_, i) => `x_${5 + i}`),
  );
  const reader = await DataSet.open(url, { s3: gw.options });
  const keys = await reader.keys();
  assert.deepEqual(await Promise.all(keys.map((k) => reader.get(k))), [
    "a",
    "b",
    "c",
    "d",
    "e",
    ...six,
  ]);
  assert.equal(new Set(keys).size, keys.length);
});

test("snapshots carry the open lanes; a reader goes on from there", async (t) => {
  const gw = requireGateway(t);
  if (!gw) return;
  const url = gw.freshUrl("lane-snap");
  const slow = await DataSet.open(url, { mode: "w", s3: gw.options });
  for (let i = 0; i < 3; i++) await slow.insert(`s${i}`);
  // Lanes of one name: a log commit per insert, so snapshots come round.
  const busy = await DataSet.open(url, { mode: "w", s3: { ...gw.options, laneSize: 1 } });
  for (let i = 0; i < SNAPSHOT_EVERY; i++) await busy.insert(`b${i}`);
  await slow.insert("s3");
  const store = new S3Store(url, gw.options);
  const snaps = (await store.list("snapshots/")).map((e) => e.key);
  assert.equal(snaps.length, 1);
  const snap = decode(await store.get(snaps[0] as string));
  const open = (snap.lanes as unknown[][]).filter((row) => row[1] === "x_" && row[2] === 0);
  assert.equal(open.length, 1, "the slow writer's lane is in the snapshot");
  assert.equal(open[0]?.[4], 3, "with the three commits read when the snapshot was written");
  const reader = await DataSet.open(url, { s3: gw.options });
  const keys = await reader.keys();
  assert.equal(keys.length, SNAPSHOT_EVERY + 4);
  const values = new Set(await Promise.all(keys.map((k) => reader.get(k))));
  for (let i = 0; i < 4; i++) assert.ok(values.has(`s${i}`), `s${i}`);
  for (let i = 0; i < SNAPSHOT_EVERY; i++) assert.ok(values.has(`b${i}`), `b${i}`);
});

test("lane objects and records no writer of this library makes are a FormatError", async (t) => {
  const gw = requireGateway(t);
  if (!gw) return;
  const time = new Date().toISOString();
  const item = (name: string) => ({ op: "set", name, info: "null", item: "u1" });
  // What a hostile or broken client could put where the lane's next commit goes.
  const badLane: [string, unknown, RegExp][] = [
    ["a name not the lane's next", { time, records: [item("x_7")] }, /insert 1 of its lane/],
    ["__proto__", { time, records: [item("__proto__")] }, /insert 1 of its lane/],
    ["more inserts than names", { time, records: [item("x_1"), item("x_2")] }, /more inserts/],
    ["an upload outside items/", { time, records: [{ ...item("x_1"), item: "../x" }] }, /insert/],
    ["no records", { time, records: [] }, /not a lane commit/],
    ["no time", { records: [item("x_1")] }, /not a lane commit/],
  ];
  for (const [what, body, message] of badLane) {
    const url = gw.freshUrl("bad-lane");
    const ds = await DataSet.open(url, { mode: "w", s3: { ...gw.options, laneSize: 2 } });
    await ds.insert(0);
    const store = new S3Store(url, gw.options);
    const [id] = await laneIds(store);
    assert.ok(await store.putIfAbsent(laneKey(id as string, 1), encode(body)), what);
    await assert.rejects(
      async () => (await DataSet.open(url, { s3: gw.options })).keys(),
      (err: unknown) => {
        assert.ok(err instanceof FormatError, `${what}: ${err}`);
        assert.match(err.message, message, what);
        return true;
      },
    );
    assert.equal(Object.getPrototypeOf({}), Object.prototype);
  }
  // And in the log: reservations, lane-ends and lane positions as no writer makes them.
  const badLog: [string, unknown][] = [
    [
      "a lane id with a path",
      { records: [{ op: "lane", lane: "../x", prefix: "x_", first: 0, count: 4 }] },
    ],
    [
      "a prefix no name has",
      { records: [{ op: "lane", lane: "L1", prefix: "<b>", first: 0, count: 4 }] },
    ],
    [
      "a lane of no names",
      { records: [{ op: "lane", lane: "L1", prefix: "x_", first: 0, count: 0 }] },
    ],
    [
      "a lane-end with a bad insert",
      { records: [{ op: "lane-end", lane: "L1", records: [item("a b")] }] },
    ],
    ["a position that is not a count", { records: [], after: { L1: -1 } }],
    ["a position in a lane with a path", { records: [], after: { "../x": 1 } }],
  ];
  for (const [what, body] of badLog) {
    const url = gw.freshUrl("bad-log");
    await (await DataSet.open(url, { mode: "w", s3: gw.options })).insert(0);
    const store = new S3Store(url, gw.options);
    assert.ok(
      await store.putIfAbsent(logKey(2), encode({ commit: "hostile", time, ...(body as object) })),
    );
    await assert.rejects(
      async () => (await DataSet.open(url, { s3: gw.options })).keys(),
      FormatError,
      what,
    );
  }
  // A log entry that says its writer read lane commits that do not exist.
  const url = gw.freshUrl("bad-after");
  await (await DataSet.open(url, { mode: "w", s3: gw.options })).insert(0);
  const store = new S3Store(url, gw.options);
  const [id] = await laneIds(store);
  const after = { [id as string]: 5 };
  assert.ok(await store.putIfAbsent(logKey(2), encode({ commit: "h", time, records: [], after })));
  await assert.rejects(
    async () => (await DataSet.open(url, { s3: gw.options })).keys(),
    /follows commit 1 of lane .* is missing/,
  );
});

test("laneSize is checked; lastCommit() moves with lane inserts too", async (t) => {
  const gw = requireGateway(t);
  if (!gw) return;
  const url = gw.freshUrl("lane-size");
  for (const laneSize of [-1, 1.5, 1025, Number.NaN]) {
    await assert.rejects(
      DataSet.open(url, { mode: "w", s3: { ...gw.options, laneSize } }),
      /laneSize must be an integer from 0 to 1024/,
    );
  }
  const ds = await DataSet.open(url, { mode: "w", s3: gw.options });
  const reader = (await DataSet.open(url, { s3: gw.options })) as unknown as S3DataSet;
  const before = await reader.lastCommit();
  await ds.insert(1);
  const one = await reader.lastCommit();
  await ds.insert(2);
  const two = await reader.lastCommit();
  assert.ok(before < one && one < two, `${before} < ${one} < ${two}`);
});

for (const laneSize of [64, 3]) {
  test(`concurrent inserts on one handle take distinct names (laneSize ${laneSize})`, async (t) => {
    const gw = requireGateway(t);
    if (!gw) return;
    const url = gw.freshUrl("lane-parallel");
    const ds = (await DataSet.open(url, {
      mode: "w",
      s3: { ...gw.options, laneSize },
    })) as unknown as S3DataSet;
    const names = (
      await Promise.all([
        ...Array.from({ length: 20 }, (_, i) => ds.insert(`v${i}`).then((n) => [n])),
        ds.insertMany(["m0", "m1"]),
        ds.insertMany(["n0", "n1", "n2"]),
      ])
    ).flat();
    assert.equal(new Set(names).size, 25, names.join(" "));
    const reader = await DataSet.open(url, { s3: gw.options });
    assert.deepEqual((await reader.keys()).sort(), [...names].sort());
    const values = await Promise.all(names.map((n) => reader.get(n)));
    assert.deepEqual(
      [...values].sort(),
      [...Array.from({ length: 20 }, (_, i) => `v${i}`), "m0", "m1", "n0", "n1", "n2"].sort(),
    );
    await ds.close();
    assert.equal((await freshLog(gw, url)).lanes.open.size, 0, "close() ended every lane");
  });
}

test("an insert costs the same requests whatever the DataSet's size (O(1), as the contract says)", async (t) => {
  const gw = requireGateway(t);
  if (!gw) return;
  const costs: Record<string, number>[] = [];
  for (const size of [5, 400]) {
    const url = gw.freshUrl(`lane-cost-${size}`);
    const filler = (await DataSet.open(url, { mode: "w", s3: gw.options })) as unknown as S3DataSet;
    await filler.insertMany(Array.from({ length: size }, (_, i) => i));
    await filler.close();
    const ds = await DataSet.open(url, { mode: "w", s3: gw.options });
    await ds.insert("first"); // reserves this writer's lane: one log commit per 64 inserts
    costs.push(
      await storeCalls(async () => {
        for (let i = 0; i < 5; i++) await ds.insert(i, { info: { i } });
      }),
    );
    assert.equal((await ds.keys()).length, size + 6);
  }
  // Five inserts: the item's module each (no data files here) and one put-if-absent in the lane.
  assert.deepEqual(costs[0], { put: 5, putIfAbsent: 5 });
  assert.deepEqual(costs[1], costs[0]);
});
