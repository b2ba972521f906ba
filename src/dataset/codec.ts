/**
 * How a DataSet turns values into files and back. The one place that connects the DataSet to the
 * Archive (saving items), the emitter (info expressions) and the loader (reading both back).
 */
import { randomBytes } from "node:crypto";
import { readdir, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { Archive } from "../archive.js";
import { emitValueExpression } from "../emit/expression.js";
import { interpretSource, load } from "../load/index.js";
import { fsyncDir } from "../store/atomic.js";

export interface ItemOptions {
  arrayThreshold: number;
  dataFormat: "npy" | "npz" | "hdf5" | undefined;
}

/**
 * The info value as a one-line, self-contained archive-language expression (an index line must be
 * one line, so a reader can tell a complete record from a torn one).
 */
export function infoExpression(info: unknown, name: string): string {
  return emitValueExpression(info, `${name}.info`, { oneLine: true });
}

/**
 * The value of an info expression read from `file`, interpreted safely (nothing is executed):
 * the expression is wrapped in a one-statement module of the archive language.
 */
export async function interpretExpression(expr: string, file: string): Promise<unknown> {
  const exports = await interpretSource(`export const info = ${expr};\n`, { file });
  return exports.info;
}

/**
 * Write item `name` into `dir` as a single-item module archive: `<name>.mjs` (`export default`),
 * `<name>.d.mts`, and external arrays beside it. Archive.save renders (and so rejects an
 * unarchivable value) before writing anything, and renames the entry module into place last.
 *
 * A new item is saved under its own name (`<name>_arrays…`). Replacing an existing item must never
 * leave a module without its data, even if killed midway, and Archive.save's replace moves the old
 * files aside before moving the new ones in. So a replacement is saved under a fresh version name
 * (`<name>.v<hex>.mjs` reading `./<name>.v<hex>_arrays`), then its module is renamed over
 * `<name>.mjs` (atomic), and only then is the old version's data removed. At every instant
 * `<name>.mjs` is a complete module whose data exists.
 */
export async function saveItem(
  dir: string,
  name: string,
  value: unknown,
  options: ItemOptions & { replacing: boolean },
): Promise<void> {
  const archive = Archive.ofItem(name, value, { arrayThreshold: options.arrayThreshold });
  const save = (saveName: string) =>
    archive.save(dir, {
      name: saveName,
      package: false,
      dataFormat: options.dataFormat,
      force: true,
    });
  if (!options.replacing) {
    await save(name);
    return;
  }
  const version = `${name}.v${randomBytes(4).toString("hex")}`;
  await save(version);
  const oldData = await itemDataLocation(dir, name);
  try {
    await rename(join(dir, `${version}.d.mts`), join(dir, `${name}.d.mts`));
    await rename(join(dir, `${version}.mjs`), join(dir, `${name}.mjs`));
  } catch (err) {
    await removeFiles(dir, itemFiles(version));
    throw err;
  }
  await fsyncDir(dir);
  const newData = await itemDataLocation(dir, name);
  if (oldData !== undefined && oldData !== newData) await removeFiles(dir, [oldData]);
}

/** Load the item module at `file` safely, fresh from disk: its default export. */
export async function loadItem(file: string): Promise<unknown> {
  return (await load(file)).default;
}

const DATA_LOCATION = /_loadArrays\(import\.meta\.url, "\.\/([A-Za-z0-9_$][A-Za-z0-9_$.-]*)"/;

/**
 * The data file or folder (in `dir`) that item `name`'s module reads, if any. After a replacement
 * this is `<name>.v<hex>_arrays…` rather than one of itemFiles(name).
 */
export async function itemDataLocation(dir: string, name: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, `${name}.mjs`), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  const location = DATA_LOCATION.exec(text)?.[1];
  return location === undefined || location.includes("..") ? undefined : location;
}

/** Every file an item saved under `name` may have, relative to the DataSet directory. */
export function itemFiles(name: string): string[] {
  return [
    `${name}.mjs`,
    `${name}.d.mts`,
    `${name}_arrays`,
    `${name}_arrays.npz`,
    `${name}_arrays.h5`,
  ];
}

/**
 * Every file item `name` has in `dir` now: its module, declarations and the data it reads, which
 * after a replacement is `<name>.v<hex>_arrays…` (so itemFiles() alone would miss it).
 */
export async function itemFilesOnDisk(dir: string, name: string): Promise<string[]> {
  const data = await itemDataLocation(dir, name);
  const files = itemFiles(name);
  if (data !== undefined && !files.includes(data)) files.push(data);
  return files;
}

/** Remove item `name`'s files (after its index line is gone): the module first, then its data. */
export async function removeItem(dir: string, name: string): Promise<void> {
  await removeFiles(dir, await itemFilesOnDisk(dir, name));
}

async function removeFiles(dir: string, names: readonly string[]): Promise<void> {
  for (const file of names) await rm(join(dir, file), { recursive: true, force: true });
}

/** `<name>.v<8 hex>` followed by what save() writes: the module, declarations or data. */
const VERSIONED =
  /^([A-Za-z_$][A-Za-z0-9_$]*)\.v[0-9a-f]{8}(\.mjs|\.d\.mts|_arrays(?:\.npz|\.h5)?)$/;

/**
 * Remove what a replacement killed between its save and its rename left behind: versioned modules
 * that were never renamed over their item, and versioned data no item module reads. Call only under
 * the write lock, when no replacement can be in flight.
 */
export async function removeReplacementOrphans(dir: string): Promise<string[]> {
  const removed: string[] = [];
  const inUse = new Map<string, string | undefined>();
  for (const entry of await readdir(dir)) {
    const match = VERSIONED.exec(entry);
    if (!match) continue;
    const [, name, suffix] = match as unknown as [string, string, string];
    if (suffix.startsWith("_arrays")) {
      if (!inUse.has(name)) inUse.set(name, await itemDataLocation(dir, name));
      if (inUse.get(name) === entry) continue;
    }
    await rm(join(dir, entry), { recursive: true, force: true });
    removed.push(entry);
  }
  return removed;
}
