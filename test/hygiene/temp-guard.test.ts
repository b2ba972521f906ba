/**
 * scripts/run-tests.mjs fails a run that leaves anything in the tests' private TMPDIR, naming each
 * leaked path, while tempDir() folders are removed when their test file's process exits.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";

test("the test runner fails a run that leaks temp files, naming the leaked paths", () => {
  // Without NODE_TEST_CONTEXT the inner `node --test` runs as a top-level run, not as our child.
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const r = spawnSync(
    process.execPath,
    ["scripts/run-tests.mjs", "test/hygiene/fixtures/leaks.ts"],
    { encoding: "utf8", env },
  );
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /^# pass 1$/m, "the leaking test itself passes");
  assert.match(r.stderr, /Temp files leaked: 1 path\(s\)/);
  assert.match(r.stderr, /\/persist-test-run-[^/\s]+\/forgotten-by-a-test-\S+ \(1000 bytes\)/);
  // The folder tempDir() made was removed, so it is not among the leaks.
  assert.doesNotMatch(r.stderr, /persist-test-leaks-/);
});
