/** `persist verify PATH`: read everything, list every problem found (not only the first). */
import { join } from "node:path";
import { readArrayFiles } from "../arrays/containers.js";
import { DataSet } from "../dataset/dataset.js";
import { errorText } from "./errors.js";
import { loadWithStandIns, readDataSetItem } from "./stand-ins.js";
import { type ArchiveTarget, type DataSetTarget, resolveTarget } from "./target.js";
import { type Io, Progress, paint } from "./terminal.js";

export async function verify(path: string, io: Io): Promise<number> {
  const target = await resolveTarget(path);
  const { problems, summary } =
    target.type === "dataset" ? await verifyDataSet(target, io) : await verifyArchive(target);
  if (problems.length === 0) {
    io.stdout.write(`${paint(io.stdout, "green", "ok")}: ${summary}\n`);
    return 0;
  }
  const where = target.type === "dataset" ? target.path : target.entry;
  const count = `${problems.length} problem${problems.length === 1 ? "" : "s"}`;
  io.stderr.write(`${paint(io.stderr, "red", "persist verify")}: ${count} in ${where}:\n`);
  for (const problem of problems) io.stderr.write(`  - ${problem}\n`);
  return 1;
}

interface Outcome {
  problems: string[];
  summary: string;
}

/** Each data file on its own (so every broken one is named), then the whole archive. */
async function verifyArchive(target: ArchiveTarget): Promise<Outcome> {
  const problems: string[] = [];
  /** Messages of the data file problems (a broken .npz fails every name with the same one). */
  const dataMessages: string[] = [];
  const data = target.data;
  if (data) {
    for (const name of data.names) {
      try {
        await readArrayFiles(data.location, data.format, [name]);
      } catch (error) {
        const message = errorText(error);
        if (dataMessages.includes(message)) continue;
        dataMessages.push(message);
        const file = data.format === "npy" ? join(data.location, `${name}.npy`) : data.location;
        problems.push(`array ${name}: ${message.includes(file) ? message : `${file}: ${message}`}`);
      }
    }
  }
  let exports: Record<string, unknown> = {};
  try {
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

/** Every item and every info, with a progress bar on a terminal. */
async function verifyDataSet(target: DataSetTarget, io: Io): Promise<Outcome> {
  const problems: string[] = [];
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
