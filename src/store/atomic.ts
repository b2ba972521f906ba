/**
 * Crash-safe file replacement. A file is never written in place: the bytes go to a temp file in the
 * same directory, are fsynced, renamed over the target, and then the directory itself is fsynced so
 * the rename survives a power loss. (write-file-atomic skips the directory fsync, hence our own.)
 */
import { randomBytes } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { PROCESS_TAG } from "./process.js";

/** A temp path beside `target`, unique per process and call, hidden from directory listings. */
export function tempPathFor(target: string): string {
  return join(
    dirname(target),
    `.${basename(target)}.${PROCESS_TAG}.${randomBytes(4).toString("hex")}.tmp`,
  );
}

/** fsync a directory so renames and creations inside it are durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } catch (err) {
    // Some filesystems refuse fsync on directories (EINVAL/EISDIR); the rename is still atomic.
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "EINVAL" && code !== "EISDIR" && code !== "EPERM") throw err;
  } finally {
    await handle.close();
  }
}

/** Write all of `data` to a new file at `path` and fsync it. Fails if `path` exists. */
export async function writeNewFile(path: string, data: string | Uint8Array): Promise<void> {
  const handle = await open(path, "wx");
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Atomically replace (or create) `target` with what `write` puts in a fresh temp path beside it
 * (`write` must fsync what it writes): rename over the target, then fsync the directory. On any
 * failure the temp file is removed and the target is untouched.
 */
export async function replaceFile(
  target: string,
  write: (tmp: string) => Promise<void>,
  options: { syncDir?: boolean } = {},
): Promise<void> {
  const tmp = tempPathFor(target);
  try {
    await write(tmp);
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  if (options.syncDir !== false) await fsyncDir(dirname(target));
}

/** Atomically replace (or create) `target` with `data`: temp, fsync, rename, fsync dir. */
export async function writeFileAtomic(
  target: string,
  data: string | Uint8Array,
  options: { syncDir?: boolean } = {},
): Promise<void> {
  await replaceFile(target, (tmp) => writeNewFile(tmp, data), options);
}
