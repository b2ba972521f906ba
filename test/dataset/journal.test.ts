// The index of format 2 (docs/dataset-format.md): native import survives any torn or zero-filled
// tail, verify reports it, a write-open repairs it; format-1 DataSets still read and migrate; a
// failure after the commit (compaction on a full disk) never fails the committed write.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { INDEX_MODULE } from "../../src/dataset/index-module.js";
import { encodeRecord } from "../../src/dataset/records.js";
import { verifyDataSetIndex } from "../../src/dataset/verify.js";
import { DataSet, FormatError } from "../../src/index.js";
import { tempDir } from "../helpers/tmp.js";

/** `import { info } from "<ds>/index.mjs"` in a fresh Node process (no module cache, no library). */
function nativeInfo(path: string): { ok: true; info: unknown } | { ok: false; error: string } {
  const script = `
    try {
      const { info } = await import(${JSON.stringify(`${join(path, "index.mjs")}`)});
      console.log(JSON.stringify({ ok: true, info }));
    } catch (e) { console.log(JSON.stringify({ ok: false, error: String(e) })); }`;
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
    cwd: join(path, ".."),
  });
  return JSON.parse(out.toString());
}

async function filled(count = 3) {
  const path = join(await tempDir(), "ds");
  const ds = await DataSet.open(path, { mode: "w" });
  for (let i = 0; i < count; i++) await ds.insert({ i }, { info: { worker: 1, k: i, é: "ü" } });
  await ds.close();
  return path;
}

const TAILS: [string, Buffer][] = [
  ["half a record", Buffer.from('4e1f0a2b [{"set":"x_200","info":{"worker":1,"k":5')],
  ["a record without its newline", Buffer.from('[{"set":"x_200","info":null}]')],
  ["NUL bytes (blocks never written)", Buffer.alloc(4096)],
  ["NUL bytes, then a newline", Buffer.concat([Buffer.alloc(300), Buffer.from("\n")])],
  [
    "a record torn inside a UTF-8 character",
    Buffer.from('12345678 [{"set":"x_9","info":"ü', "utf8").subarray(0, -1),
  ],
  ["a record with a wrong checksum", Buffer.from('00000000 [{"set":"x_9","info":1}]\n')],
  ["garbage lines", Buffer.from('}}}\n\u0000\u0000\ninfo["x"] = {\n')],
];

for (const [what, tail] of TAILS) {
  test(`torn tail (${what}): native import and readers ignore it, verify reports it, a write-open repairs it`, async () => {
    const path = await filled();
    const journal = join(path, "index.journal");
    const good = readFileSync(journal);
    const expected = nativeInfo(path);
    assert.ok(expected.ok);
    appendFileSync(journal, tail);

    assert.deepEqual(nativeInfo(path), expected);
    const reader = await DataSet.open(path);
    assert.deepEqual(await reader.keys(), ["x_0", "x_1", "x_2"]);
    assert.deepEqual(await reader.infos(), expected.info);
    const report = await verifyDataSetIndex(path);
    assert.deepEqual(
      report.problems.map((p) => [p.kind, p.line]),
      [["torn-tail", 5]],
    );
    assert.deepEqual(readFileSync(journal).subarray(good.length), tail, "readers never write");

    const writer = await DataSet.open(path, { mode: "w" });
    assert.deepEqual(readFileSync(journal), good, "the write-open cut the tail");
    assert.deepEqual((await verifyDataSetIndex(path)).problems, []);
    assert.equal(await writer.insert({ i: 3 }, { info: 3 }), "x_3");
    const after = nativeInfo(path);
    assert.ok(after.ok);
    assert.equal((after.info as Record<string, unknown>).x_3, 3);
  });
}

test("a damaged record followed by intact ones is damage, not a tail: every reader says where", async () => {
  const path = await filled();
  const journal = join(path, "index.journal");
  const text = readFileSync(journal, "utf8");
  writeFileSync(journal, text.replace('"k":1', '"k":7')); // checksum of line 3 no longer matches
  await assert.rejects(DataSet.open(path), (err: unknown) => {
    assert.ok(err instanceof FormatError);
    assert.equal(err.line, 3);
    return true;
  });
  await assert.rejects(DataSet.open(path, { mode: "w" }), FormatError);
  assert.equal(readFileSync(journal, "utf8"), text.replace('"k":1', '"k":7'), "nothing repaired");
  const native = nativeInfo(path);
  assert.equal(native.ok, false);
  assert.match((native as { error: string }).error, /index\.journal:3/);
  const report = await verifyDataSetIndex(path);
  assert.deepEqual(
    report.problems.map((p) => [p.kind, p.line]),
    [["damaged", 3]],
  );
});

test("index.mjs is a fixed module; a changed one is reported by verify and restored by a write-open", async () => {
  const path = await filled(1);
  assert.equal(readFileSync(join(path, "index.mjs"), "utf8"), INDEX_MODULE);
  writeFileSync(join(path, "index.mjs"), "export const info = { fake: 1 };\n");
  assert.deepEqual(
    (await verifyDataSetIndex(path)).problems.map((p) => p.kind),
    ["stale-index-module"],
  );
  await DataSet.open(path, { mode: "w" });
  assert.equal(readFileSync(join(path, "index.mjs"), "utf8"), INDEX_MODULE);
  const native = nativeInfo(path);
  assert.deepEqual(native, { ok: true, info: { x_0: { worker: 1, k: 0, é: "ü" } } });
});

