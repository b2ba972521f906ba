// The CLI reads archive modules that someone sent you: a FIFO or a link out of the archive folder in
// place of a module must be a typed error (exit 1, named on stderr), never a hang or a read outside.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { tempDir } from "../helpers/tmp.js";
import { makeArchive, spawnCli } from "./helpers.js";

for (const command of ["show", "verify"]) {
  test(`persist ${command}: a FIFO as the entry module is exit 1 naming it, not a hang`, async () => {
    const dir = await tempDir();
    const entry = await makeArchive(dir, "run1", { package: false });
    await rm(entry);
    execFileSync("mkfifo", [entry]);
    const result = await spawnCli([command, entry]);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /regular file|not a file|FIFO/i);
  });

  test(`persist ${command}: an entry module linked out of its folder is refused`, async () => {
    const dir = await tempDir();
    const outside = await tempDir();
    const entry = await makeArchive(dir, "run1", { package: false });
    const foreign = join(outside, "foreign.mjs");
    await writeFile(foreign, "export const secret = 42;\n");
    await rm(entry);
    await symlink(foreign, entry);
    const result = await spawnCli([command, entry]);
    assert.equal(result.code, 1, result.stderr);
    assert.doesNotMatch(result.stdout, /secret/);
  });
}

// The data-file scan over module text must stay linear: 4 MiB of loadArrays prefixes with no "]"
// (or no closing quote) took minutes with the old single regex. This finishes in well under a second;
// a quadratic scan would hang the test run.
test("dataFilesOf: hostile repeated loadArrays prefixes are scanned in linear time", async () => {
  const { dataFilesOf } = await import("../../src/cli/target.js");
  const dir = await tempDir();
  const cases = [
    'await f(import.meta.url, "a", "npy", ['.repeat(100_000),
    'await f(import.meta.url, "aaaa'.repeat(130_000),
    `${'await f(import.meta.url, "a", "npy", ['.repeat(100_000)}"x"]`,
  ];
  for (const [i, text] of cases.entries()) {
    const file = join(dir, `m${i}.mjs`);
    await writeFile(file, text);
    assert.equal(await dataFilesOf(file), undefined);
  }
  const good = join(dir, "good.mjs");
  await writeFile(
    good,
    'const _arrays = await _loadArrays(import.meta.url, "./_a", "npz", ["array_0"]);\n',
  );
  const found = await dataFilesOf(good);
  assert.equal(found?.format, "npz");
  assert.deepEqual(found?.names, ["array_0"]);
});
