// Hostile or damaged DataSet folders (issue 8): files that are not regular files, symlinks out of
// the folder, forged locks, thenables, and errors that must name the right place.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { encodeRecord } from "../../src/dataset/records.js";
import { DataSet, FormatError, UnsupportedValueError } from "../../src/index.js";
import { acquireLock } from "../../src/store/lock.js";
import { tempDir } from "../helpers/tmp.js";

async function newDataSet(options: Parameters<typeof DataSet.open>[1] = {}) {
  const path = join(await tempDir(), "ds");
  return { path, ds: await DataSet.open(path, { mode: "w", ...options }) };
}

/** Settles with the promise, or rejects after 20 s: a hang fails the test instead of the run. */
function settles<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} hung`)), 20_000);
  });
  return Promise.race([promise, hang]).finally(() => clearTimeout(timer));
}

function deadPid(): number {
  return spawnSync(process.execPath, ["-e", ""]).pid!;
}

/** Replace `file` by a FIFO, a symlink to /dev/zero, or a directory. */
function plant(file: string, kind: "fifo" | "zero" | "dir" | "outside"): string | undefined {
  rmSync(file, { recursive: true, force: true });
  if (kind === "fifo") execFileSync("mkfifo", [file]);
  else if (kind === "zero") symlinkSync("/dev/zero", file);
  else if (kind === "dir") mkdirSync(file);
  else {
    const outside = join(file, "..", "..", `outside-${Math.random().toString(16).slice(2)}`);
    writeFileSync(outside, "secret\n");
    symlinkSync(outside, file);
    return outside;
  }
  return undefined;
}

for (const kind of ["fifo", "zero", "dir"] as const) {
  test(`a ${kind} as marker, index journal, index.mjs (format 1) or lock: FormatError, no hang`, async () => {
    const { path, ds } = await newDataSet();
    await ds.insert(1, { info: { a: 1 } });
    for (const file of [".persist-dataset.json", "index.journal"]) {
      const saved = readFileSync(join(path, file));
      plant(join(path, file), kind);
      await assert.rejects(settles(DataSet.open(path), `open with ${file}`), FormatError);
      if (file === "index.journal") {
        await assert.rejects(settles(ds.keys(), `keys with ${file}`), FormatError);
      }
      rmSync(join(path, file), { recursive: true, force: true });
      writeFileSync(join(path, file), saved);
    }
    // The lock: a writer must not hang on it or read /dev/zero; a typed error says what to do.
    plant(join(path, ".persist-dataset.lock"), kind);
    await assert.rejects(settles(ds.insert(2), "insert with a bad lock"), (err: unknown) => {
      assert.ok(err instanceof FormatError, String(err));
      assert.match(err.message, /persist-dataset\.lock/);
      return true;
    });
    rmSync(join(path, ".persist-dataset.lock"), { recursive: true, force: true });
    assert.equal(await ds.insert(2), "x_1");
  });
}

test("a FIFO or /dev/zero as an item module: get() is a FormatError, never a hang", async () => {
  const { path, ds } = await newDataSet();
  await ds.insert({ a: 1 });
  for (const kind of ["fifo", "zero"] as const) {
    plant(join(path, "x_0.mjs"), kind);
    await assert.rejects(settles(ds.get("x_0"), `get of a ${kind}`), FormatError);
  }
});

test("format 1 index.mjs as a FIFO: FormatError, no hang", async () => {
  const path = join(await tempDir(), "v1");
  mkdirSync(path);
  writeFileSync(
    join(path, ".persist-dataset.json"),
    '{"format":"persist-archive DataSet","version":1}\n',
  );
  execFileSync("mkfifo", [join(path, "index.mjs")]);
  await assert.rejects(settles(DataSet.open(path), "open v1 with a FIFO index"), FormatError);
});

test("writers never write through symlinks: a journal or item file linked outside is refused or replaced", async () => {
  const { path, ds } = await newDataSet();
  await ds.insert(1);
  // The journal linked to a file outside: appending to it would write outside the DataSet.
  const journal = readFileSync(join(path, "index.journal"));
  const outside = plant(join(path, "index.journal"), "outside")!;
  writeFileSync(outside, journal);
  await assert.rejects(ds.insert(2), FormatError);
  await assert.rejects(ds.setInfo("x_0", 5), FormatError);
  assert.deepEqual(readFileSync(outside), journal, "the file outside is unchanged");
  rmSync(join(path, "index.journal"));
  writeFileSync(join(path, "index.journal"), journal);
  // Item files planted as symlinks under the next names: the writer replaces the link itself.
  const victims = ["x_1.mjs", "x_1.d.mts", "x_2.mjs", "x_3.mjs"].map((f) => {
    const target = plant(join(path, f), "outside")!;
    return target;
  });
  assert.equal(await ds.insert({ b: 2 }), "x_1");
  assert.deepEqual(await ds.insertMany([{ c: 3 }, { d: 4 }]), ["x_2", "x_3"]);
  for (const victim of victims) assert.equal(readFileSync(victim, "utf8"), "secret\n", victim);
  assert.deepEqual(await ds.get("x_3"), { d: 4 });
});

test("forged locks: pid 0, -1, non-integer or huge never count as a live holder", async () => {
  const { path, ds } = await newDataSet();
  const lock = join(path, ".persist-dataset.lock");
  for (const pid of [0, -1, 1.5, 2 ** 40, "1"]) {
    writeFileSync(lock, JSON.stringify({ pid, host: hostname(), token: "forged", time: 0 }));
    await ds.insert(pid, { info: { pid } }); // the default timeout is 60 s: recovered at once
  }
  assert.equal((await ds.keys()).length, 5);
  assert.equal(existsSync(lock), false);
  // A forged token cannot name a takeover claim outside the folder.
  writeFileSync(
    lock,
    JSON.stringify({ pid: deadPid(), host: hostname(), token: "../../x", time: 0 }),
  );
  const held = await acquireLock(lock, { timeout: 5000 });
  await held.release();
  assert.equal(existsSync(join(path, "..", "..", "x")), false);
});

test("info() errors name the journal line of the bad record", async () => {
  const { path, ds } = await newDataSet();
  for (let i = 0; i < 4; i++) await ds.insert(i, { info: { i } });
  // A record with a valid checksum whose expression is outside the archive language.
  writeFileSync(
    join(path, "index.journal"),
    Buffer.concat([
      readFileSync(join(path, "index.journal")),
      encodeRecord([{ set: "x_2", expr: "globalThis.process.exit(3)" }]),
    ]),
  );
  await ds.info("x_0");
  await assert.rejects(ds.info("x_2"), (err: unknown) => {
    assert.ok(err instanceof FormatError, String(err));
    assert.equal(err.line, 6);
    assert.match(err.message, /index\.journal:6/);
    return true;
  });
  await assert.rejects(ds.infos(), (err: unknown) => err instanceof FormatError && err.line === 6);
});

/** `{ then: value }` (built, not written literally: the linter rightly flags thenables). */
function withThen(value: unknown): Record<string, unknown> {
  // biome-ignore lint/suspicious/noThenProperty: thenables are what this test is about
  return Object.fromEntries([["then", value]]);
}

test("thenables: an item or info with a callable then is refused at insert, nothing written", async () => {
  const { path, ds } = await newDataSet();
  const before = readFileSync(join(path, "index.journal"));
  const thenables = [
    withThen(Math.max),
    withThen(() => {}),
    Object.assign(
      () => 1,
      withThen(() => 1),
    ),
  ];
  for (const t of thenables) {
    await assert.rejects(ds.set("item", t), UnsupportedValueError);
    await assert.rejects(ds.insert(t), UnsupportedValueError);
    await assert.rejects(ds.insert(1, { info: t }), UnsupportedValueError);
    await assert.rejects(ds.set("item", 1, { info: t }), UnsupportedValueError);
    await assert.rejects(ds.insertMany([1, t]), UnsupportedValueError);
    await assert.rejects(ds.insertMany([1, 2], { infos: [1, t] }), UnsupportedValueError);
  }
  await ds.insert(1);
  await assert.rejects(ds.setInfo("x_0", withThen(Math.min)), UnsupportedValueError);
  assert.deepEqual(await ds.keys(), ["x_0"]);
  assert.ok(readFileSync(join(path, "index.journal")).length > before.length);
  // A nested `then` is fine: await only looks at the value itself.
  await ds.set("nested", { inner: withThen(1) }, { info: { inner: withThen("x") } });
  assert.deepEqual(await ds.get("nested"), { inner: withThen(1) });
});
