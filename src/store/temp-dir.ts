/**
 * A private temp folder for the S3 code, which goes through local files where a file library or
 * the loader needs them (archives saved and loaded, items in npz/hdf5, items downloaded).
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Runs `fn` with a fresh folder under the OS temp dir and removes it afterwards. Parallel work
 * inside must settle before `fn` returns (settle.ts): a write still in flight would re-create it.
 */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "persist-s3-"));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Every file below `dir`, as "/"-separated relative paths. */
export async function filesBelow(dir: string, base = ""): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(join(dir, base), { withFileTypes: true })) {
    const rel = base === "" ? entry.name : `${base}/${entry.name}`;
    if (entry.isDirectory()) out.push(...(await filesBelow(dir, rel)));
    else out.push(rel);
  }
  return out;
}
