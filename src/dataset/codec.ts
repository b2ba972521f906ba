/**
 * How a DataSet turns values into files and back. The one place that connects the DataSet to the
 * Archive (saving items), the emitter (info expressions) and the loader (reading both back).
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { Archive } from "../archive.js";
import { emitValueExpression } from "../emit/expression.js";
import { interpretSource, load } from "../load/index.js";

export interface ItemOptions {
  arrayThreshold: number;
  dataFormat: "npy" | "npz" | "hdf5" | undefined;
}

/**
 * The info value as a one-line, self-contained archive-language expression (an index line must be
 * one line, so a reader can tell a complete record from a torn one). The emitter breaks long
 * literals over lines; those line breaks are only whitespace between tokens (string literals
 * escape every line terminator, and the language has no comments inside expressions, templates
 * or regex literals), so joining the lines keeps the meaning.
 */
export function infoExpression(info: unknown, name: string): string {
  return emitValueExpression(info, `${name}.info`).replace(/\r?\n[ \t]*/g, " ");
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
 * `<name>.d.mts`, and external arrays in `<name>_arrays…`. Archive.save renders (and so rejects an
 * unarchivable value) before writing anything, writes to a staging folder and renames the entry
 * module into place last.
 */
export async function saveItem(dir: string, name: string, value: unknown, options: ItemOptions) {
  const archive = new Archive({ singleItem: true, arrayThreshold: options.arrayThreshold });
  archive.insert({ [name]: value });
  await archive.save(dir, { name, package: false, dataFormat: options.dataFormat, force: true });
}

/** Load the item module at `file` safely, fresh from disk: its default export. */
export async function loadItem(file: string): Promise<unknown> {
  return (await load(file)).default;
}

/** Every file an item may have, relative to the DataSet directory. */
export function itemFiles(name: string): string[] {
  return [
    `${name}.mjs`,
    `${name}.d.mts`,
    `${name}_arrays`,
    `${name}_arrays.npz`,
    `${name}_arrays.h5`,
  ];
}

/** Remove item `name`'s files (after its index line is gone): the module first, then its data. */
export async function removeItem(dir: string, name: string): Promise<void> {
  for (const file of itemFiles(name)) await rm(join(dir, file), { recursive: true, force: true });
}
