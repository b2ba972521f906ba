/** Files that make a directory a DataSet, and creating one without ever exposing half of it. */
import { link, lstat, mkdir, readdir, readFile, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { DATASET_INDEX_DECLARATIONS_FILE, dataSetIndexDeclarations } from "../emit/dts.js";
import { FormatError } from "../errors.js";
import { fsyncDir, tempPathFor, writeNewFile } from "../store/atomic.js";
import { exists } from "../store/publish.js";
import { INDEX_FILE, INDEX_HEADER } from "./journal.js";

export const MARKER_FILE = ".persist-dataset.json";
export const LOCK_FILE = ".persist-dataset.lock";
const FORMAT = "persist-archive DataSet";
const VERSION = 1;
const MARKER_TEXT = `${JSON.stringify({ format: FORMAT, version: VERSION })}\n`;

/** True when `dir` has a DataSet marker; FormatError when the marker is not one we can read. */
export async function readMarker(dir: string): Promise<boolean> {
  const file = join(dir, MARKER_FILE);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
  let marker: { format?: unknown; version?: unknown };
  try {
    marker = JSON.parse(text);
  } catch {
    throw new FormatError(`${file} is not valid JSON; restore it as ${MARKER_TEXT.trim()}`, {
      file,
    });
  }
  if (marker.format !== FORMAT || typeof marker.version !== "number") {
    throw new FormatError(`${file} does not describe a persist-archive DataSet.`, { file });
  }
  if (marker.version > VERSION) {
    throw new FormatError(
      `${file}: DataSet format ${marker.version} is newer than this persist-archive reads ` +
        `(${VERSION}); upgrade persist-archive.`,
      { file },
    );
  }
  return true;
}

/** Files a DataSet creation in progress leaves in an otherwise empty directory. */
export function isCreationFile(name: string): boolean {
  return (
    name === INDEX_FILE ||
    name === MARKER_FILE ||
    name === DATASET_INDEX_DECLARATIONS_FILE ||
    name.startsWith(`.${DATASET_INDEX_DECLARATIONS_FILE}.`) ||
    name.startsWith(`.${INDEX_FILE}.`) ||
    name.startsWith(`.${MARKER_FILE}.`)
  );
}

/**
 * Make `dir` a new DataSet. A missing directory is built beside it and renamed into place, so a
 * concurrent opener sees nothing or a complete DataSet (if it loses the race, the winner's stays).
 * An existing empty directory is filled in place with no-overwrite links, index before marker.
 */
export async function createDataSetDirectory(dir: string): Promise<void> {
  const parent = dirname(dir);
  await mkdir(parent, { recursive: true });
  if (await exists(dir)) {
    await linkNew(join(dir, DATASET_INDEX_DECLARATIONS_FILE), dataSetIndexDeclarations());
    await linkNew(join(dir, INDEX_FILE), INDEX_HEADER);
    await linkNew(join(dir, MARKER_FILE), MARKER_TEXT);
    await fsyncDir(dir);
    return;
  }
  // mkdir (not mkdtemp, which makes it 0700) so the DataSet gets the usual permissions.
  const tmp = tempPathFor(dir);
  try {
    await mkdir(tmp);
    await writeNewFile(join(tmp, DATASET_INDEX_DECLARATIONS_FILE), dataSetIndexDeclarations());
    await writeNewFile(join(tmp, INDEX_FILE), INDEX_HEADER);
    await writeNewFile(join(tmp, MARKER_FILE), MARKER_TEXT);
    await fsyncDir(tmp);
    await rename(tmp, dir);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "ENOTEMPTY" && code !== "EEXIST") throw err;
    return; // another process created it first
  }
  await fsyncDir(parent);
}

/**
 * Give a DataSet made before index declarations existed its `index.d.mts` (writers call this at
 * open). A no-overwrite link, so concurrent openers race harmlessly and no lock is needed.
 */
export async function ensureIndexDeclarations(dir: string): Promise<void> {
  const file = join(dir, DATASET_INDEX_DECLARATIONS_FILE);
  if (await exists(file)) return;
  await linkNew(file, dataSetIndexDeclarations());
}

/** Create `target` with `text` unless it exists (complete content appears at once). */
async function linkNew(target: string, text: string): Promise<void> {
  const tmp = tempPathFor(target);
  await writeNewFile(tmp, text);
  try {
    await link(tmp, target);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  } finally {
    await rm(tmp, { force: true });
  }
}

/** Temp files and staging folders: `.<name>.<pid>.<8 hex>.tmp` (store/atomic.ts, store/publish.ts). */
const LEFTOVER = /^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$/;
/** Only leftovers older than this are removed: the pid in the name may be another host's. */
const LEFTOVER_AGE_MS = 10 * 60_000;

/**
 * Remove temp files and staging folders that writers killed mid-save left in `dir`: the pid in the
 * name is not running on this host, and the entry is old enough that it cannot belong to a live
 * writer on another host sharing the directory. Best effort: failures are ignored.
 */
export async function removeCrashLeftovers(dir: string): Promise<string[]> {
  const removed: string[] = [];
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return removed;
  }
  for (const entry of entries) {
    const pid = LEFTOVER.exec(entry)?.[1];
    if (pid === undefined || isRunning(Number(pid))) continue;
    const path = join(dir, entry);
    try {
      if (Date.now() - (await lstat(path)).mtimeMs < LEFTOVER_AGE_MS) continue;
      await rm(path, { recursive: true, force: true });
      removed.push(entry);
    } catch {
      // gone already, or not ours to remove
    }
  }
  return removed;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== "ESRCH";
  }
}
