/**
 * Puts a fully written staging area in place of an archive, so that a failed save leaves the
 * previous archive intact: everything is written (and fsynced) first into a hidden staging folder
 * beside the target, then moved in with renames; if any rename fails, the moves are undone.
 */
import { randomBytes } from "node:crypto";
import { lstat, mkdir, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { fsyncDir } from "./atomic.js";
import { PROCESS_TAG } from "./process.js";

export async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
}

/** A fresh hidden folder beside `target` to write into. */
export async function makeStaging(target: string): Promise<string> {
  const path = join(
    dirname(target),
    `.${basename(target)}.${PROCESS_TAG}.${randomBytes(4).toString("hex")}.tmp`,
  );
  await mkdir(path);
  return path;
}

/** Moves `from` to `to`, replacing a previous `to` (used for `.bak` copies). */
async function moveReplacing(from: string, to: string): Promise<void> {
  await rm(to, { recursive: true, force: true });
  await rename(from, to);
}

/**
 * Replaces the directory `target` by `staging` (package layout). The old one becomes
 * `target.bak` with `backup`, else it is deleted after the swap.
 */
export async function publishDirectory(
  staging: string,
  target: string,
  backup: boolean,
): Promise<void> {
  const aside = backup ? `${target}.bak` : `${staging}.old`;
  const hadOld = await exists(target);
  if (hadOld) await moveReplacing(target, aside);
  try {
    await rename(staging, target);
  } catch (err) {
    if (hadOld) await rename(aside, target);
    throw err;
  }
  await fsyncDir(dirname(target));
  if (hadOld && !backup) await rm(aside, { recursive: true, force: true });
}

/**
 * Moves `names` (in order: data first, entry module last) from `staging` into `home`, after moving
 * every existing file of `owned` (the old archive's files, in any format) aside: to `*.bak` with
 * `backup`, else into the staging folder, which is deleted at the end.
 */
export async function publishFiles(
  staging: string,
  home: string,
  names: readonly string[],
  owned: readonly string[],
  backup: boolean,
): Promise<void> {
  const replaced = join(staging, ".replaced");
  await mkdir(replaced);
  const movedAside: [from: string, to: string][] = [];
  const placed: string[] = [];
  try {
    for (const name of owned) {
      const from = join(home, name);
      if (!(await exists(from))) continue;
      const to = backup ? `${from}.bak` : join(replaced, name);
      await moveReplacing(from, to);
      movedAside.push([from, to]);
    }
    for (const name of names) {
      await rename(join(staging, name), join(home, name));
      placed.push(name);
    }
  } catch (err) {
    for (const name of placed.reverse())
      await rm(join(home, name), { recursive: true, force: true });
    for (const [from, to] of movedAside.reverse()) await rename(to, from);
    throw err;
  }
  await fsyncDir(home);
}
