import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import { DataSet } from "../../src/index.js";
import { tempDir } from "../helpers/tmp.js";
import { type Child, startChild } from "../store/children.js";

const WRITER = "test/dataset/fixtures/writer.ts";
const ROUNDS = 20;

/** Names the child reported as inserted (the insert call had returned). */
function committed(child: Child): { name: string; i: number }[] {
  return child.lines
    .filter((l) => l.startsWith("OK "))
    .map((l) => {
      const [, name, i] = l.split(" ");
      return { name: name!, i: Number(i) };
    });
}

test(`${ROUNDS} rounds of SIGKILL during concurrent inserts leave a complete, importable DataSet`, async () => {
  const ds = join(await tempDir(), "ds");
  await (await DataSet.open(ds, { mode: "w" })).close();
  const promised = new Map<string, { tag: string; i: number }>();
  const verified = new Set<string>();
  for (let round = 0; round < ROUNDS; round++) {
    // Two writers contend for the lock; each is SIGKILLed at a random moment mid-stream, often
    // while holding the lock, with an item file or an index line half done.
    const writers = ["a", "b"].map((w) => ({
      tag: `${w}${round}`,
      child: startChild(WRITER, [ds, "stream", `${w}${round}`]),
    }));
    await Promise.all(writers.map((w) => w.child.waitFor(/^OK /)));
    for (const { child } of writers) {
      await sleep(Math.random() * 60);
      child.proc.kill("SIGKILL");
      await child.exited;
    }
    for (const { tag, child } of writers) {
      for (const { name, i } of committed(child)) promised.set(name, { tag, i });
    }

    // The next writer gets the lock (the dead holder's lock is recovered) ...
    const next = await DataSet.open(ds, { mode: "w", timeout: 5000 });
    const name = await next.insert(
      { tag: `next${round}`, i: 0 },
      { info: { tag: `next${round}`, i: 0 } },
    );
    promised.set(name, { tag: `next${round}`, i: 0 });

    // ... every insert that returned is listed, and every listed item is complete.
    const keys = await next.keys();
    const listed = new Set(keys);
    for (const n of promised.keys()) assert.ok(listed.has(n), `round ${round}: ${n} lost`);
    for (const key of keys) {
      if (verified.has(key)) continue; // items never change here: each is checked once
      verified.add(key);
      const value = (await next.get(key)) as { tag: string; i: number };
      assert.deepEqual(
        await next.info(key),
        { tag: value.tag, i: value.i },
        `round ${round}: ${key}`,
      );
      const expected = promised.get(key);
      if (expected) assert.deepEqual({ tag: value.tag, i: value.i }, expected);
    }
    // Native import of the index never sees a syntax error and agrees with the library.
    const index = join(ds, "index.mjs");
    assert.ok(readFileSync(join(ds, "index.journal"), "utf8").endsWith("\n"), "tail repaired");
    const { info } = await import(`${pathToFileURL(index).href}?round=${round}`);
    assert.deepEqual(Object.keys(info), keys);
    await next.close();
  }
  assert.ok(promised.size > ROUNDS * 2, `inserts happened (${promised.size})`);
});

test("replacing an item with external arrays: concurrent readers and SIGKILL never see it broken", async () => {
  const ds = join(await tempDir(), "ds");
  const reader = await DataSet.open(ds, { mode: "w", arrayThreshold: 10 });
  await reader.set("shared", { i: 0, data: new Float64Array(50).fill(0) }, { info: { i: 0 } });
  let lastReturned = 0;
  for (let round = 0; round < 6; round++) {
    const child = startChild(WRITER, [ds, "replace", "shared"]);
    await child.waitFor(/^OK /);
    const until = Date.now() + 100 + Math.random() * 150;
    let reads = 0;
    while (Date.now() < until) {
      // a reader racing the replacements: always a complete value whose data matches it
      const value = (await reader.get("shared")) as { i: number; data: Float64Array };
      assert.ok(
        value.data.every((x) => x === value.i),
        `round ${round}: data of version ${value.i}`,
      );
      reads++;
    }
    child.proc.kill("SIGKILL");
    await child.exited;
    const returned = child.lines.filter((l) => l.startsWith("OK ")).map((l) => Number(l.slice(3)));
    if (returned.length > 0) lastReturned = Math.max(...returned);
    const value = (await reader.get("shared")) as { i: number; data: Float64Array };
    assert.ok(value.data.every((x) => x === value.i) && value.data.length === 50);
    assert.ok(value.i >= (returned.length > 0 ? lastReturned : 0), "no returned set is lost");
    assert.ok(reads > 0);
  }
  assert.deepEqual(await reader.keys(), ["shared"]);
});
