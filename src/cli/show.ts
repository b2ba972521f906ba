/** `persist show PATH [--json]`. */
import { relative } from "node:path";
import { DataSet } from "../dataset/dataset.js";
import { type Summary, shortText, summarize, summaryText } from "./describe.js";
import { errorText } from "./errors.js";
import { loadWithStandIns, readDataSetItem } from "./stand-ins.js";
import {
  type ArchiveTarget,
  archiveFiles,
  type DataSetTarget,
  filesAt,
  itemFileSizes,
  resolveTarget,
  totalBytes,
} from "./target.js";
import { formatBytes, type Io, type OutStream, Progress, paint } from "./terminal.js";
import { type Json, toJson } from "./to-json.js";

/** Archive shown as JSON (`show --json`). */
export interface ArchiveShowJson {
  type: "archive";
  entry: string;
  layout: "package" | "module";
  /** Format of the external arrays, null when every array is inline. */
  dataFormat: "npy" | "npz" | "hdf5" | null;
  /** Name of the export the default export is (single-item archives), else null. */
  defaultExport: string | null;
  bytes: number;
  /** Paths relative to the folder holding the entry module. */
  files: { path: string; bytes: number }[];
  items: (Summary & { name: string })[];
}

/** DataSet shown as JSON (`show --json`). */
export interface DataSetShowJson {
  type: "dataset";
  path: string;
  bytes: number;
  items: (Summary & { name: string; bytes: number; info: Json; error?: string })[];
}

export async function show(path: string, json: boolean, io: Io): Promise<number> {
  const target = await resolveTarget(path);
  if (target.type === "dataset") return showDataSet(target, json, io);
  return showArchive(target, json, io);
}

export async function describeArchive(target: ArchiveTarget): Promise<ArchiveShowJson> {
  const exports = await loadWithStandIns(target.entry);
  const files = await archiveFiles(target);
  const names = Object.keys(exports);
  const defaultExport =
    "default" in exports
      ? (names.find((n) => n !== "default" && exports[n] === exports.default) ?? null)
      : null;
  const items = names
    .filter((n) => !(n === "default" && defaultExport !== null))
    .map((name) => ({ name, ...summarize(exports[name]) }));
  return {
    type: "archive",
    entry: target.entry,
    layout: target.layout,
    dataFormat: target.data?.format ?? null,
    defaultExport,
    bytes: totalBytes(files),
    files: files.map((f) => ({ path: relative(target.home, f.path), bytes: f.bytes })),
    items,
  };
}

async function showArchive(target: ArchiveTarget, json: boolean, io: Io): Promise<number> {
  const shown = await describeArchive(target);
  if (json) {
    io.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
    return 0;
  }
  const out = io.stdout;
  const arrays = shown.dataFormat ? `, external arrays: ${shown.dataFormat}` : "";
  out.write(
    `${paint(out, "bold", "archive")} ${target.entry} (${shown.layout} layout${arrays}, ` +
      `${shown.files.length} files, ${formatBytes(shown.bytes)})\n`,
  );
  const rows = shown.items.map((item) => [
    item.name + (item.name === shown.defaultExport ? " (default)" : ""),
    summaryText(item),
  ]);
  writeTable(out, rows);
  return 0;
}

async function showDataSet(target: DataSetTarget, json: boolean, io: Io): Promise<number> {
  const ds = await DataSet.open(target.path, { mode: "r" });
  const items: DataSetShowJson["items"] = [];
  const infos: unknown[] = [];
  try {
    const keys = await ds.keys();
    const progress = new Progress(io.stderr, "show", keys.length);
    for (const name of keys) {
      const bytes = totalBytes(await itemFileSizes(target.path, name));
      let info: unknown = null;
      let summary: Summary;
      let error: string | undefined;
      try {
        info = await ds.info(name);
        summary = summarize(await readDataSetItem(ds, name));
      } catch (err) {
        summary = { kind: "unreadable" };
        error = errorText(err);
      }
      infos.push(info);
      items.push({
        name,
        ...summary,
        bytes,
        info: toJson(info, `${name}.info`),
        ...(error ? { error } : {}),
      });
      progress.tick();
    }
    progress.finish();
  } finally {
    await ds.close();
  }
  const shown: DataSetShowJson = {
    type: "dataset",
    path: target.path,
    bytes: totalBytes(await filesAt(target.path)),
    items,
  };
  const broken = items.filter((i) => i.error !== undefined);
  for (const item of broken) io.stderr.write(`persist show: item ${item.name}: ${item.error}\n`);
  if (json) {
    io.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
  } else {
    const out = io.stdout;
    out.write(
      `${paint(out, "bold", "DataSet")} ${target.path} (${items.length} items, ${formatBytes(shown.bytes)})\n`,
    );
    writeTable(
      out,
      items.map((i, n) => [
        i.name,
        summaryText(i),
        formatBytes(i.bytes),
        `info: ${shortText(infos[n])}`,
      ]),
    );
  }
  return broken.length > 0 ? 1 : 0;
}

/** Left-aligned columns, the first one highlighted on a colour terminal. */
function writeTable(out: OutStream, rows: string[][]): void {
  const widths: number[] = [];
  for (const row of rows) {
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, cell.length);
  }
  for (const row of rows) {
    const cells = row.map((cell, i) => {
      const padded = i === row.length - 1 ? cell : cell.padEnd(widths[i]!);
      return i === 0 ? paint(out, "cyan", padded) : padded;
    });
    out.write(`  ${cells.join("  ")}\n`);
  }
}
