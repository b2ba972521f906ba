// What killed writers leave: the next write-open removes it, and nothing committed is lost.
// Real processes, real SIGKILL.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { DataSet } from "../../src/index.js";
import { tempDir } from "../helpers/tmp.js";
import { startChild } from "../store/children.js";

const WRITER = "test/dataset/fixtures/writer.ts";

/** Entries of a DataSet that are not committed state: claims, temp files, unlisted items. */
function strays(path: string, keys: readonly string[]): string[] {
  const listed = new Set(keys);
  return readdirSync(path).filter((entry) => {
    if (entry.endsWith(".claim") || entry.endsWith(".tmp")) return true;
    const name = /^([A-Za-z$][A-Za-z0-9_$]*)(?:\.v[0-9a-f]{8})?(?:\.mjs|\.d\.mts|_arrays)/.exec(
      entry,
    )?.[1];
    return name !== undefined && name !== "index" && !listed.has(name);
  });
}

test("SIGKILL while staging items outside the lock: nothing committed is lost, no leftovers after the next write-open", async () => {
  const path = join(await tempDir(), "ds");
  await (await DataSet.open(path, { mode: "w" })).close();
  const promised = new Map<string, { tag: string; i: number }>();
  const shared = new Map<string, number>();
  for (let round = 0; round < 6; round++) {
    const writers = ["a", "b"].map((w) => ({
      tag: `${w}${round}`,
      child: startChild(WRITER, [path, "arrays", `${w}${round}`]),
    }));
    await Promise.all(writers.map((w) => w.child.waitFor(/^OK /)));
    for (const { child } of writers) {
      await sleep(Math.random() * 150);
      child.proc.kill("SIGKILL");
      await child.exited;
    }
    for (const { tag, child } of writers) {
      for (const line of child.lines.filter((l) => l.startsWith("OK "))) {
        const [, name, i] = line.split(" ");
        if (name!.startsWith("shared_")) shared.set(name!, Number(i));
        else promised.set(name!, { tag, i: Number(i) });
      }
    }
    const ds = await DataSet.open(path, { mode: "w", timeout: 10_000 });
    const keys = await ds.keys();
    assert.deepEqual(strays(path, keys), [], `round ${round}: leftovers`);
    for (const [name, expected] of promised) {
      assert.ok(keys.includes(name), `round ${round}: ${name} lost`);
      const info = (await ds.info(name)) as { tag: string; i: number };
      assert.equal(info.tag, expected.tag);
      assert.equal(info.i, expected.i);
    }
    for (const [name, i] of shared) {
      // set(): the value and the info move together, never the new value with the old info.
      const value = (await ds.get(name)) as { i: number; data: Float64Array };
      const info = (await ds.info(name)) as { i: number };
      assert.equal(value.i, info.i, `${name}: value and info of one version`);
      assert.ok(value.i >= i, `${name}: returned set ${i} lost`);
      assert.ok(value.data.every((x) => x === value.i));
    }
    await ds.close();
  }
  assert.ok(promised.size > 6, `inserts happened (${promised.size})`);
});

test("SIGKILLed in-place convert: its copy beside the DataSet is removed by the next write-open", async () => {
  const path = join(await tempDir(), "ds");
  const ds = await DataSet.open(path, { mode: "w", arrayThreshold: 10 });
  await ds.insertMany(
    Array.from({ length: 300 }, (_, i) => new Float64Array(2000).fill(i)),
    { infos: Array.from({ length: 300 }, (_, i) => ({ i })) },
  );
  const prefix = `.${basename(path)}.convert.`;
  const leftovers = () =>
    readdirSync(dirname(path)).filter((e) => e.startsWith(`.${basename(path)}.`));
  let killed = false;
  for (let attempt = 0; attempt < 5 && !killed; attempt++) {
    const convert = spawn(
      process.execPath,
      ["--import", "tsx", "src/cli/main.ts", "convert", path, "--format", "npz"],
      {
        stdio: "ignore",
      },
    );
    const exited = new Promise((resolve) => convert.once("exit", resolve));
    let done = false;
    void exited.then(() => (done = true));
    while (!done) {
      if (leftovers().some((e) => e.startsWith(prefix))) {
        convert.kill("SIGKILL");
        killed = true;
        break;
      }
      await sleep(2);
    }
    await exited;
  }
  assert.ok(killed, "caught the convert mid-way");
  assert.ok(leftovers().length > 0);
  const again = await DataSet.open(path, { mode: "w" });
  assert.deepEqual(leftovers(), []);
  assert.equal((await again.keys()).length, 300);
  assert.deepEqual(await again.get("x_299"), new Float64Array(2000).fill(299));
});

