/** `persist show PATH [--where EXPR] [--sort FIELD] [--limit N] [--json]`. */
import { relative } from "node:path";
import { DataSet } from "../dataset/dataset.js";
import {
  type NestedArray,
  nestedArrays,
  type Summary,
  shortText,
  summarize,
  summaryText,
} from "./describe.js";
import { errorText } from "./errors.js";
import { writeJson } from "./json-stream.js";
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
import { formatBytes, type Io, Printer, Progress, styled } from "./terminal.js";
import { type Selection, UsageError } from "./usage.js";
import { compileSort, compileWhere } from "./where.js";

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
  /** Arrays nested inside exports (`results.field`). */
  arrays: NestedArray[];
}

/** A DataSet item as `show --json` lists it. */
export type DataSetShowItem = Summary & {
  name: string;
  bytes: number;
  info: unknown;
  error?: string;
};

const NO_SELECTION: Selection = { where: undefined, sort: undefined, limit: undefined };

export async function show(
  path: string,
  json: boolean,
  select: Selection,
  io: Io,
): Promise<number> {
  const target = await resolveTarget(path);
  if (target.type === "dataset") return showDataSet(target, json, select, io);
  if (select.where !== undefined || select.sort !== undefined || select.limit !== undefined) {
    throw new UsageError(
      `--where, --sort and --limit select items of a DataSet; ${target.entry} is an archive`,
      "",
    );
  }
  return showArchive(target, json, io);
}

export async function describeArchive(target: ArchiveTarget): Promise<ArchiveShowJson> {
  // Headers only: arrays come back as LazyArrays (dtype and shape without reading data).
  const exports = await loadWithStandIns(target.entry, { lazy: true });
  const files = await archiveFiles(target);
  const names = Object.keys(exports);
  const defaultExport =
    "default" in exports
      ? (names.find((n) => n !== "default" && exports[n] === exports.default) ?? null)
      : null;
  const shown = names.filter((n) => !(n === "default" && defaultExport !== null));
  const items = shown.map((name) => ({ name, ...summarize(exports[name]) }));
  const arrays = shown.flatMap((name) => nestedArrays(exports[name], name));
  return {
    type: "archive",
    entry: target.entry,
    layout: target.layout,
    dataFormat: target.data?.format ?? null,
    defaultExport,
    bytes: totalBytes(files),
    files: files.map((f) => ({ path: relative(target.home, f.path), bytes: f.bytes })),
    items,
    arrays,
  };
}

async function showArchive(target: ArchiveTarget, json: boolean, io: Io): Promise<number> {
  const shown = await describeArchive(target);
  const out = new Printer(io.stdout);
  if (json) {
    await writeJson(shown, "show", out);
    return 0;
  }
  const arrays = shown.dataFormat ? `, external arrays: ${shown.dataFormat}` : "";
  out.line`${styled("bold", "archive")} ${target.entry} (${shown.layout} layout${arrays}, ${shown.files.length} files, ${formatBytes(shown.bytes)})`;
  const rows = shown.items.map((item) => [
    item.name + (item.name === shown.defaultExport ? " (default)" : ""),
    summaryText(item),
  ]);
  for (const nested of shown.arrays) {
    rows.push([nested.path, summaryText(nested)]);
  }
  // nested arrays listed after their export, in the order found
  out.table(orderUnderExports(rows, shown.items.length));
  return 0;
}

/** Rows of exports followed by rows of nested arrays → each nested row under its export. */
function orderUnderExports(rows: string[][], exports: number): string[][] {
  const top = rows.slice(0, exports);
  const nested = rows.slice(exports);
  const out: string[][] = [];
  for (const row of top) {
    out.push(row);
    const name = row[0]!.replace(/ \(default\)$/, "");
    for (const n of nested) {
      const rest = n[0]!.slice(name.length);
      if (n[0]!.startsWith(name) && /^[.[]/.test(rest)) out.push(n);
    }
  }
  return out;
}

/** Every item's info, one read of the index where the DataSet supports it. */
export async function allInfos(
  ds: DataSet,
  keys: readonly string[],
): Promise<Map<string, unknown>> {
  const withInfos = ds as unknown as { infos?: () => Promise<Record<string, unknown>> };
  if (typeof withInfos.infos === "function") {
    const infos = await withInfos.infos();
    return new Map(keys.map((k) => [k, Object.hasOwn(infos, k) ? infos[k] : undefined]));
  }
  const out = new Map<string, unknown>();
  for (const key of keys) out.set(key, await ds.info(key));
  return out;
}

/** Names of the items `select` keeps, in the order it asks for. */
export function selectItems(
  keys: readonly string[],
  infos: ReadonlyMap<string, unknown>,
  select: Selection,
): string[] {
  let pairs: [string, unknown][] = keys.map((k) => [k, infos.get(k)]);
  if (select.where !== undefined) {
    const keep = compileWhere(select.where);
    pairs = pairs.filter(([, info]) => keep(info));
  }
  if (select.sort !== undefined) pairs.sort(compileSort(select.sort));
  if (select.limit !== undefined) pairs = pairs.slice(0, select.limit);
  return pairs.map(([k]) => k);
}

async function showDataSet(
  target: DataSetTarget,
  json: boolean,
  select: Selection,
  io: Io,
): Promise<number> {
  const ds = await DataSet.open(target.path, { mode: "r" });
  const items: DataSetShowItem[] = [];
  let count: number;
  try {
    const keys = await ds.keys();
    count = keys.length;
    let infos: Map<string, unknown>;
    let infoError: unknown;
    try {
      infos = await allInfos(ds, keys);
    } catch (error) {
      if (select !== NO_SELECTION && (select.where !== undefined || select.sort !== undefined)) {
        throw error;
      }
      infos = new Map();
      infoError = error;
    }
    const chosen = selectItems(keys, infos, select);
    const progress = new Progress(io.stderr, "show", chosen.length);
    for (const name of chosen) {
      const bytes = totalBytes(await itemFileSizes(target.path, name));
      let info: unknown = infos.get(name) ?? null;
      let summary: Summary;
      let error: string | undefined;
      try {
        if (infoError !== undefined) info = (await ds.info(name)) ?? null;
        summary = summarize(await readDataSetItem(ds, name, { lazy: true }));
      } catch (err) {
        summary = { kind: "unreadable" };
        error = errorText(err);
      }
      items.push({ name, ...summary, bytes, info, ...(error ? { error } : {}) });
      progress.tick();
    }
    progress.finish();
  } finally {
    await ds.close();
  }
  const bytes = totalBytes(await filesAt(target.path));
  const err = new Printer(io.stderr);
  const broken = items.filter((i) => i.error !== undefined);
  for (const item of broken) err.line`persist show: item ${item.name}: ${item.error!}`;
  const out = new Printer(io.stdout);
  if (json) {
    await writeJson({ type: "dataset", path: target.path, bytes, count, items }, "show", out);
  } else {
    const selected =
      items.length === count ? `${count} items` : `${items.length} of ${count} items`;
    out.line`${styled("bold", "DataSet")} ${target.path} (${selected}, ${formatBytes(bytes)})`;
    out.table(
      items.map((i) => [
        i.name,
        summaryText(i),
        formatBytes(i.bytes),
        `info: ${shortText(i.info)}`,
      ]),
    );
  }
  return broken.length > 0 ? 1 : 0;
}
