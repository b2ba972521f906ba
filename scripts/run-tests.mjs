// Runs every test/**/*.test.ts with node:test through tsx. Node 20's `--test` has no glob support,
// so we find the files ourselves. Extra arguments (file paths or name filters) narrow the run.
//
// Temp hygiene guard: the tests run with a private, empty TMPDIR. Every test must remove what it
// makes (test/helpers/tmp.ts does it for you); anything still there after the run fails the run,
// and the message lists each leaked path with its size so the test that made it can be found
// (tempDir() names folders after their test file). PERSIST_KEEP_TMP=1 keeps everything instead.
import { spawnSync } from "node:child_process";
import { lstatSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

function findTests(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...findTests(path));
    else if (entry.name.endsWith(".test.ts")) out.push(path);
  }
  return out.sort();
}

/** Bytes under `path` (not following links). */
function sizeOf(path) {
  const s = lstatSync(path, { throwIfNoEntry: false });
  if (!s) return 0;
  if (!s.isDirectory()) return s.size;
  let total = 0;
  for (const name of readdirSync(path)) total += sizeOf(join(path, name));
  return total;
}

/** tsx's compile cache (`tsx-<uid>`) belongs to the test runner itself, not to a test. */
const RUNNER_CACHE = /^tsx-\d+$/;

const args = process.argv.slice(2);
const files = args.length > 0 ? args : findTests("test");
const keep = Boolean(process.env.PERSIST_KEEP_TMP);
const privateTmp = mkdtempSync(join(tmpdir(), "persist-test-run-"));
const env = { ...process.env, TMPDIR: privateTmp, TMP: privateTmp, TEMP: privateTmp };
const result = spawnSync(
  process.execPath,
  ["--import", "tsx", "--test", "--test-concurrency=2", ...files],
  { stdio: "inherit", env },
);
let status = result.status ?? 1;

if (keep) {
  console.log(`PERSIST_KEEP_TMP: the tests' temp files are kept in ${privateTmp}`);
} else {
  const leaked = readdirSync(privateTmp)
    .filter((name) => !RUNNER_CACHE.test(name))
    .map((name) => join(privateTmp, name));
  if (leaked.length > 0) {
    const lines = leaked.map((p) => `  ${p} (${sizeOf(p)} bytes)`);
    console.error(
      `\nTemp files leaked: ${leaked.length} path(s) left in the tests' private TMPDIR after the run.\n` +
        `Every test must remove what it makes (use tempDir() from test/helpers/tmp.ts):\n${lines.join("\n")}`,
    );
    status = status === 0 ? 1 : status;
  }
  rmSync(privateTmp, { recursive: true, force: true, maxRetries: 3 });
}
process.exit(status);
