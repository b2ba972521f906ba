/**
 * Checks of a DataSet's index for `persist verify` (the CLI loads every item itself): the marker,
 * the journal (damage, torn tail), the fixed index.mjs, and which module each item's value is in.
 */
import { join } from "node:path";
import { ArchiveError } from "../errors.js";
import { readConfinedText } from "../store/confined.js";
import { INDEX_MODULE, INDEX_MODULE_FILE } from "./index-module.js";
import { Journal } from "./journal.js";
import { journalFor, MARKER_FILE, readMarker } from "./layout.js";

/** One problem found in a DataSet's index files. */
export interface DataSetIndexProblem {
  /** "damaged": readers fail; "torn-tail": readers ignore it, a write-open removes it;
   * "stale-index-module": native import may be wrong, a write-open rewrites it. */
  kind: "damaged" | "torn-tail" | "stale-index-module";
  file: string;
  line?: number;
  message: string;
}

export interface DataSetIndexReport {
  /** Format version from the marker (1 or 2). */
  version: number;
  /** Item names in order, with the module file (relative to the DataSet) holding each value. */
  items: { name: string; module: string }[];
  problems: DataSetIndexProblem[];
}

/**
 * Read the index of the DataSet at `dir` without changing anything. Throws only when `dir` is not
 * a DataSet at all (no marker: NotFoundError / ArchiveError); every other problem is listed.
 */
export async function verifyDataSetIndex(dir: string): Promise<DataSetIndexReport> {
  const version = await readMarker(dir);
  if (version === undefined) {
    throw new ArchiveError(`${dir} is not a DataSet (it has no ${MARKER_FILE})`, { file: dir });
  }
  const problems: DataSetIndexProblem[] = [];
  const journal = journalFor(dir, version);
  try {
    await journal.refresh();
  } catch (err) {
    const e = err as ArchiveError;
    problems.push({
      kind: "damaged",
      file: e.file ?? journal.file,
      line: e.line,
      message: e.message,
    });
  }
  if (journal instanceof Journal && journal.tail !== undefined) {
    const { line, bytes } = journal.tail;
    problems.push({
      kind: "torn-tail",
      file: journal.file,
      line,
      message:
        `${journal.file}:${line}: torn tail (${bytes} bytes that are not a complete record, left by ` +
        'a crash or power loss): readers ignore it; the next DataSet.open(…, { mode: "w" }) removes it',
    });
  }
  if (version === 1) {
    const tail = await v1Tail(join(dir, INDEX_MODULE_FILE));
    if (tail !== undefined) problems.push(tail);
  } else {
    let text: string | undefined;
    try {
      text = await readConfinedText(join(dir, INDEX_MODULE_FILE), { root: dir, maxBytes: 1 << 20 });
    } catch {
      text = undefined;
    }
    if (text !== INDEX_MODULE) {
      problems.push({
        kind: "stale-index-module",
        file: join(dir, INDEX_MODULE_FILE),
        message: `${join(dir, INDEX_MODULE_FILE)} is not the fixed module that replays index.journal (missing or changed): native import of it may fail or be wrong; the next DataSet.open(…, { mode: "w" }) rewrites it`,
      });
    }
  }
  const items = [...journal.allEntries()].map(([name, entry]) => ({
    name,
    module: entry.module ?? `${name}.mjs`,
  }));
  return { version, items, problems };
}

/** A format-1 index whose last line has no newline (native import of it fails). */
async function v1Tail(file: string): Promise<DataSetIndexProblem | undefined> {
  let text: string;
  try {
    text = await readConfinedText(file, { root: join(file, ".."), maxBytes: 2 ** 31 });
  } catch {
    return undefined; // reported by the journal reader
  }
  if (text === "" || text.endsWith("\n")) return undefined;
  const line = text.split("\n").length;
  return {
    kind: "torn-tail",
    file,
    line,
    message: `${file}:${line}: torn last line (a crash left it without its newline): native import of this format-1 index fails; the next DataSet.open(…, { mode: "w" }) migrates the DataSet to format 2 without it`,
  };
}
