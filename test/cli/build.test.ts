/**
 * The `bin` entry as users get it: compiled by the build's tsconfig (into a temporary outDir
 * inside the repository, so node_modules resolves) and run by plain node, without tsx.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { tempDir } from "../helpers/tmp.js";
import { makeArchive, ROOT, runNode } from "./helpers.js";

test("tsc build of src/cli/main.ts runs as the persist executable", async () => {
  const pkg = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8"));
  assert.equal(pkg.bin.persist, "./dist/cli/main.js");
  // dist/cli/main.js ← src/cli/main.ts (tsconfig.build.json: rootDir src, outDir dist)
  const outDir = join(ROOT, `.cli-build-${process.pid}.tmp`);
  try {
    await promisify(execFile)(
      process.execPath,
      [
        join(ROOT, "node_modules", "typescript", "bin", "tsc"),
        "-p",
        "tsconfig.build.json",
        "--outDir",
        outDir,
        "--declaration",
        "false",
        "--declarationMap",
        "false",
        "--sourceMap",
        "false",
      ],
      { cwd: ROOT },
    );
    const main = join(outDir, "cli", "main.js");
    assert.match(await readFile(main, "utf8"), /^#!\/usr\/bin\/env node\n/);
    const dir = await tempDir();
    const entry = await makeArchive(dir, "run1");
    const [help, version, shown] = await Promise.all([
      runNode([main, "--help"]),
      runNode([main, "--version"]),
      runNode([main, "show", entry, "--json"]),
    ]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: persist <command>/);
    assert.equal(version.stdout, `persist-archive ${pkg.version}\n`);
    assert.equal(shown.code, 0, shown.stderr);
    assert.deepEqual(
      JSON.parse(shown.stdout).items.map((i: { name: string }) => i.name),
      ["cfg", "xs", "grid", "fortran", "counts", "small"],
    );
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
});
