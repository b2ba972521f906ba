import { link, readdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Archive } from "../archive.js";
import { emitValueExpression } from "../emit/expression.js";
import { FormatError, UnsupportedValueError } from "../errors.js";
import { interpretExpressionList } from "../load/expression-list.js";
import { type LoadOptions, load } from "../load/index.js";
import { fsyncDir, tempPathFor } from "../store/atomic.js";
import { checkConfined, readConfinedText } from "../store/confined.js";
import type { Entry } from "./journal.js";
import { isExactJson, type Operation } from "./records.js";

export interface ItemOptions {
  arrayThreshold: number;
  dataFormat: "npy" | "npz" | "hdf5" | undefined;
}

/** `await` would call a callable `then` (and never settle, or settle with something else). */
export function checkNotThenable(value: unknown, what: string, path: string): void {
  if ((typeof value === "object" && value !== null) || typeof value === "function") {
    let then: unknown;
    try {
      then = (value as { then?: unknown }).then;
    } catch {
      return; // a throwing getter is refused by the archiver with its path
    }
    if (typeof then === "function") {
      throw new UnsupportedValueError(
        `Cannot store ${path}: ${what} has a callable \`then\`, so \`await\` would treat it as a ` +
          "promise (ds.get() and import() would never return it). Rename that field or wrap the value.",
        { valuePath: `${path}.then` },
      );
    }
  }
}

/**
 * The journal operation that gives item `name` `info`: JSON when the info comes back from JSON
 * exactly, else a one-line archive-language expression. Throws for what cannot be archived.
 */
export function infoOperation(name: string, info: unknown): { info: unknown } | { expr: string } {
  checkNotThenable(info, "the info", `${name}.info`);
  if (isExactJson(info)) return { info };
  return { expr: emitValueExpression(info, `${name}.info`, { oneLine: true }) };
}

/** The info an index entry holds, as a fresh value (safely interpreted: nothing is executed). */
export async function entryInfo(entry: Entry, file: string): Promise<unknown> {
  if (entry.expr === undefined) return entry.json === undefined ? null : JSON.parse(entry.json);
  return (await interpretExpressions([entry.expr], file, [entry.line]))[0];
}

/**
 * The values of several info expressions, each read on its own (expression-list.ts: joined into
 * one text, one record's expression could change the next ones'). Errors name the journal line
 * of the expression at fault.
 */
export async function interpretExpressions(
  exprs: readonly string[],
  file: string,
  lines: readonly number[],
): Promise<unknown[]> {
  return interpretExpressionList(exprs, "the info", (k, err) => {
    const line = lines[k];
    throw new FormatError(
      `${file}:${line}: the info recorded there cannot be read (set the item's info again, or correct the record by hand: docs/dataset-format.md): ${err.message}`,
      {
        file,
        line,
        column: err.column,
        cause: err,
      },
    );
  });
}

/** The index operation committing item `name` saved under `stem` with info `op`. */
export function setOperationFor(
  name: string,
  stem: string,
  info: { info: unknown } | { expr: string },
): Operation {
  const op = { set: name, ...info } as Operation & { module?: string };
  if (stem !== name) op.module = `${stem}.mjs`;
  return op;
}

/**
 * Write an item's value as a single-item module archive `<stem>.mjs` (`export default …`),
 * `<stem>.d.mts` and its data files, durably (each fsynced, renamed into place, directory
 * fsynced). Archive.save renders (and so rejects an unarchivable value) before writing anything.
 */
export async function saveItem(
  dir: string,
  stem: string,
  value: unknown,
  options: ItemOptions,
): Promise<void> {
  checkNotThenable(value, "the item", stem);
  const archive = Archive.ofItem(stem.split(".")[0]!, value, {
    arrayThreshold: options.arrayThreshold,
  });
  await archive.save(dir, {
    name: stem,
    package: false,
    dataFormat: options.dataFormat,
    force: true,
  });
}

