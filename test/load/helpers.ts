/**
 * Helpers for loader tests: write archive text beside a copy of the runtime, import it natively
 * (the reference semantics) and interpret it safely.
 */
import { copyFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { interpretSource } from "../../src/load/index.js";
import { tempDir } from "../helpers/tmp.js";

const RUNTIME = fileURLToPath(new URL("../../src/runtime/persist-runtime.mjs", import.meta.url));

let counter = 0;

// Made when a test file imports this module, so tempDir() registers its cleanup at file level.
const dir = await tempDir("persist-load-");
await copyFile(RUNTIME, join(dir, "_persist_runtime.v1.mjs"));

/** A temp folder holding `_persist_runtime.v1.mjs`, shared by a test file. */
export async function archiveDir(): Promise<string> {
  return dir;
}

/** Writes `text` as a new module file in the archive folder; returns its path. */
export async function writeArchive(text: string, name = `a${++counter}.mjs`): Promise<string> {
  const file = join(await archiveDir(), name);
  await writeFile(file, text);
  return file;
}

/** Native import() of the text (fresh file each time), as a plain object. */
export async function importNative(text: string): Promise<Record<string, unknown>> {
  const file = await writeArchive(text);
  const ns = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  return { ...ns };
}

/** Safe interpretation of the text, as if read from a file in the archive folder. */
export async function interpret(
  text: string,
  modules?: Record<string, Record<string, unknown>>,
): Promise<Record<string, unknown>> {
  return interpretSource(text, { file: join(await archiveDir(), "inline.mjs"), modules });
}
