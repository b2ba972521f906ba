import assert from "node:assert/strict";
import { appendFile, readdir, readFile, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { DataSet } from "../../src/dataset/dataset.js";
import { encodeRecord } from "../../src/dataset/records.js";
import { tempDir } from "../helpers/tmp.js";
import { hasEscapes, makeArchive, makeDataSet, runInProcess, spawnCli } from "./helpers.js";

test("verify of intact archives and DataSets exits 0 with a short summary on stdout", async () => {
  const dir = await tempDir();
  const pkg = await makeArchive(dir, "p1");
  // (hdf5 archives are verified in convert.test.ts: h5wasm takes seconds to import under tsx)
  const mod = await makeArchive(dir, "m1", { package: false, dataFormat: "npz" });
  const ds = join(dir, "ds");
  await makeDataSet(ds);
  const [a, b, c] = await Promise.all([
    spawnCli(["verify", join(dir, "p1")]),
    runInProcess(["verify", mod]),
    spawnCli(["verify", ds]),
  ]);
  assert.deepEqual(a, {
    code: 0,
    stdout: `ok: archive ${pkg}: 6 exports, 4 external arrays (npy)\n`,
    stderr: "",
  });
  assert.deepEqual(b, {
    code: 0,
    stdout: `ok: archive ${mod}: 6 exports, 4 external arrays (npz)\n`,
    stderr: "",
  });
  // Piped stderr: no progress bar, no colour.
  assert.deepEqual(c, {
    code: 0,
    stdout: `ok: DataSet ${ds}: 5 items and their infos\n`,
    stderr: "",
  });
});

test("verify names every truncated or corrupt .npy of an archive (exit 1, list on stderr)", async () => {
  const dir = await tempDir();
  const entry = await makeArchive(dir, "run1");
  const arrays = join(dir, "run1", "_arrays");
  await truncate(join(arrays, "array_1.npy"), 100);
  const bytes = await readFile(join(arrays, "array_3.npy"));
  await writeFile(join(arrays, "array_3.npy"), bytes.subarray(0, bytes.length - 8)); // data cut short
  const r = await spawnCli(["verify", join(dir, "run1")]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, "");
  assert.equal(hasEscapes(r.stderr), false);
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines[0], `persist verify: 2 problems in ${entry}:`);
  assert.match(lines[1]!, /^ {2}- array array_1: .*array_1\.npy: /);
  assert.match(lines[2]!, /^ {2}- array array_3: .*array_3\.npy: /);
  assert.equal(lines.length, 3, r.stderr);
  assert.doesNotMatch(r.stderr, /^\s+at /m);
});

test("verify of an npz archive with a truncated container reports it once", async () => {
  const dir = await tempDir();
  const entry = await makeArchive(dir, "m2", { package: false, dataFormat: "npz" });
  await truncate(join(dir, "m2_arrays.npz"), 200);
  const r = await runInProcess(["verify", entry]);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /^persist verify: 1 problem in .*m2\.mjs:\n {2}- array array_0: .*m2_arrays\.npz/,
  );
});

test("verify reports a broken archive module with its file, line and column", async () => {
  const dir = await tempDir();
  const entry = await makeArchive(dir, "run1");
  const text = await readFile(entry, "utf8");
  const lines = text.split("\n");
  const at = lines.findIndex((l) => l.startsWith("export const small"));
  lines[at] = "export const small = process.exit(7);";
  await writeFile(entry, lines.join("\n"));
  const r = await runInProcess(["verify", entry]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`^ {2}- .*process.* at ${entry}:${at + 1}:\\d+`, "m"));
});

test("verify of a DataSet lists each broken item: truncated .npy, unsafe module, broken info", async () => {
  const dir = await tempDir();
  const ds = join(dir, "ds");
  await makeDataSet(ds);
  await truncate(join(ds, "alpha_arrays", "array_0.npy"), 100);
  await writeFile(join(ds, "small.mjs"), "export default globalThis.process;\n");
  // A hand edit of the index (a record with a valid checksum): the info of "wide" calls a function.
  await appendFile(join(ds, "index.journal"), encodeRecord([{ set: "wide", expr: 'eval("1")' }]));
  const r = await spawnCli(["verify", ds]);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stdout, "");
  assert.equal(hasEscapes(r.stderr), false);
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines[0], `persist verify: 3 problems in ${ds}:`);
  assert.match(lines[1]!, /^ {2}- item alpha: .*alpha_arrays\/array_0\.npy/);
  assert.match(lines[2]!, /^ {2}- item small: .*small\.mjs:1:\d+/);
  assert.match(lines[3]!, /^ {2}- info of item wide: .*eval/);
  assert.equal(lines.length, 4, r.stderr);
});

