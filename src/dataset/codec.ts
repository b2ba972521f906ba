/**
 * How a DataSet turns values into files and back. The one place that connects the DataSet to the
 * Archive (saving items), the emitter (info expressions) and the safe loader (reading both).
 *
 * TEMPORARY: until Archive / emitExpression / load land on main, plain JSON data stands in.
 */
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { UnsupportedValueError } from "../errors.js";
import { writeFileAtomic } from "../store/atomic.js";

export interface ItemOptions {
  arrayThreshold: number;
  dataFormat: "npy" | "npz" | "hdf5" | undefined;
}

/** The info value as a one-line, self-contained archive-language expression. */
export function infoExpression(info: unknown, name: string): string {
  const text = JSON.stringify(info);
  if (text === undefined) throw new UnsupportedValueError(`info of ${name} cannot be archived`);
  return text;
}

/** Evaluate (safely) an info expression read from `file`. */
export function interpretExpression(expr: string, _file: string): unknown {
  return JSON.parse(expr);
}

/** Write item `name` into `dir` as `<name>.mjs` (+ data files); the module is renamed into place. */
export async function saveItem(dir: string, name: string, value: unknown, _o: ItemOptions) {
  const text = JSON.stringify(value);
  if (text === undefined) throw new UnsupportedValueError(`item ${name} cannot be archived`);
  await writeFileAtomic(join(dir, `${name}.mjs`), `export default ${text};\n`);
}

/** Load the item module at `file` (safely, fresh from disk). */
export async function loadItem(file: string): Promise<unknown> {
  const text = await readFile(file, "utf8");
  return JSON.parse(text.slice("export default ".length, text.lastIndexOf(";")));
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

/** Remove item `name`'s files (after its index line is gone). */
export async function removeItem(dir: string, name: string): Promise<void> {
  for (const file of itemFiles(name)) await rm(join(dir, file), { recursive: true, force: true });
}
