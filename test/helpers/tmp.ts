/**
 * Temp directories OUTSIDE this repository, so that nothing saved there can resolve
 * `persist-archive` through our node_modules: a round trip that imports from there proves the
 * archive needs no library.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";

const made: string[] = [];

/** A fresh empty directory under the OS temp dir, removed when the test file ends. */
export async function tempDir(prefix = "persist-test-"): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  if (made.length === 0) {
    after(async () => {
      if (process.env.PERSIST_KEEP_TMP) return;
      await Promise.all(made.map((d) => rm(d, { recursive: true, force: true })));
    });
  }
  made.push(dir);
  return dir;
}