test("verify --json: ok with a summary, or each problem listed; CLI words, not library calls", async () => {
  const dir = await tempDir();
  const entry = await makeArchive(dir, "run1");
  const good = await runInProcess(["verify", entry, "--json"]);
  assert.equal(good.code, 0, good.stderr);
  const ok = JSON.parse(good.stdout);
  assert.deepEqual(
    { ok: ok.ok, type: ok.type, path: ok.path, problems: ok.problems },
    { ok: true, type: "archive", path: entry, problems: [] },
  );
  assert.match(ok.summary, /6 exports, 4 external arrays \(npy\)/);
  const other = await makeArchive(dir, "run2");
  await truncate(join(dir, "run2", "_arrays", "array_1.npy"), 90);
  const truncated = JSON.parse((await runInProcess(["verify", other, "--json"])).stdout);
  assert.equal(truncated.ok, false);
  assert.equal(truncated.problems.length, 1);
  assert.match(truncated.problems[0], /array_1\.npy/);
  const text = await readFile(entry, "utf8");
  await writeFile(
    entry,
    text.replace(/export const small = .*/, "export const small = process.exit(7);"),
  );
  const bad = await runInProcess(["verify", entry, "--json"]);
  assert.equal(bad.code, 1);
  assert.equal(bad.stderr, "");
  const result = JSON.parse(bad.stdout);
  assert.equal(result.ok, false);
  assert.equal(result.problems.length, 1, bad.stdout);
  assert.match(result.problems[0], /process/);
  const plain = await runInProcess(["verify", entry]);
  for (const output of [bad.stdout, plain.stderr]) {
    assert.doesNotMatch(
      output,
      /load\(|trusted: true|keys\(\)/,
      "no library calls in CLI messages",
    );
    assert.match(output, /never runs code from an archive/);
  }
});

test("verify of a DataSet reports its index: a torn tail, a changed index.mjs, a damaged record", async () => {
  const dir = await tempDir();
  const ds = join(dir, "ds");
  await makeDataSet(ds);
  const journal = join(ds, "index.journal");
  const lines = (await readFile(journal, "utf8")).split("\n").length; // the tail's line number
  await appendFile(journal, 'deadbeef [{"set":"x_9","info":');
  await writeFile(join(ds, "index.mjs"), "export default {};\n");
  const r = await spawnCli(["verify", ds]);
  assert.equal(r.code, 1, r.stderr);
  const found = r.stderr.trimEnd().split("\n");
  assert.equal(found[0], `persist verify: 2 problems in ${ds}:`);
  assert.match(found[1]!, new RegExp(`^ {2}- ${journal}:${lines}: torn tail .*removes it$`));
  assert.match(found[2]!, new RegExp(`^ {2}- ${join(ds, "index.mjs")} is not the fixed module`));
  assert.doesNotMatch(r.stderr, /DataSet\.open|mode: "w"/, "CLI words, not library calls");
  // a complete record after the bad line: damage, not a crash's tail; nothing else can be read
  await appendFile(journal, `\n${encodeRecord([{ set: "late", info: 1 }]).toString()}`);
  const damaged = await runInProcess(["verify", ds, "--json"]);
  assert.equal(damaged.code, 1);
  const result = JSON.parse(damaged.stdout);
  assert.equal(result.ok, false);
  assert.match(result.problems[0], new RegExp(`${journal}:${lines}: damaged journal record`));
  assert.match(result.summary, /the index cannot be read/);
});

test("verify names a DataSet item module that was cut short, the version a replaced item uses", async () => {
  const dir = await tempDir();
  const path = join(dir, "ds");
  const ds = await DataSet.open(path, { mode: "w" });
  await ds.set("a", 1, { info: 1 });
  await ds.set("a", [1, 2, 3], { info: 2 }); // a replace: a.mjs is a link to a.v<hex>.mjs
  await ds.close();
  const version = (await readdir(path)).find((f) => /^a\.v[0-9a-f]{8}\.mjs$/.test(f))!;
  const text = await readFile(join(path, version), "utf8");
  await writeFile(join(path, version), text.slice(0, text.lastIndexOf("// persist-archive: end")));
  const r = await runInProcess(["verify", path]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`- item a: ${join(path, version)} is truncated`));
});
