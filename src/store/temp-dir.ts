/**
 * A private temp folder for the S3 code, which goes through local files where a file library or
 * the loader needs them (archives saved and loaded, items in npz/hdf5, items downloaded).
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { S3_IN_FLIGHT } from "./s3-store.js";
import { inBatches } from "./settle.js";
import type { Store } from "./store.js";

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

/**
 * Downloads `keys` of `store` into `dir`, each at its key less its first `strip` segments,
 * S3_IN_FLIGHT at a time; every download settles before a failure propagates (settle.ts), so
 * none writes into `dir` after the caller removed it. `missing(key)` is called for a key that is
 * gone: it returns to skip the key, or throws.
 */
export async function downloadInto(
  store: Store,
  keys: readonly string[],
  dir: string,
  strip: number,
  missing: (key: string) => void,
): Promise<void> {
  await inBatches(keys, S3_IN_FLIGHT, async (key) => {
    const body = await store.get(key);
    if (body === undefined) return missing(key);
    const file = join(dir, ...key.split("/").slice(strip));
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, body);
  });
}