/** A format-1 DataSet as persist-archive 0.1 wrote it (index.mjs is the journal). */
async function formatOne(torn: boolean) {
  const path = await filled(0);
  const ds = await DataSet.open(path, { mode: "w" });
  await ds.insert({ v: 0 });
  await ds.insert({ v: 1 });
  await ds.insert({ v: 2 });
  rmSync(join(path, "index.journal"));
  writeFileSync(
    join(path, ".persist-dataset.json"),
    '{"format":"persist-archive DataSet","version":1}\n',
  );
  writeFileSync(
    join(path, "index.mjs"),
    "// persist-archive DataSet index, format 1: an append-only journal, one line per change.\n" +
      '// Plain ES module: `import { info } from "./index.mjs"` gives every item\'s info (null: none).\n' +
      "export const info = {};\n" +
      'info["x_0"] = { n: 1, when: new Date(0) };\n' +
      'info["x_1"] = { tags: new Set(["a"]), x: NaN };\n' +
      'info["x_2"] = null;\n' +
      'delete info["x_2"];\n' +
      'info["x_1"] = { plain: [1, "two"] };\n' +
      (torn ? 'info["x_200"] = { worker: 1, k: 5' : ""),
  );
  return path;
}

test("format 1 DataSets still open and read; verify reports a torn last line", async () => {
  const path = await formatOne(true);
  const ds = await DataSet.open(path);
  assert.deepEqual(await ds.keys(), ["x_0", "x_1"]);
  assert.deepEqual(await ds.info("x_0"), { n: 1, when: new Date(0) });
  assert.deepEqual(await ds.infos(), {
    x_0: { n: 1, when: new Date(0) },
    x_1: { plain: [1, "two"] },
  });
  assert.deepEqual(await ds.get("x_1"), { v: 1 });
  assert.deepEqual(
    (await verifyDataSetIndex(path)).problems.map((p) => [p.kind, p.line]),
    [["torn-tail", 9]],
  );
  assert.equal(nativeInfo(path).ok, false, "what format 1 cannot do, and why it is migrated");
});

test("a write-open migrates format 1 to format 2: infos, order and numbering kept", async () => {
  const path = await formatOne(true);
  const reader = await DataSet.open(path); // opened before the migration, follows it
  const ds = await DataSet.open(path, { mode: "w" });
  assert.equal(JSON.parse(readFileSync(join(path, ".persist-dataset.json"), "utf8")).version, 2);
  assert.equal(readFileSync(join(path, "index.mjs"), "utf8"), INDEX_MODULE);
  assert.ok(
    readFileSync(join(path, "index.journal"), "utf8").includes('"plain":[1,"two"]'),
    "JSON infos become JSON",
  );
  assert.deepEqual(await ds.infos(), {
    x_0: { n: 1, when: new Date(0) },
    x_1: { plain: [1, "two"] },
  });
  assert.equal(await ds.insert({ v: 3 }), "x_3", "x_2 was deleted: never reused");
  assert.deepEqual(await reader.keys(), ["x_0", "x_1", "x_3"]);
  assert.deepEqual(await reader.get("x_0"), { v: 0 });
  const native = nativeInfo(path);
  assert.ok(native.ok);
  assert.deepEqual(Object.keys(native.info as object), ["x_0", "x_1", "x_3"]);
  assert.deepEqual((await verifyDataSetIndex(path)).problems, []);
});

test("a compaction that fails (disk full) never fails the committed write; a later writer compacts", async (t) => {
  // A real ENOSPC: a tiny tmpfs (needs root or CAP_SYS_ADMIN; skipped where mounting is not allowed).
  const mnt = join(await tempDir(), "mnt");
  mkdirSync(mnt);
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=512k", "tmpfs", mnt], { stdio: "ignore" });
  } catch {
    t.skip("cannot mount a tmpfs here (not root): ENOSPC cannot be produced for real");
    return;
  }
  try {
    const path = join(mnt, "ds");
    const journal = join(path, "index.journal");
    const ds = await DataSet.open(path, { mode: "w" });
    await ds.set("a", 1);
    for (let i = 0; i < 40; i++) await ds.setInfo("a", { i });
    // tmpfs allocates whole pages. Start a fresh page of the journal, so that the appends below
    // fit in it without a new page; then leave exactly one free page on the disk: enough for the
    // lock file, not for the lock plus a compacted copy of the journal.
    const room = () => (4096 - (statSync(journal).size % 4096)) % 4096;
    const overhead = encodeRecord([{ set: "a", info: { p: "" } }]).length;
    if (room() < 2400)
      await ds.setInfo("a", { p: "x".repeat(Math.max(0, room() + 10 - overhead)) });
    const free = () =>
      Number(execFileSync("df", ["--output=avail", "-B1", mnt]).toString().split("\n")[1]);
    writeFileSync(join(mnt, "filler"), Buffer.alloc(Math.max(0, free() - 4096)));
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on("warning", onWarning);
    try {
      // Compaction becomes due at record 64 and fails from then on: every change is committed.
      for (let i = 0; i < 25; i++) await ds.setInfo("a", { i, last: true });
      await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on next tick
    } finally {
      process.off("warning", onWarning);
    }
    assert.ok(
      warnings.some((w) => /compaction/.test(w)),
      warnings.join("\n"),
    );
    assert.ok(readFileSync(journal, "utf8").split("\n").length > 60, "not compacted");
    assert.deepEqual(await (await DataSet.open(path)).info("a"), { i: 24, last: true });
    rmSync(join(mnt, "filler"));
    await ds.setInfo("a", { done: true }); // space again: this writer compacts
    assert.equal(
      readFileSync(journal, "utf8").split("\n").length,
      3,
      "compacted by a later writer",
    );
    assert.deepEqual(await (await DataSet.open(path)).info("a"), { done: true });
    assert.ok(existsSync(join(path, "a.mjs")));
  } finally {
    execFileSync("umount", [mnt]);
  }
});
