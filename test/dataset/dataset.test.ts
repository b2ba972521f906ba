import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { rm } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { itemDataLocation } from "../../src/dataset/codec.js";
import { encodeRecord } from "../../src/dataset/records.js";
import {
  ArchiveError,
  DataSet,
  FormatError,
  InvalidNameError,
  NDArray,
  NotFoundError,
  ReadOnlyError,
  UnsupportedValueError,
} from "../../src/index.js";
import { tempPathFor } from "../../src/store/atomic.js";
import { PROCESS_TAG } from "../../src/store/process.js";
import { makeStaging } from "../../src/store/publish.js";
import { tempDir } from "../helpers/tmp.js";

async function newDataSet(options: Parameters<typeof DataSet.open>[1] = {}) {
  const path = join(await tempDir(), "ds");
  return { path, ds: await DataSet.open(path, { mode: "w", ...options }) };
}

/** Every file under `dir` with its content, to prove nothing was touched. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath ?? entry.path, entry.name);
    out[path] = entry.isDirectory() ? "<dir>" : readFileSync(path, "utf8");
  }
  return out;
}

test("open: 'r' on a missing path is NotFoundError; 'w' creates it; 'r' then reads it", async () => {
  const path = join(await tempDir(), "deep", "ds");
  await assert.rejects(DataSet.open(path), NotFoundError);
  assert.equal(existsSync(path), false);
  const ds = await DataSet.open(path, { mode: "w" });
  assert.deepEqual(await ds.keys(), []);
  await ds.set("a", 1);
  const reader = await DataSet.open(path);
  assert.deepEqual(await reader.keys(), ["a"]);
  assert.equal(await reader.get("a"), 1);
});

test("open: an existing empty directory becomes a DataSet in mode 'w'", async () => {
  const path = await tempDir();
  await assert.rejects(DataSet.open(path), ArchiveError, "mode r does not create it");
  await assert.rejects(
    DataSet.open(path, { mode: "w", dataFormat: "csv" as "npy" }),
    /dataFormat must be/,
  );
  assert.deepEqual(readdirSync(path), []);
  const ds = await DataSet.open(path, { mode: "w" });
  assert.equal(await ds.insert(5), "x_0");
});

test("open: a directory that is not a DataSet is an ArchiveError and left untouched", async () => {
  const path = await tempDir();
  writeFileSync(join(path, "notes.txt"), "mine");
  mkdirSync(join(path, "sub"));
  writeFileSync(join(path, "sub", "index.mjs"), "export const x = 1;\n");
  const before = snapshot(path);
  for (const mode of ["r", "w"] as const) {
    await assert.rejects(DataSet.open(path, { mode }), (err: unknown) => {
      assert.ok(err instanceof ArchiveError);
      assert.match(err.message, /not a DataSet/);
      assert.ok(err.message.includes(path));
      return true;
    });
  }
  assert.deepEqual(snapshot(path), before);
  const file = join(path, "notes.txt");
  await assert.rejects(DataSet.open(file, { mode: "w" }), /is a file/);
  assert.deepEqual(snapshot(path), before);
});

test("read-only mode: every write is a ReadOnlyError and nothing changes", async () => {
  const { path, ds } = await newDataSet();
  await ds.set("a", 1, { info: "i" });
  const before = snapshot(path);
  const reader = await DataSet.open(path, { mode: "r" });
  const writes: (() => Promise<unknown>)[] = [
    () => reader.set("b", 2),
    () => reader.insert(3),
    () => reader.setInfo("a", "j"),
    () => reader.delete("a"),
    () => reader.withLock(async () => 1),
  ];
  for (const write of writes) {
    await assert.rejects(write(), (err: unknown) => {
      assert.ok(err instanceof ReadOnlyError);
      assert.match(err.message, /mode: "w"/);
      return true;
    });
  }
  assert.deepEqual(snapshot(path), before);
  assert.equal(await reader.info("a"), "i");
});

test("invalid item names are InvalidNameError with nothing written", async () => {
  const { path, ds } = await newDataSet();
  const before = snapshot(path);
  const bad = [
    "",
    "a/b",
    "..",
    "../x",
    "a\0b",
    "index",
    "Index",
    "_private",
    "__proto__",
    "class",
    "default",
    "1abc",
    "a-b",
    " a",
    "a.b",
    "a\\b",
    "ünïcödé",
    7 as unknown as string,
  ];
  for (const name of bad) {
    await assert.rejects(ds.set(name, 1), InvalidNameError, JSON.stringify(name));
  }
  await assert.rejects(
    DataSet.open(join(path, "..", "other"), { mode: "w", namePrefix: "a-" }),
    InvalidNameError,
  );
  assert.deepEqual(snapshot(path), before);
  await ds.set("ok_name$", 1);
  await ds.set("$A9", 2);
  assert.deepEqual(await ds.keys(), ["ok_name$", "$A9"]);
});

test("set / get / info / setInfo / has / delete", async () => {
  const { path, ds } = await newDataSet();
  await ds.set("a", { v: 1 });
  assert.equal(await ds.info("a"), null, "null when no info was given");
  await ds.set("b", [1, 2], { info: { kind: "list" } });
  assert.deepEqual(await ds.get("b"), [1, 2]);
  assert.deepEqual(await ds.info("b"), { kind: "list" });
  await ds.set("b", [3], {});
  assert.deepEqual(await ds.get("b"), [3], "set replaces the value");
  assert.deepEqual(await ds.info("b"), { kind: "list" }, "and keeps the info when none is given");
  await ds.set("a", { v: 2 }, { info: "new" });
  assert.equal(await ds.info("a"), "new");
  await ds.setInfo("a", [1, "x"]);
  assert.deepEqual(await ds.info("a"), [1, "x"]);
  assert.deepEqual(await ds.keys(), ["a", "b"], "replacing keeps the insertion order");
  assert.equal(await ds.has("a"), true);
  await ds.delete("a");
  assert.equal(await ds.has("a"), false);
  assert.equal(existsSync(join(path, "a.mjs")), false, "the item file is removed");
  for (const op of [
    () => ds.get("a"),
    () => ds.info("a"),
    () => ds.setInfo("a", 1),
    () => ds.delete("a"),
  ]) {
    await assert.rejects(op(), (err: unknown) => {
      assert.ok(err instanceof NotFoundError);
      assert.match(err.message, /no item "a"/);
      return true;
    });
  }
  await ds.set("a", 9);
  assert.deepEqual(await ds.keys(), ["b", "a"], "re-added after delete: at the end");
});

test("a value or info that cannot be archived is an error and leaves the DataSet unchanged", async () => {
  const { path, ds } = await newDataSet();
  await ds.set("a", 1, { info: 1 });
  const before = snapshot(path);
  const bad: unknown[] = [() => 1, { deep: [new WeakMap()] }, new (class Unregistered {})()];
  for (const value of bad) {
    await assert.rejects(ds.set("b", value), UnsupportedValueError);
    await assert.rejects(ds.set("a", value, { info: 2 }), UnsupportedValueError);
    await assert.rejects(ds.insert(value), UnsupportedValueError);
    await assert.rejects(ds.set("c", 1, { info: value }), UnsupportedValueError);
    await assert.rejects(ds.insert(1, { info: value }), UnsupportedValueError);
    await assert.rejects(ds.setInfo("a", value), UnsupportedValueError);
  }
  assert.deepEqual(snapshot(path), before);
  assert.deepEqual(await ds.keys(), ["a"]);
  assert.equal(await ds.get("a"), 1);
  assert.equal(await ds.info("a"), 1);
});

test("insert names: prefix + next integer, never reused after delete or compaction", async () => {
  const { path, ds } = await newDataSet({ namePrefix: "run_" });
  assert.equal(await ds.insert("a"), "run_0");
  assert.equal(await ds.insert("b"), "run_1");
  await ds.set("run_7", "manual");
  assert.equal(await ds.insert("c"), "run_8");
  await ds.delete("run_8");
  // force compaction: many superseded lines
  for (let i = 0; i < 150; i++) await ds.setInfo("run_0", i);
  const lines = readFileSync(join(path, "index.mjs"), "utf8").split("\n").length;
  assert.ok(lines < 80, `compacted (${lines} lines, 150+ without compaction)`);
  assert.equal(await ds.info("run_0"), 149);
  assert.deepEqual(await ds.keys(), ["run_0", "run_1", "run_7"]);
  assert.equal(await ds.insert("d"), "run_9", "run_8 was used once: not reused");
  const other = await DataSet.open(path, { mode: "w" });
  assert.equal(await other.insert("e"), "x_0", "another prefix counts on its own");
});

test("handles see each other's writes, and a compaction by another handle", async () => {
  const { path, ds } = await newDataSet();
  const other = await DataSet.open(path, { mode: "w" });
  await ds.insert(1);
  assert.deepEqual(await other.keys(), ["x_0"]);
  assert.equal(await other.insert(2), "x_1");
  for (let i = 0; i < 150; i++) await other.setInfo("x_0", i);
  const ino = statSync(join(path, "index.journal")).ino;
  assert.equal(await ds.info("x_0"), 149);
  assert.equal(await ds.insert(3), "x_2");
  assert.deepEqual(await ds.keys(), ["x_0", "x_1", "x_2"]);
  assert.equal(statSync(join(path, "index.journal")).ino, ino);
});

test("a journal replaced by a file with the same inode number is read again from its start", async () => {
  // A compaction replaces the journal with a new file, which may get the inode number of a file
  // freed just before (ext4 hands it out again); its birth time may not tell either, at a coarse
  // clock. Simulated here at its worst, in place: same inode, same birth time, bigger than what
  // the open handle had read, records at other offsets.
  const { path, ds } = await newDataSet();
  for (let i = 0; i < 6; i++) await ds.insert(i, { info: { i } });
  const reader = await DataSet.open(path);
  assert.equal((await reader.keys()).length, 6);
  const other = join(await tempDir(), "other");
  const writer = await DataSet.open(other, { mode: "w" });
  for (let i = 0; i < 9; i++) await writer.insert(i * 10, { info: { j: i, pad: "x".repeat(i) } });
  const index = join(path, "index.journal");
  const ino = statSync(index).ino;
  const replacement = readFileSync(join(other, "index.journal"));
  assert.ok(replacement.length > statSync(index).size, "bigger than what the reader consumed");
  const fd = openSync(index, "r+");
  writeSync(fd, replacement, 0, replacement.length, 0);
  closeSync(fd);
  assert.equal(statSync(index).ino, ino);
  // The reader sees the new journal's nine items (their modules are missing here: infos only).
  assert.deepEqual(
    await reader.keys(),
    Array.from({ length: 9 }, (_, i) => `x_${i}`),
  );
  assert.deepEqual(await reader.info("x_8"), { j: 8, pad: "xxxxxxxx" });
});

test("an insert reads only the appended tail of the index (O(1)), not the whole index", async () => {
  const { path, ds } = await newDataSet();
  for (let i = 0; i < 5; i++) await ds.insert(i, { info: i });
  // Damage an early record in place (same size and inode). A reader starting from scratch fails
  // on it (its checksum no longer matches and intact records follow); the open handle, which read
  // it already, only reads what comes after.
  const index = join(path, "index.journal");
  const text = readFileSync(index, "utf8");
  const at = text.indexOf('"set":"x_1"');
  const fd = openSync(index, "r+");
  writeSync(fd, "#", at);
  closeSync(fd);
  assert.equal(await ds.insert(5, { info: 5 }), "x_5");
  assert.deepEqual(await ds.keys(), ["x_0", "x_1", "x_2", "x_3", "x_4", "x_5"]);
  await assert.rejects(DataSet.open(path), (err: unknown) => {
    assert.ok(err instanceof FormatError);
    assert.equal(err.line, text.slice(0, at).split("\n").length);
    return true;
  });
});

test("a torn last index line is ignored by readers and truncated by the next writer", async () => {
  const { path, ds } = await newDataSet();
  await ds.insert("a", { info: "a" });
  const index = join(path, "index.journal");
  const good = readFileSync(index, "utf8");
  appendFileSync(index, '0badf00d [{"set":"x_1","info":{"half'); // what a writer killed mid-write could leave
  const reader = await DataSet.open(path);
  assert.deepEqual(await reader.keys(), ["x_0"]);
  assert.equal(readFileSync(index, "utf8").endsWith("half"), true, "a reader never writes");
  assert.equal(await ds.insert("b", { info: "b" }), "x_1");
  const repaired = readFileSync(index, "utf8");
  assert.ok(repaired.startsWith(good) && !repaired.includes("half"));
  assert.deepEqual(await reader.keys(), ["x_0", "x_1"]);
  const out = execFileSync(process.execPath, [
    "--input-type=module",
    "-e",
    `const { info } = await import(${JSON.stringify(join(path, "index.mjs"))}); console.log(JSON.stringify(info));`,
  ]);
  assert.deepEqual(JSON.parse(out.toString()), { x_0: "a", x_1: "b" });
});

test("native import (child process, outside the repo): index gives infos, an item its value", async () => {
  const { path, ds } = await newDataSet();
  await ds.insert({ n: 1 }, { info: { tag: "first" } });
  await ds.set("named", [1, "two"]);
  const script = join(path, "..", "check.mjs");
  writeFileSync(
    script,
    `import { info } from "./ds/index.mjs";\nimport item from "./ds/x_0.mjs";\nimport named from "./ds/named.mjs";\n` +
      "console.log(JSON.stringify({ info, item, named }));\n",
  );
  const out = execFileSync(process.execPath, [script], { cwd: join(path, "..") });
  assert.deepEqual(JSON.parse(out.toString()), {
    info: { x_0: { tag: "first" }, named: null },
    item: { n: 1 },
    named: [1, "two"],
  });
});

test("withLock: read-modify-write inside reuses the lock and returns fn's value", async () => {
  const { path, ds } = await newDataSet();
  await ds.set("counter", 0, { info: 0 });
  const other = await DataSet.open(path, { mode: "w" });
  const bump = (handle: DataSet) =>
    handle.withLock(async () => {
      const n = (await handle.info("counter")) as number;
      await handle.set("counter", n + 1, { info: n + 1 });
      return n + 1;
    });
  const results = await Promise.all([bump(ds), bump(other), bump(ds), bump(other)]);
  assert.deepEqual([...results].sort(), [1, 2, 3, 4]);
  assert.equal(await ds.get("counter"), 4);
  assert.equal(existsSync(join(path, ".persist-dataset.lock")), false);
});

test("close: later operations fail; Symbol.asyncDispose closes", async () => {
  const { ds } = await newDataSet();
  await ds[Symbol.asyncDispose]();
  await assert.rejects(ds.keys(), /closed/);
  await assert.rejects(ds.insert(1), /closed/);
});

for (const dataFormat of ["npy", "npz", "hdf5"] as const) {
  test(`items with big arrays (${dataFormat}) and rich infos round-trip; native import agrees`, async () => {
    const { path, ds } = await newDataSet({ dataFormat, arrayThreshold: 10 });
    const big = Float64Array.from({ length: 1000 }, (_, i) => i / 3);
    const grid = new NDArray(
      Int32Array.from({ length: 24 }, (_, i) => i - 5),
      [2, 3, 4],
    );
    const cyclic: { self?: unknown; small: Uint8Array } = { small: new Uint8Array([1, 2, 3]) };
    cyclic.self = cyclic;
    const info = {
      when: new Date(Date.UTC(2020, 1, 2)),
      tags: new Set(["a", "b"]),
      n: 10n,
      odd: [Number.NaN, -0, Number.POSITIVE_INFINITY, undefined],
      m: new Map<unknown, unknown>([[1, { long: "x\n".repeat(80) }]]),
    };
    const a = await ds.insert(big, { info });
    const b = await ds.insert({ grid, cyclic });
    assert.deepEqual(await ds.get(a), big);
    assert.deepEqual(await ds.info(a), info);
    const loaded = (await ds.get(b)) as { grid: NDArray; cyclic: typeof cyclic };
    assert.deepEqual(loaded.grid.shape, [2, 3, 4]);
    assert.deepEqual(loaded.grid.data, grid.data);
    assert.equal(loaded.cyclic.self, loaded.cyclic);
    assert.equal(
      readFileSync(join(path, "index.journal"), "utf8").split("\n").length,
      4,
      "a header and one record per insert",
    );
    if (dataFormat === "hdf5") return; // native import of hdf5 needs h5wasm beside the archive
    const script = join(path, "..", "check.mjs");
    writeFileSync(
      script,
      `import { info } from "./ds/index.mjs";\nimport big from "./ds/${a}.mjs";\n` +
        `console.log(JSON.stringify({ n: String(info.${a}.n), len: big.length, last: big[999], b: info.${b} }));\n`,
    );
    const out = execFileSync(process.execPath, [script], { cwd: join(path, "..") });
    assert.deepEqual(JSON.parse(out.toString()), { n: "10", len: 1000, last: 333, b: null });
  });
}

test("an index line naming something that is not an item (e.g. __proto__) is a FormatError", async () => {
  const { path, ds } = await newDataSet();
  await ds.set("constructor", 1, { info: "fine" });
  // A record with a valid checksum: what a buggy or hostile writer could append.
  appendFileSync(
    join(path, "index.journal"),
    encodeRecord([{ set: "__proto__", info: { polluted: true } }]),
  );
  await assert.rejects(DataSet.open(path), (err: unknown) => {
    assert.ok(err instanceof FormatError);
    assert.equal(err.line, 3);
    return true;
  });
});

test("opening for writing removes old temp files of dead writers, nothing else", async () => {
  const { path, ds } = await newDataSet();
  await ds.insert(1);
  const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]);
  const deadPid = dead.stdout.toString();
  const old = new Date(Date.now() - 3_600_000);
  const staging = join(path, `.x_9.mjs.${deadPid}.0123abcd.tmp`);
  mkdirSync(staging);
  writeFileSync(join(staging, "x_9.mjs"), "export default 1;\n");
  const tempFile = join(path, `.index.journal.${deadPid}.89abcdef.tmp`);
  writeFileSync(tempFile, "partial");
  // A recent staging folder of a dead pid that no claim covers: removed at once.
  const fresh = join(path, `.x_8.mjs.${deadPid}.00000000.tmp`);
  // One a live claim covers (e.g. a writer on another host whose pid means nothing here): kept.
  const claimed = join(path, `.x_6.mjs.${deadPid}.22222222.tmp`);
  writeFileSync(
    join(path, ".x_6.claim"),
    JSON.stringify({ pid: process.pid, host: hostname(), token: "0123456789abcdef", time: 0 }),
  );
  const live = join(path, `.x_7.mjs.${process.pid}.11111111.tmp`);
  const mine = join(path, ".user-notes.tmp");
  for (const f of [fresh, claimed, live, mine]) writeFileSync(f, "");
  for (const f of [staging, tempFile, live, mine]) utimesSync(f, old, old);
  await DataSet.open(path); // mode "r" removes nothing
  assert.ok(existsSync(staging));
  await DataSet.open(path, { mode: "w" });
  assert.equal(existsSync(staging), false);
  assert.equal(existsSync(tempFile), false);
  assert.equal(existsSync(fresh), false);
  for (const f of [claimed, live, mine]) assert.ok(existsSync(f), f);
  assert.deepEqual(await ds.keys(), ["x_0"]);
});

test("temp names carry the writer's start time: a leftover whose pid was reused is removed", async (t) => {
  if (!PROCESS_TAG.includes("-")) {
    t.skip("no process start time on this platform (/proc): temp names carry only the pid");
    return;
  }
  const { path, ds } = await newDataSet();
  await ds.insert(1);
  // This process's own pid with another start time: what a dead writer's leftover looks like once
  // its pid has been handed to a new process (here, this one).
  const [pid, start] = PROCESS_TAG.split("-").map(Number) as [number, number];
  const reused = join(path, `.x_5.mjs.${pid}-${start + 1}.33333333.tmp`);
  const ours = join(path, `.x_4.mjs.${PROCESS_TAG}.44444444.tmp`);
  for (const f of [reused, ours]) writeFileSync(f, "");
  await DataSet.open(path, { mode: "w" });
  assert.equal(existsSync(reused), false, "the reused pid's leftover is removed");
  assert.ok(existsSync(ours), "a live writer's temp file (same pid and start time) is kept");
  // Temp files and staging folders this process makes are named with its tag.
  const staging = await makeStaging(join(path, "x_3.mjs"));
  await rm(staging, { recursive: true });
  for (const name of [tempPathFor(join(path, "x_3.mjs")), staging]) {
    assert.match(name, new RegExp(`\\.x_3\\.mjs\\.${PROCESS_TAG}\\.[0-9a-f]{8}\\.tmp$`));
  }
});

test("replacing and deleting items with external arrays leaves no stale data files", async () => {
  const { path, ds } = await newDataSet({ arrayThreshold: 4 });
  const itemEntries = () =>
    readdirSync(path).filter((f) => f.startsWith("a.") || f.startsWith("a_"));
  // A replacement writes a version `a.v<hex>` (named by the index record, the commit point) and
  // links a.mjs / a.d.mts to it; only the current version's files stay.
  const version = () => {
    const data = readdirSync(path)
      .find((f) => /^a\.v[0-9a-f]{8}\.mjs$/.test(f))!
      .slice(0, -4);
    return [`${data}.d.mts`, `${data}.mjs`];
  };
  await ds.set("a", new Float64Array(10).fill(1));
  assert.deepEqual(itemEntries().sort(), ["a.d.mts", "a.mjs", "a_arrays"], "a new name: plain");
  await ds.set("a", new Float64Array(10).fill(2));
  await ds.set("a", new Float64Array(10).fill(3));
  const data = await itemDataLocation(path, "a");
  assert.match(data!, /^a\.v[0-9a-f]{8}_arrays$/);
  assert.deepEqual(itemEntries().sort(), ["a.d.mts", "a.mjs", ...version(), data].sort());
  assert.deepEqual(await ds.get("a"), new Float64Array(10).fill(3));
  await ds.set("a", [1, 2]); // now inline: the data files go
  assert.deepEqual(itemEntries().sort(), ["a.d.mts", "a.mjs", ...version()].sort());
  await ds.set("a", new Float64Array(10).fill(4));
  await ds.delete("a");
  assert.deepEqual(itemEntries(), []);
});

test("opening for writing removes what a replacement killed before its rename left behind", async () => {
  const { path, ds } = await newDataSet();
  await ds.set("a", new Float64Array(500));
  await ds.set("a", new Float64Array(500).fill(2)); // a replacement: data now at a.v<hex>_arrays
  const live = await itemDataLocation(path, "a");
  assert.ok(live !== undefined && /^a\.v[0-9a-f]{8}_arrays$/.test(live), String(live));
  // What a writer killed between its versioned save and the rename leaves behind:
  mkdirSync(join(path, "a.v0badf00d_arrays"));
  writeFileSync(join(path, "a.v0badf00d_arrays", "array_0.npy"), "partial");
  writeFileSync(join(path, "a.v0badf00d.mjs"), "export default 1;\n");
  writeFileSync(join(path, "a.v0badf00d.d.mts"), "");
  writeFileSync(join(path, "b.v12345678_arrays.npz"), "x");
  await ds.close();
  await (await DataSet.open(path, { mode: "r" })).close();
  assert.ok(existsSync(join(path, "a.v0badf00d.mjs")), "a read-only open changes nothing");
  const again = await DataSet.open(path, { mode: "w" });
  const left = readdirSync(path).filter((f) => /\.v[0-9a-f]{8}/.test(f));
  const current = live.slice(0, -"_arrays".length);
  assert.deepEqual(
    left.sort(),
    [`${current}.d.mts`, `${current}.mjs`, live].sort(),
    "only the committed version is kept",
  );
  assert.deepEqual(await again.get("a"), new Float64Array(500).fill(2));
  await again.close();
});
