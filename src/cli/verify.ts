/** `persist verify PATH [--json]`: read everything, list every problem found (not only the first). */
import { dirname, join } from "node:path";
import { readArrayFiles } from "../arrays/containers.js";
import { DataSet } from "../dataset/dataset.js";
import { type DataSetIndexProblem, verifyDataSetIndex } from "../dataset/verify.js";
import { checkComplete, MAX_MODULE_BYTES } from "../load/index.js";
import { readConfinedText } from "../store/confined.js";
import { errorText } from "./errors.js";
import { writeJson } from "./json-stream.js";
import { loadWithStandIns, readDataSetItem } from "./stand-ins.js";
import {
  type ArchiveTarget,
  type DataFiles,
  type DataSetTarget,
  filesAt,
  resolveTarget,
  totalBytes,
} from "./target.js";
import { type Io, Printer, Progress, styled, watchBytes } from "./terminal.js";

/** `verify --json` output. */
export interface VerifyJson {
  ok: boolean;
  type: "archive" | "dataset";
  path: string;
  summary: string;
  problems: string[];
}

export async function verify(path: string, json: boolean, io: Io): Promise<number> {
  const target = await resolveTarget(path);
  const { problems, summary } =
    target.type === "dataset" ? await verifyDataSet(target, io) : await verifyArchive(target, io);
  const where = target.type === "dataset" ? target.path : target.entry;
  const out = new Printer(io.stdout);
  if (json) {
    const result: VerifyJson = {
      ok: problems.length === 0,
      type: target.type,
      path: where,
      summary,
      problems,
    };
    await writeJson(result, "verify", out);
    return problems.length === 0 ? 0 : 1;
  }
  if (problems.length === 0) {
    out.line`${styled("green", "ok")}: ${summary}`;
    return 0;
  }
  const err = new Printer(io.stderr);
  const count = `${problems.length} problem${problems.length === 1 ? "" : "s"}`;
  err.line`${styled("red", "persist verify")}: ${count} in ${where}:`;
  for (const problem of problems) err.line`  - ${problem}`;
  return 1;
}

interface Outcome {
  problems: string[];
  summary: string;
}

/** Bytes of the data files `data` names (for a byte progress bar). */
export async function dataBytes(data: DataFiles | undefined): Promise<number> {
  if (!data) return 0;
  if (data.format !== "npy") return totalBytes(await filesAt(data.location));
  let total = 0;
  for (const name of data.names)
    total += totalBytes(await filesAt(join(data.location, `${name}.npy`)));
  return total;
}

/**
 * Reads each array of `data` on its own (so every broken one is named); returns the messages of
 * the problems, one per distinct message (a broken .npz fails every name with the same one).
 */
async function verifyDataFiles(data: DataFiles, problems: string[]): Promise<string[]> {
  const dataMessages: string[] = [];
  const perFile = data.format === "npy";
  for (const name of data.names) {
    const file = perFile ? join(data.location, `${name}.npy`) : data.location;
    try {
      await readArrayFiles(data.location, data.format, [name], { root: data.root });
    } catch (error) {
      const message = errorText(error);
      if (dataMessages.includes(message)) continue;
      dataMessages.push(message);
      problems.push(`array ${name}: ${message.includes(file) ? message : `${file}: ${message}`}`);
    }
  }
  return dataMessages;
}

/** Each data file on its own (so every broken one is named), then the whole archive. */
async function verifyArchive(target: ArchiveTarget, io: Io): Promise<Outcome> {
  const problems: string[] = [];
  const data = target.data;
  const progress = watchBytes(io.stderr, "verify", await dataBytes(data));
  let dataMessages: string[];
  try {
    dataMessages = data ? await verifyDataFiles(data, problems) : [];
  } finally {
    progress.stop();
  }
  let exports: Record<string, unknown> = {};
  try {
    // a module cut short is named as such, before anything is read from it
    await checkModuleComplete(target.entry);
    exports = await loadWithStandIns(target.entry);
  } catch (error) {
    // Loading stops at the first broken data file, which is listed already.
    const message = errorText(error);
    if (!dataMessages.some((m) => message.includes(m))) problems.push(message);
  }
  const names = Object.keys(exports).filter((n) => n !== "default");
  const arrays = data ? `, ${data.names.length} external arrays (${data.format})` : "";
  return { problems, summary: `archive ${target.entry}: ${names.length} exports${arrays}` };
}

/**
 * The index first (journal damage, a torn tail, a changed index.mjs: verifyDataSetIndex), then
 * every item (its module complete, then loaded) and every info, with a progress bar on a terminal.
 */
async function verifyDataSet(target: DataSetTarget, io: Io): Promise<Outcome> {
  const problems: string[] = [];
  // (a DataSet on S3 has no index files: its commit log is read by DataSet.open)
  const local = !target.path.startsWith("s3://");
  const index = local ? await verifyDataSetIndex(target.path) : undefined;
  for (const problem of index?.problems ?? []) problems.push(indexProblemText(problem));
  if (index?.problems.some((p) => p.kind === "damaged")) {
    return { problems, summary: `DataSet ${target.path}: the index cannot be read` };
  }
  const modules = new Map(index?.items.map((item) => [item.name, item.module]));
  const ds = await DataSet.open(target.path, { mode: "r" });
  try {
    const keys = await ds.keys();
    const progress = new Progress(io.stderr, "verify", keys.length);
    for (const key of keys) {
      try {
        await ds.info(key);
      } catch (error) {
        problems.push(`info of item ${key}: ${errorText(error)}`);
      }
      try {
        const module = modules.get(key);
        if (module !== undefined) await checkModuleComplete(join(target.path, module));
        await readDataSetItem(ds, key);
      } catch (error) {
        problems.push(`item ${key}: ${errorText(error)}`);
      }
      progress.tick();
    }
    progress.finish();
    return { problems, summary: `DataSet ${target.path}: ${keys.length} items and their infos` };
  } finally {
    await ds.close();
  }
}

/** FormatError when the module at `file` (format 2 or later) lacks its end marker. */
async function checkModuleComplete(file: string): Promise<void> {
  const text = await readConfinedText(file, {
    root: dirname(file),
    what: "archive module",
    maxBytes: MAX_MODULE_BYTES,
  });
  checkComplete(text, file);
}

/** A problem of the index in CLI words (the library's messages name DataSet.open). */
function indexProblemText(problem: DataSetIndexProblem): string {
  const where = problem.line === undefined ? problem.file : `${problem.file}:${problem.line}`;
  switch (problem.kind) {
    case "torn-tail":
      return (
        `${where}: torn tail (a crash or power loss left an incomplete commit record): readers ` +
        "ignore it, and the next program that opens the DataSet for writing removes it"
      );
    case "stale-index-module":
      return (
        `${where} is not the fixed module that replays index.journal (missing or changed): ` +
        "importing the DataSet's index.mjs may fail or be wrong; the next program that opens the " +
        "DataSet for writing rewrites it"
      );
    default:
      return problem.message;
  }
}
