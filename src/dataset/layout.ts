/**
 * Files that make a directory a DataSet (docs/dataset-format.md), creating one without ever
 * exposing half of it, migrating format 1, and removing what killed writers left.
 */
import { link, lstat, mkdir, readdir, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { DATASET_INDEX_DECLARATIONS_FILE, dataSetIndexDeclarations } from "../emit/dts.js";
import { FormatError, NotFoundError } from "../errors.js";
import { fsyncDir, tempPathFor, writeFileAtomic, writeNewFile } from "../store/atomic.js";
import { readConfinedText } from "../store/confined.js";
import { isTagRunning, PROCESS_TAG_PATTERN } from "../store/process.js";
import { exists } from "../store/publish.js";
import { interpretExpressions } from "./codec.js";
import { INDEX_MODULE, INDEX_MODULE_FILE } from "./index-module.js";
import { Journal } from "./journal.js";
import { JournalV1 } from "./journal-v1.js";
import { encodeRecord, isExactJson, JOURNAL_FILE, JOURNAL_HEADER } from "./records.js";

export const MARKER_FILE = ".persist-dataset.json";
export const LOCK_FILE = ".persist-dataset.lock";
/** Format 1 kept its journal in index.mjs itself. */
export const INDEX_FILE = INDEX_MODULE_FILE;
const FORMAT = "persist-archive DataSet";
export const VERSION = 2;
const markerText = (version: number) => `${JSON.stringify({ format: FORMAT, version })}\n`;

/**
 * The format version of the DataSet in `dir` (1 or 2), or undefined when it has no marker;
 * FormatError when the marker is not a regular file we can read, or not one of ours.
 */
export async function readMarker(dir: string): Promise<number | undefined> {
  const file = join(dir, MARKER_FILE);
  let text: string;
  try {
    text = await readConfinedText(file, { root: dir, what: "DataSet marker", maxBytes: 4096 });
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
  let marker: { format?: unknown; version?: unknown };
  try {
    marker = JSON.parse(text);
  } catch {
    throw new FormatError(
      `${file} is not valid JSON; restore it as ${markerText(VERSION).trim()}`,
      {
        file,
      },
    );
  }
  if (marker === null || marker.format !== FORMAT || !Number.isInteger(marker.version)) {
    throw new FormatError(`${file} does not describe a persist-archive DataSet.`, { file });
  }
  const version = marker.version as number;
  if (version > VERSION || version < 1) {
    throw new FormatError(
      `${file}: DataSet format ${version} is ${version < 1 ? "not one" : "newer than what"} this persist-archive reads ` +
        `(1 to ${VERSION}); upgrade persist-archive.`,
      { file },
    );
  }
  return version;
}

/** Files a DataSet creation in progress leaves in an otherwise empty directory. */
export function isCreationFile(name: string): boolean {
  return [INDEX_MODULE_FILE, MARKER_FILE, DATASET_INDEX_DECLARATIONS_FILE, JOURNAL_FILE].some(
    (file) => name === file || name.startsWith(`.${file}.`),
  );
}

/** The files of a new format-2 DataSet, in the order they are created (marker last). */
function creationFiles(): [string, string][] {
  return [
    [DATASET_INDEX_DECLARATIONS_FILE, dataSetIndexDeclarations()],
    [JOURNAL_FILE, JOURNAL_HEADER],
    [INDEX_MODULE_FILE, INDEX_MODULE],
    [MARKER_FILE, markerText(VERSION)],
  ];
}

/**
 * Make `dir` a new DataSet. A missing directory is built beside it and renamed into place, so a
 * concurrent opener sees nothing or a complete DataSet (if it loses the race, the winner's stays).
 * An existing empty directory is filled in place with no-overwrite links, marker last.
 */
export async function createDataSetDirectory(dir: string): Promise<void> {
  const parent = dirname(dir);
  await mkdir(parent, { recursive: true });
  if (await exists(dir)) {
    for (const [name, text] of creationFiles()) await linkNew(join(dir, name), text);
    await fsyncDir(dir);
    return;
  }
  // mkdir (not mkdtemp, which makes it 0700) so the DataSet gets the usual permissions.
  const tmp = tempPathFor(dir);
  try {
    await mkdir(tmp);
    for (const [name, text] of creationFiles()) await writeNewFile(join(tmp, name), text);
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

/**
 * Convert a format-1 DataSet to format 2. Call under the write lock. The journal is written
 * first, then the marker (the commit point: readers switch formats on it), then index.mjs is
 * replaced by the fixed reader; a crash in between is finished by the next write-open
 * (ensureFormat2Files).
 */
export async function migrateToFormat2(dir: string): Promise<void> {
  const old = new JournalV1(join(dir, INDEX_MODULE_FILE));
  await old.refresh();
  const parts: Uint8Array[] = [Buffer.from(JOURNAL_HEADER)];
  // Each v1 expression becomes JSON when it is plain JSON data (fast to read), else it stays an
  // expression; one that cannot be read stays as it was (verify and info() report it).
  for (const op of old.snapshot()) {
    if ("expr" in op) {
      try {
        const [value] = await interpretExpressions([op.expr], old.file, [0]);
        if (isExactJson(value)) {
          parts.push(encodeRecord([{ set: op.set, info: value }]));
          continue;
        }
      } catch {
        // kept as an expression
      }
    }
    parts.push(encodeRecord([op]));
  }
  await writeFileAtomic(join(dir, JOURNAL_FILE), Buffer.concat(parts));
  await writeFileAtomic(join(dir, MARKER_FILE), markerText(VERSION));
  await ensureFormat2Files(dir);
}

/** Give a format-2 DataSet its fixed index.mjs and index.d.mts if they are missing or stale. */
export async function ensureFormat2Files(dir: string): Promise<void> {
  const declarations = join(dir, DATASET_INDEX_DECLARATIONS_FILE);
  if (!(await exists(declarations))) await linkNew(declarations, dataSetIndexDeclarations());
  const module = join(dir, INDEX_MODULE_FILE);
  let current: string | undefined;
  try {
    current = await readConfinedText(module, { root: dir, maxBytes: 1 << 20 });
  } catch {
    current = undefined; // missing, or not a regular file: replaced below (never written through)
  }
  if (current !== INDEX_MODULE) {
    // A rename replaces a symlink itself, never what it points to.
    await writeFileAtomic(module, INDEX_MODULE);
  }
}

/** Journal reader for `dir` in format `version`. */
export function journalFor(dir: string, version: number): Journal | JournalV1 {
  return version === 1
    ? new JournalV1(join(dir, INDEX_MODULE_FILE))
    : new Journal(join(dir, JOURNAL_FILE), dir);
}

/**
 * Temp files and staging folders: `.<name>.<process tag>.<8 hex>.tmp` (store/atomic.ts,
 * store/publish.ts); the tag is `<pid>-<start time>` on Linux, `<pid>` elsewhere and in older
 * versions (store/process.ts).
 */
const LEFTOVER = new RegExp(`^\\.(.+)\\.(${PROCESS_TAG_PATTERN})\\.[0-9a-f]{8}\\.tmp$`);
/** `convert.<process tag>.<8 hex>.tmp` and `old.…` beside a DataSet (cli/convert.ts). */
const CONVERT_LEFTOVER = new RegExp(
  `^(convert|old)\\.(${PROCESS_TAG_PATTERN})\\.[0-9a-f]{8}\\.tmp$`,
);
/** Leftovers not covered by a claim are removed only after this: the pid may be another host's. */
const LEFTOVER_AGE_MS = 10 * 60_000;

/**
 * Remove temp files and staging folders that writers killed mid-save left in `dir`: the process
 * its name's tag names is not running on this host (its pid is gone, or belongs to a process with
 * another start time), and either `isClaimed(target)` says no live writer is staging that target
 * (then at once), or the entry is old enough that it cannot belong to a live writer on another
 * host sharing the directory. Best effort: failures are ignored.
 */
export async function removeCrashLeftovers(
  dir: string,
  isClaimed: (target: string) => boolean | undefined = () => undefined,
): Promise<string[]> {
  const removed: string[] = [];
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return removed;
  }
  for (const entry of entries) {
    const match = LEFTOVER.exec(entry);
    if (match === null || isTagRunning(match[2]!)) continue;
    const path = join(dir, entry);
    try {
      const claimed = isClaimed(match[1]!);
      if (claimed !== false && Date.now() - (await lstat(path)).mtimeMs < LEFTOVER_AGE_MS) continue;
      await rm(path, { recursive: true, force: true });
      removed.push(entry);
    } catch {
      // gone already, or not ours to remove
    }
  }
  return removed;
}

/**
 * Remove the copies an in-place `persist convert` killed midway left beside the DataSet
 * (`.<dataset>.convert.<pid>.<hex>.tmp`, `.<dataset>.old.<pid>.<hex>.tmp`). Call under the
 * DataSet's write lock: convert holds it while it works, so these belong to dead processes;
 * the pid check is a second guard.
 */
export async function removeConvertLeftovers(dir: string): Promise<string[]> {
  const parent = dirname(dir);
  const prefix = `.${basename(dir)}.`;
  const removed: string[] = [];
  let entries: string[];
  try {
    entries = await readdir(parent);
  } catch {
    return removed;
  }
  for (const entry of entries) {
    if (!entry.startsWith(prefix)) continue;
    const match = CONVERT_LEFTOVER.exec(entry.slice(prefix.length));
    if (match === null || isTagRunning(match[2]!)) continue;
    try {
      await rm(join(parent, entry), { recursive: true, force: true });
      removed.push(entry);
    } catch {
      // not ours to remove
    }
  }
  return removed;
}
