/**
 * Python and Node writers fill one DataSet at the same time (real processes): the Python writer
 * takes the same lock file the same way, so no insert is lost or named twice, and each side reads
 * everything the other wrote. A Python process killed while holding the lock is recovered by Node.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { DataSet, LockTimeoutError } from "../../src/index.js";
import { tempDir } from "../helpers/tmp.js";
import { runChild } from "../store/children.js";
import { python, requirePythonModules, startPython } from "./python.js";

const NODE_WRITER = "test/dataset/fixtures/writer.ts";
const PY_WRITER = "python/tests/writer.py";

test("2 Node + 2 Python processes insert concurrently: every item listed once, infos match values", async (t) => {
  if (!requirePythonModules(t, ["numpy"])) return;
  const ds = join(await tempDir(), "mixed.ds");
  await (await DataSet.open(ds, { mode: "w" })).close();
  const pythons = ["p", "q"].map((tag) => startPython([PY_WRITER, ds, "insert", "40", tag]));
  const nodes = ["a", "b"].map((tag) => runChild(NODE_WRITER, [ds, "insert", "40", tag]));
  const nodeNames = (await Promise.all(nodes)).flat();
  for (const p of pythons) assert.equal((await p.exited).code, 0, "python writer exit");
  const pyNames = pythons.flatMap((p) => p.lines.filter((l) => l !== ""));
  const all = [...nodeNames, ...pyNames];
  assert.equal(all.length, 160);
  assert.equal(new Set(all).size, 160, "every insert got its own name");

  const reader = await DataSet.open(ds);
  const keys = await reader.keys();
  assert.deepEqual([...keys].sort(), [...all].sort());
  for (const name of keys) {
    const value = (await reader.get(name)) as { tag: string; i: number };
    assert.deepEqual(await reader.info(name), { tag: value.tag, i: value.i });
  }
  // Python reads the same DataSet the same way.
  const seen = JSON.parse(
    python([
      "-c",
      "import json, sys\nfrom persist_archive import DataSet\nds = DataSet(sys.argv[1])\n" +
        "print(json.dumps([[k, ds.info(k), ds[k]['tag']] for k in ds.keys()]))",
      ds,
    ]),
  ) as [string, { tag: string; i: number }, string][];
  assert.deepEqual(
    seen.map(([k]) => k),
    keys,
  );
  for (const [, info, tag] of seen) assert.equal(info.tag, tag);
});

test("a Python lock holder blocks Node writers (named in the error); killed, its lock is recovered", async (t) => {
  if (!requirePythonModules(t, ["numpy"])) return;
  const ds = join(await tempDir(), "held.ds");
  await (await DataSet.open(ds, { mode: "w" })).close();
  const holder = startPython([PY_WRITER, ds, "hold", "60"]);
  await holder.waitFor(/^LOCKED$/);
  const impatient = await DataSet.open(ds, { mode: "w", timeout: 300 });
  await assert.rejects(impatient.insert(1), (err: unknown) => {
    assert.ok(err instanceof LockTimeoutError);
    assert.match(err.message, new RegExp(`process ${holder.proc.pid} `));
    return true;
  });
  holder.proc.kill("SIGKILL");
  await holder.exited;
  const writer = await DataSet.open(ds, { mode: "w", timeout: 20_000 });
  assert.equal(await writer.insert("after"), "x_0");
});
