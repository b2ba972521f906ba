/**
 * Many writer processes on one S3 DataSet, against the real gateway: nothing committed is lost or
 * duplicated, and writers SIGKILLed at random moments leave a readable DataSet with every item
 * they reported committed intact.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { CommitLog } from "../../src/dataset/commit-log.js";
import { DataSet } from "../../src/index.js";
import { S3Store } from "../../src/store/s3-store.js";
import { type Child, startChild } from "../store/children.js";
import { type Gateway, requireGateway } from "./gateway.js";

const WRITER = fileURLToPath(new URL("./fixtures/s3-writer.ts", import.meta.url));

interface Item {
  writer: string;
  i: number;
  data: Float64Array;
}

/** Every item must be whole and agree with its info; returns "writer/i" of each. */
async function checkAll(gw: Gateway, url: string): Promise<Map<string, string>> {
  const ds = await DataSet.open(url, { s3: gw.options });
  const infos = (await (ds as unknown as { infos(): Promise<unknown> }).infos()) as Record<
    string,
    { writer: string; i: number }
  >;
  const names = Object.keys(infos);
  assert.deepEqual(await ds.keys(), names);
  const byItem = new Map<string, string>();
  for (let k = 0; k < names.length; k += 8) {
    const batch = names.slice(k, k + 8);
    const items = (await Promise.all(batch.map((name) => ds.get(name)))) as Item[];
    items.forEach((item, j) => {
      const name = batch[j] as string;
      assert.deepEqual(infos[name], { writer: item.writer, i: item.i }, name);
      assert.deepEqual(item.data, new Float64Array(64).fill(item.i + 0.5), name);
      const id = `${item.writer}/${item.i}`;
      assert.ok(!byItem.has(id), `${id} committed twice (${byItem.get(id)} and ${name})`);
      byItem.set(id, name);
    });
  }
  return byItem;
}

function committed(child: Child): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of child.lines) {
    const m = /^committed (\S+) (\S+) (\d+)$/.exec(line);
    if (m) out.set(`${m[2]}/${m[3]}`, m[1] as string);
  }
  return out;
}

/**
 * How the writers commit: in writer lanes (src/dataset/lanes.ts) of the default size; of 3 names,
 * so that lanes are used up, ended and reserved again all the time; with no lanes (laneSize 0:
 * every insert a commit of the shared log); and with no lanes and every insert shared with other
 * writers' (groupCommit "always": intents, src/dataset/commit-log.ts).
 */
const MODES = [
  ["default lanes", { laneSize: "", groupCommit: "" }],
  ["lanes of 3", { laneSize: "3", groupCommit: "" }],
  ["no lanes", { laneSize: "0", groupCommit: "" }],
  ["no lanes, group commit always", { laneSize: "0", groupCommit: "always" }],
] as const;

type Mode = (typeof MODES)[number][1];

/** The writer fixture's arguments: connection from the S3_* variables, the mode given. */
function writerArgs(url: string, writer: string, count: number, mode: Mode): string[] {
  return [url, writer, String(count), "", "", "", mode.groupCommit, mode.laneSize];
}

/** The same mode as DataSet.open's s3 options. */
function modeOptions(gw: Gateway, mode: Mode): object {
  return {
    ...gw.options,
    ...(mode.laneSize === "" ? {} : { laneSize: Number(mode.laneSize) }),
    ...(mode.groupCommit === "" ? {} : { groupCommit: mode.groupCommit }),
  };
}

for (const [lanes, mode] of MODES) {
  test(`4 writer processes: every insert committed exactly once, names unique (${lanes})`, async (t) => {
    const gw = requireGateway(t);
    if (!gw) return;
    const url = gw.freshUrl("conc");
    const per = 15;
    const children = ["a", "b", "c", "d"].map((w) =>
      startChild(WRITER, writerArgs(url, w, per, mode)),
    );
    for (const child of children) {
      const { code } = await child.exited;
      assert.equal(code, 0, child.stderr());
    }
    const found = await checkAll(gw, url);
    assert.equal(found.size, 4 * per);
    for (const child of children) {
      for (const [id, name] of committed(child)) assert.equal(found.get(id), name, id);
    }
    const names = [...found.values()].sort();
    assert.equal(new Set(names).size, names.length);
    // The writers never called close(): their lanes were ended as their processes ran out of work.
    const log = new CommitLog(new S3Store(url, gw.options));
    await log.refresh();
    assert.equal(log.lanes.open.size, 0, "lanes left open");
  });

  test(`writers SIGKILLed at random moments: readable, every committed item intact (${lanes})`, async (t) => {
    const gw = requireGateway(t);
    if (!gw) return;
    const url = gw.freshUrl("kill");
    const reported = new Map<string, string>();
    for (let round = 0; round < 3; round++) {
      const children = ["p", "q", "r"].map((w) =>
        startChild(WRITER, writerArgs(url, `${w}${round}`, 1000, mode)),
      );
      await Promise.all(children.map((c) => c.waitFor(/^open$/, 60_000)));
      // Kill each at its own random moment, 50-600 ms into its writing.
      await Promise.all(
        children.map(async (child) => {
          await new Promise((r) => setTimeout(r, 50 + Math.random() * 550));
          child.proc.kill("SIGKILL");
          await child.exited;
          for (const [id, name] of committed(child)) reported.set(id, name);
        }),
      );
      // Readable after every round, with all that was reported so far.
      const found = await checkAll(gw, url);
      for (const [id, name] of reported) assert.equal(found.get(id), name, `round ${round}: ${id}`);
    }
    // A later writer still works; one opened with no grace removes what the killed ones left.
    const ds = await DataSet.open(url, { mode: "w", s3: modeOptions(gw, mode) });
    const name = await ds.insert(
      { writer: "last", i: 0, data: new Float64Array(64).fill(0.5) },
      {
        info: { writer: "last", i: 0 },
      },
    );
    await DataSet.open(url, { mode: "w", s3: { ...gw.options, staleUploadGrace: 0 } });
    const found = await checkAll(gw, url);
    assert.equal(found.get("last/0"), name);
    const store = new S3Store(url, gw.options);
    const uploads = new Set((await store.list("items/")).map((e) => e.key.split("/")[1]));
    assert.equal(uploads.size, found.size, "only uploads that items name are left");
  });
}

test("a writer far behind the log catches up in a few races, not one per commit it missed", async (t) => {
  const gw = requireGateway(t);
  if (!gw) return;
  const url = gw.freshUrl("behind");
  const store = new S3Store(url, gw.options);
  const stale = new CommitLog(store);
  await stale.refresh(); // the head as of now: nothing
  const other = new CommitLog(store);
  for (let i = 0; i < 40; i++) {
    await other.commit(
      () => ({ records: [{ op: "set", name: `x_${i}`, info: "null", item: `u${i}` }], result: i }),
      { optimistic: true },
    );
  }
  // Before, each lost race taught the stale writer one more commit: 40 races (80 round trips),
  // and while other writers kept committing it never caught up.
  await stale.commit(
    () => ({ records: [{ op: "set", name: "late", info: "null", item: "late" }], result: 0 }),
    { optimistic: true },
  );
  assert.ok(stale.lostRaces <= 2, `lost ${stale.lostRaces} races`);
  assert.equal(stale.head, 41);
  assert.deepEqual(stale.names().slice(-2), ["x_39", "late"]);
});
