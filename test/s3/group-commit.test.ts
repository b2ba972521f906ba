/**
 * Group commit on the real gateway (commit-log.ts): writers publish intents, and whoever claims
 * the next commit takes the fresh intents it sees. An intent is committed at most once, never after
 * its item was deleted, and garbage intent keys are ignored. (Writer processes that always share
 * commits, SIGKILLed or not: concurrency.test.ts, mode "no lanes, group commit always".)
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { intentKey } from "../../src/dataset/commit-log.js";
import { Archive, DataSet } from "../../src/index.js";
import { RUNTIME_FILE } from "../../src/store/layout.js";
import { S3Store } from "../../src/store/s3-store.js";
import { requireGateway } from "./gateway.js";

/** Upload `value` as a writer does (items/<id>/…) and return the upload id. */
async function uploadLikeAWriter(store: S3Store, value: unknown): Promise<string> {
  const archive = new Archive({ singleItem: true });
  archive.insert({ item: value });
  const dir = await mkdtemp(join(tmpdir(), "persist-intent-"));
  try {
    await archive.save(dir, { name: "item", package: false, force: true });
    const id = `${Date.now().toString(36)}-${randomBytes(8).toString("hex")}`;
    const files = (await readdir(dir, { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile() && e.name !== RUNTIME_FILE && !e.name.endsWith(".d.mts"))
      .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
      .sort((a, b) => Number(a.endsWith(".mjs")) - Number(b.endsWith(".mjs")));
    for (const file of files)
      await store.put(`items/${id}/${file}`, await readFile(join(dir, file)));
    return id;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test("an intent left by a killed writer is committed once, never after its item is deleted", async (t) => {
  const gw = requireGateway(t);
  if (!gw) return;
  const url = gw.freshUrl("intent");
  // laneSize 0: inserts commit to the shared log (with lanes, single inserts never share commits)
  const s3 = { ...gw.options, groupCommit: "always" as const, laneSize: 0 };
  const a = await DataSet.open(url, { mode: "w", s3 });
  await a.insert("first", { info: { k: 0 } });
  // A writer uploaded its item and published its intent after seeing commit 1, then died.
  const store = new S3Store(url, gw.options);
  const dead = await uploadLikeAWriter(store, { dead: [1, 2, 3] });
  const key = intentKey({ head: 1, prefix: "x_", uploads: [dead], infos: ["{ dead: true }"] });
  assert.ok(key);
  await store.put(key, new Uint8Array(0));
  // Keys that look like intents but are not: ignored.
  const junk = Buffer.from("not json").toString("base64url");
  await store.put(`log/000000000001.pending.${junk}.json`, new Uint8Array(0));
  const half = Buffer.from(JSON.stringify({ p: "x_", u: ["a", "b"], i: ["1"] })).toString(
    "base64url",
  );
  await store.put(`log/000000000001.pending.${half}.json`, new Uint8Array(0));

  const infosOf = async (ds: DataSet) =>
    (await (ds as unknown as { infos(): Promise<Record<string, unknown>> }).infos()) as Record<
      string,
      { k?: number; dead?: boolean }
    >;
  const deadNames = async (ds: DataSet) =>
    Object.entries(await infosOf(ds))
      .filter(([, info]) => info?.dead === true)
      .map(([name]) => name);

  // The next writer to commit takes it along with its own item.
  await a.insert("second", { info: { k: 1 } });
  const [deadName] = await deadNames(a);
  assert.ok(deadName, "the dead writer's item was committed");
  assert.deepEqual(await a.get(deadName), { dead: [1, 2, 3] });
  assert.deepEqual((await a.keys()).length, 3);
  // ... once: later commits, by this writer or a fresh one, do not take it again.
  await a.insert("third", { info: { k: 2 } });
  const b = await DataSet.open(url, { mode: "w", s3 });
  await b.insert("fourth", { info: { k: 3 } });
  assert.deepEqual(await deadNames(a), [deadName]);
  // ... and a deleted item's intent stays dead.
  await a.delete(deadName);
  await a.insert("fifth", { info: { k: 4 } });
  await b.insert("sixth", { info: { k: 5 } });
  const reader = await DataSet.open(url, { s3: gw.options });
  assert.deepEqual(await deadNames(reader), []);
  const values = await Promise.all((await reader.keys()).map((n) => reader.get(n)));
  assert.deepEqual(values, ["first", "second", "third", "fourth", "fifth", "sixth"]);
  const names = await reader.keys();
  assert.equal(new Set(names).size, names.length);
});