test("a batch removes a dead writer's unlisted files under the names it takes, whether it lists the folder or probes", async () => {
  // Left by a writer killed while staging, its claims already gone (a write-open tidies them, but
  // only when it gets the lock at once): the next writer to take those names removes them.
  const plant = (path: string, names: readonly string[]) => {
    for (const name of names) {
      writeFileSync(join(path, `${name}.mjs`), "export default 'stale';\n");
      writeFileSync(join(path, `${name}.d.mts`), "declare const x: 'stale';\n");
      mkdirSync(join(path, `${name}_arrays`));
      writeFileSync(join(path, `${name}_arrays`, "stale.npy"), "stale");
      writeFileSync(join(path, `${name}_arrays.npz`), "stale");
      writeFileSync(join(path, `${name}_arrays.h5`), "stale");
    }
  };
  // Empty DataSet, batch of 4: one listing. 12 items, batch of 2: a probe per name.
  for (const [before, batch] of [
    [0, 4],
    [12, 2],
  ] as const) {
    const path = join(await tempDir(), "ds");
    const ds = await DataSet.open(path, { mode: "w", arrayThreshold: 10 });
    if (before > 0) {
      await ds.insertMany(Array.from({ length: before }, (_, i) => i));
    }
    const names = Array.from({ length: batch }, (_, i) => `x_${before + i}`);
    plant(path, names);
    const values = names.map((_, i) => new Float64Array(20).fill(i));
    assert.deepEqual(await ds.insertMany(values), names);
    for (const [i, name] of names.entries()) {
      assert.deepEqual(await ds.get(name), values[i]);
      assert.deepEqual(readdirSync(join(path, `${name}_arrays`)), ["array_0.npy"]);
    }
    const stale = readdirSync(path).filter((e) => e.endsWith(".npz") || e.endsWith(".h5"));
    assert.deepEqual(stale, [], `${before} items before: stale data files removed`);
    assert.deepEqual(strays(path, await ds.keys()), []);
    await ds.close();
  }
});

test("a set() killed after re-linking its declarations but before its module: the next write-open relinks, leaving no temp file", async () => {
  const path = join(await tempDir(), "ds");
  const ds = await DataSet.open(path, { mode: "w" });
  const name = await ds.insert({ v: 1 }, { info: { v: 1 } });
  await ds.set(name, { v: 2 }, { info: { v: 2 } });
  await ds.close();
  const version = readdirSync(path).find((e) =>
    new RegExp(`^${name}\\.v[0-9a-f]{8}\\.mjs$`).test(e),
  );
  assert.ok(version, "set() wrote a version");
  assert.ok(existsSync(join(path, `${name}.d.mts`)), "items have declarations");
  // `<name>.d.mts` already links the new version; `<name>.mjs` is another file (not yet re-linked)
  copyFileSync(join(path, `${name}.mjs`), join(path, "copy"));
  renameSync(join(path, "copy"), join(path, `${name}.mjs`));
  const reopened = await DataSet.open(path, { mode: "w" });
  try {
    assert.deepEqual(
      readdirSync(path).filter((e) => e.endsWith(".tmp")),
      [],
      "no temp file left by the relink",
    );
    assert.equal(statSync(join(path, `${name}.mjs`)).ino, statSync(join(path, version)).ino);
    assert.deepEqual(await reopened.get(name), { v: 2 });
  } finally {
    await reopened.close();
  }
});
