import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { DataSet, LockTimeoutError } from "../../src/index.js";
import { tempDir } from "../helpers/tmp.js";
import { runChild, startChild } from "../store/children.js";

const WRITER = "test/dataset/fixtures/writer.ts";

test("4 processes x 150 concurrent inserts with info: 600 unique items, infos match values", async () => {
  const ds = join(await tempDir(), "ds");
  await (await DataSet.open(ds, { mode: "w" })).close(); // created once; writers race on inserts
  const tags = ["a", "b", "c", "d"];
  const outputs = await Promise.all(
    tags.map((tag) => runChild(WRITER, [ds, "insert", "150", tag])),
  );
  const reported = outputs.flat();
  assert.equal(reported.length, 600);
  assert.equal(new Set(reported).size, 600, "every insert got its own name");

  const reader = await DataSet.open(ds);
  const keys = await reader.keys();
  assert.deepEqual([...keys].sort(), [...reported].sort());
  for (const name of keys) {
    const value = (await reader.get(name)) as { tag: string; i: number };
    assert.deepEqual(await reader.info(name), { tag: value.tag, i: value.i });
  }
  // each writer's own inserts are listed in the order it made them
  for (const [w, tag] of tags.entries()) {
    const mine = keys.filter((k) => outputs[w]!.includes(k));
    assert.deepEqual(mine, outputs[w], `order of writer ${tag}`);
  }
  const seen = new Set(keys.map((k) => readFileSync(join(ds, `${k}.mjs`), "utf8")));
  assert.equal(seen.size, 600);
});

test("two processes creating the same DataSet at once both succeed", async () => {
  const ds = join(await tempDir(), "new", "ds");
  const outputs = await Promise.all(
    ["p", "q"].map((t) => runChild(WRITER, [ds, "insert", "3", t])),
  );
  const reader = await DataSet.open(ds);
  assert.deepEqual((await reader.keys()).sort(), outputs.flat().sort());
});

test("a slow writer holding withLock (blocked event loop) is not stolen from; others wait", async () => {
  const ds = join(await tempDir(), "ds");
  const holder = startChild(WRITER, [ds, "hold", "2000"]);
  await holder.waitFor(/^LOCKED$/);
  const impatient = await DataSet.open(ds, { mode: "w", timeout: 500 });
  await assert.rejects(impatient.insert(1), (err: unknown) => {
    assert.ok(err instanceof LockTimeoutError);
    assert.match(err.message, new RegExp(`process ${holder.proc.pid} `));
    return true;
  });
  const patient = await DataSet.open(ds, { mode: "w", timeout: 20_000 });
  const name = await patient.insert("after");
  const insertedAt = Date.now();
  assert.equal((await holder.exited).code, 0);
  const unlockingAt = Number((await holder.waitFor(/^UNLOCKING/)).split(" ")[1]);
  assert.ok(insertedAt >= unlockingAt, "the patient writer got the lock only after the holder");
  assert.deepEqual(await patient.keys(), ["x_0", name]);
  assert.equal(name, "x_1");
});