/** Load the item module at `file` safely, fresh from disk: its default export. */
export async function loadItem(
  dir: string,
  file: string,
  options: { lazy?: boolean } = {},
): Promise<unknown> {
  // Before the loader opens it: a FIFO must not block, /dev/zero must not be read, and a symlink
  // must not lead outside the DataSet (the loader checks its own reads as well).
  await checkConfined(file, { root: dir, what: "DataSet item module" });
  const loadOptions: LoadOptions = options.lazy ? { lazy: true } : {};
  return (await load(file, loadOptions)).default;
}

const DATA_LOCATION = /_loadArrays\(import\.meta\.url, "\.\/([A-Za-z0-9_$][A-Za-z0-9_$.-]*)"/;

/** The data file or folder (in `dir`) that the module `<stem>.mjs` reads, if any. */
export async function itemDataLocation(dir: string, stem: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readConfinedText(join(dir, `${stem}.mjs`), { root: dir, what: "DataSet item" });
  } catch {
    return undefined; // missing, or not a regular file inside the DataSet: reads no data of ours
  }
  const location = DATA_LOCATION.exec(text)?.[1];
  return location === undefined || location.includes("..") ? undefined : location;
}

/** Every file an item saved under `stem` may have, relative to the DataSet directory. */
export function itemFiles(stem: string): string[] {
  return [
    `${stem}.mjs`,
    `${stem}.d.mts`,
    `${stem}_arrays`,
    `${stem}_arrays.npz`,
    `${stem}_arrays.h5`,
  ];
}

/**
 * Every file item `name` has in `dir` now: its module, declarations and the data it reads (after
 * a replacement `<name>.v<hex>_arrays…`), and the version module the index names.
 */
export async function itemFilesOnDisk(
  dir: string,
  name: string,
  entry?: { module?: string },
): Promise<string[]> {
  const files = itemFiles(name);
  const data = await itemDataLocation(dir, name);
  if (data !== undefined && !files.includes(data)) {
    files.push(data);
    // `<name>.v<hex>_arrays…` belongs to the version `<name>.v<hex>.mjs` that `<name>.mjs` links to.
    const version = /^(.+\.v[0-9a-f]{8})_arrays/.exec(data)?.[1];
    if (version !== undefined) files.push(`${version}.mjs`, `${version}.d.mts`);
  }
  if (entry?.module !== undefined) {
    for (const f of itemFiles(entry.module.slice(0, -4))) if (!files.includes(f)) files.push(f);
  }
  return files;
}

export async function removeFiles(dir: string, names: readonly string[]): Promise<void> {
  for (const file of names) await rm(join(dir, file), { recursive: true, force: true });
}

/**
 * Make `<name>.mjs` and `<name>.d.mts` the committed version's files (hard links, or copies where
 * links are not supported), each replaced atomically.
 */
export async function linkCurrentVersion(dir: string, name: string, stem: string): Promise<void> {
  for (const suffix of [".d.mts", ".mjs"]) {
    const target = join(dir, `${name}${suffix}`);
    const tmp = tempPathFor(target);
    try {
      await link(join(dir, `${stem}${suffix}`), tmp);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT" && suffix === ".d.mts") continue;
      if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP") throw err;
      const text = await readConfinedText(join(dir, `${stem}${suffix}`), { root: dir });
      await writeFile(tmp, text, { flag: "wx" });
    }
    await rename(tmp, target);
    // When the target already was this version (a set() killed after linking `.d.mts`, before
    // `.mjs`), both names are links to one file and rename() does nothing: the temp name stays.
    await rm(tmp, { force: true });
  }
  await fsyncDir(dir);
}

/** `<name>` or `<name>.v<8 hex>`, followed by what save() writes: module, declarations or data. */
const ITEM_FILE =
  /^([A-Za-z$][A-Za-z0-9_$]*)((?:\.v[0-9a-f]{8})?)(\.mjs|\.d\.mts|_arrays(?:\.npz|\.h5)?)$/;

/** The stem (`x_7` or `x_7.v1a2b3c4d`) and item name of a file an item may own. */
export function parseItemFile(entry: string): { name: string; stem: string } | undefined {
  const m = ITEM_FILE.exec(entry);
  if (m === null || m[1]!.startsWith("_") || m[1] === "index") return undefined;
  return { name: m[1]!, stem: m[1]! + m[2]! };
}

/** Entries of `dir` (empty when it cannot be listed). */
export async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}
