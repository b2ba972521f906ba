/**
 * Group commit on the real gateway (commit-log.ts): writers publish intents, and whoever claims
 * the next commit takes the fresh intents it sees. An intent is committed at most once, never after
 * its item was deleted, garbage intent keys are ignored, and writer processes that always share
 * commits (SIGKILLed or not) lose and duplicate nothing.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { intentKey } from "../../src/dataset/commit-log.js";
import { Archive, DataSet } from "../../src/index.js";
import { RUNTIME_FILE } from "../../src/store/layout.js";
import { S3Store } from "../../src/store/s3-store.js";
import { startChild } from "../store/children.js";
import { requireGateway } from "./gateway.js";

const WRITER = fileURLToPath(new URL("./fixtures/s3-writer.ts", import.meta.url));

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

interface Found {
  /** "writer/i" → name */
  byItem: Map<string, string>;
}

async function readAll(url: string, options: object): Promise<Found> {
  const ds = await DataSet.open(url, { s3: options });
  const infos = (await (ds as unknown as { infos(): Promise<unknown> }).infos()) as Record<
    string,
    { writer: string; i: number }
  >;
  const byItem = new Map<string, string>();
  const names = Object.keys(infos);
  for (let k = 0; k < names.length; k += 8) {
    const batch = names.slice(k, k + 8);
    const items = (await Promise.all(batch.map((n) => ds.get(n)))) as {
      writer: string;
      i: number;
      data: Float64Array;
    }[];
    items.forEach((item, j) => {
      const name = batch[j] as string;
      assert.deepEqual(infos[name], { writer: item.writer, i: item.i }, name);
      assert.deepEqual(item.data, new Float64Array(64).fill(item.i + 0.5), name);
      const id = `${item.writer}/${item.i}`;
      assert.ok(!byItem.has(id), `${id} committed twice (${byItem.get(id)} and ${name})`);
      byItem.set(id, name);
    });
  }
  return { byItem };
}

function reported(lines: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of lines) {
    const m = /^committed (\S+) (\S+) (\d+)$/.exec(line);
    if (m) out.set(`${m[2]}/${m[3]}`, m[1] as string);
  }
  return out;
}

test("4 writer processes sharing every commit: each insert committed exactly once", async (t) => {
  const gw = requireGateway(t);
  if (!gw) return;
  const url = gw.freshUrl("group");
  const { accessKeyId, secretAccessKey } = gw.options.credentials ?? {};
  const per = 15;
  const children = ["a", "b", "c", "d"].map((w) =>
    startChild(WRITER, [
      url,
      w,
      String(per),
      gw.endpoint,
      accessKeyId ?? "",
      secretAccessKey ?? "",
      "always",
      "0",
    ]),
  );
  for (const child of children) {
    const { code } = await child.exited;
    assert.equal(code, 0, child.stderr());
  }
  const { byItem } = await readAll(url, gw.options);
  assert.equal(byItem.size, 4 * per);
  for (const child of children) {
    for (const [id, name] of reported(child.lines)) assert.equal(byItem.get(id), name, id);
  }
});

test("writers sharing commits SIGKILLed at random moments: every committed item intact", async (t) => {
  const gw = requireGateway(t);
  if (!gw) return;
  const url = gw.freshUrl("groupkill");
  const { accessKeyId, secretAccessKey } = gw.options.credentials ?? {};
  const all = new Map<string, string>();
  for (let round = 0; round < 2; round++) {
    const children = ["p", "q", "r"].map((w) =>
      startChild(WRITER, [
        url,
        `${w}${round}`,
        "1000",
        gw.endpoint,
        accessKeyId ?? "",
        secretAccessKey ?? "",
        "always",
        "0",
      ]),
    );
    await Promise.all(children.map((c) => c.waitFor(/^open$/, 60_000)));
    await Promise.all(
      children.map(async (child) => {
        await new Promise((r) => setTimeout(r, 50 + Math.random() * 550));
        child.proc.kill("SIGKILL");
        await child.exited;
        for (const [id, name] of reported(child.lines)) all.set(id, name);
      }),
    );
    const { byItem } = await readAll(url, gw.options);
    for (const [id, name] of all) assert.equal(byItem.get(id), name, `round ${round}: ${id}`);
  }
  // A later writer still works, and one with no grace removes every upload no item names.
  const ds = await DataSet.open(url, {
    mode: "w",
    s3: { ...gw.options, groupCommit: "always", laneSize: 0 },
  });
  const name = await ds.insert(
    { writer: "last", i: 0, data: new Float64Array(64).fill(0.5) },
    { info: { writer: "last", i: 0 } },
  );
  await DataSet.open(url, { mode: "w", s3: { ...gw.options, staleUploadGrace: 0 } });
  const { byItem } = await readAll(url, gw.options);
  assert.equal(byItem.get("last/0"), name);
  const store = new S3Store(url, gw.options);
  const uploads = new Set((await store.list("items/")).map((e) => e.key.split("/")[1]));
  assert.equal(uploads.size, byItem.size, "only uploads that items name are left");
});
