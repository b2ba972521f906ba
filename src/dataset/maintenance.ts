/**
 * What a write-open does under the lock before any write: migrate a format-1 DataSet, cut a torn
 * journal tail, give the DataSet its fixed index files, and remove what killed writers left
 * (unlisted item files and versions nobody claims, staging folders, temp files, dead claims,
 * convert copies beside the DataSet). Removal is best effort: it never fails an open.
 */
import { rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { readClaims } from "./claims.js";
import { itemDataLocation, linkCurrentVersion, listDir, parseItemFile } from "./codec.js";
import type { Journal } from "./journal.js";
import { ensureFormat2Files, removeConvertLeftovers, removeCrashLeftovers } from "./layout.js";

/** Entries written only under the lock: a temp file of theirs with a dead pid is garbage now. */
const LOCKED_FILES = /^(?:\.persist-dataset\.(?:json|lock.*)|index\.(?:journal|mjs|d\.mts))$/;

/** Tidy `dir` (format 2, journal refreshed with repair). Call under the write lock. */
export async function tidyUnderLock(dir: string, journal: Journal): Promise<string[]> {
  const removed: string[] = [];
  await ensureFormat2Files(dir);
  await relinkVersions(dir, journal);
  const entries = await listDir(dir);
  const claims = await readClaims(dir, entries);
  const live = (stem: string) => claims.get(stem) === true;
  const dataReadBy = new Map<string, string | undefined>();
  const readsData = async (name: string, entry: string) => {
    if (!dataReadBy.has(name)) dataReadBy.set(name, await itemDataLocation(dir, name));
    return dataReadBy.get(name) === entry;
  };
  for (const entry of entries) {
    const item = parseItemFile(entry);
    if (item === undefined || live(item.stem)) continue;
    const listed = journal.entry(item.name);
    if (listed !== undefined) {
      const isData = !entry.endsWith(".mjs") && !entry.endsWith(".d.mts");
      if (item.stem === item.name && (!isData || listed.module === undefined)) continue;
      if (listed.module === `${item.stem}.mjs`) continue;
      // What `<name>.mjs` reads stays (format-1 replacements: `<name>.v<hex>_arrays`).
      if (isData && (await readsData(item.name, entry))) continue;
    }
    await rm(join(dir, entry), { recursive: true, force: true }).catch(() => {});
    removed.push(entry);
  }
  for (const [stem, alive] of claims) {
    if (alive) continue;
    await rm(join(dir, `.${stem}.claim`), { force: true }).catch(() => {});
    removed.push(`.${stem}.claim`);
  }
  removed.push(
    ...(await removeCrashLeftovers(dir, (target) => {
      if (LOCKED_FILES.test(target) || target === ".claims") return false;
      const claim = /^\.(.+)\.claim$/.exec(target)?.[1];
      const stem = claim ?? parseItemFile(target)?.stem;
      return stem === undefined ? undefined : live(stem);
    })),
  );
  removed.push(...(await removeConvertLeftovers(dir)));
  return removed;
}

/**
 * After a set() killed between its commit and re-linking `<name>.mjs`, the name's module lags
 * behind the journal: link it to the committed version again.
 */
async function relinkVersions(dir: string, journal: Journal): Promise<void> {
  for (const [name, entry] of journal.allEntries()) {
    if (entry.module === undefined) continue;
    try {
      const [current, version] = await Promise.all([
        stat(join(dir, `${name}.mjs`)).catch(() => undefined),
        stat(join(dir, entry.module)),
      ]);
      if (current?.ino === version.ino && current.dev === version.dev) continue;
      await linkCurrentVersion(dir, name, entry.module.slice(0, -4));
    } catch {
      // the version is missing (verify reports it) or the link failed: the next open tries again
    }
  }
}
