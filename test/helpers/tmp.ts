/**
 * Temp directories OUTSIDE this repository, so that nothing saved there can resolve
 * `persist-archive` through our node_modules: a round trip that imports from there proves the
 * archive needs no library.
 *
 * Every directory is removed when the test file's process exits, whichever test made it. (A
 * node:test `after()` hook registered on first use would attach to the test that happened to run
 * first and clean up only what existed by then: that leaked every later test's folders.)
 * scripts/run-tests.mjs runs the suite with a private TMPDIR and fails, naming the paths, if
 * anything is left behind. `PERSIST_KEEP_TMP=1` keeps the folders for debugging.
 */
import { rmSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";

const made: string[] = [];

/** The test file this process runs (node --test starts one process per file), for folder names. */
const testFile = basename(process.argv[1] ?? "test").replace(/\.test\.ts$|\.ts$/, "");

function removeAll(): void {
  if (process.env.PERSIST_KEEP_TMP) return;
  for (const dir of made.splice(0)) {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      // Reported by scripts/run-tests.mjs as a leftover, with its path.
    }
  }
}

/**
 * A fresh empty directory under the OS temp dir, removed when the test file's process exits. Its
 * name starts with `prefix` and the test file's name, so a leftover says where it came from.
 */
export async function tempDir(prefix = "persist-test-"): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `${prefix}${testFile}-`));
  if (made.length === 0) process.once("exit", removeAll);
  made.push(dir);
  return dir;
}
