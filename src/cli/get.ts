/** `persist get PATH NAME [--json]`. */
import { inspect } from "node:util";
import { DataSet } from "../dataset/dataset.js";
import { NotFoundError } from "../errors.js";
import { writeJson } from "./json-stream.js";
import { loadWithStandIns, readDataSetItem } from "./stand-ins.js";
import { resolveTarget } from "./target.js";
import { type Io, Printer } from "./terminal.js";
import { didYouMean } from "./usage.js";

export async function get(path: string, name: string, json: boolean, io: Io): Promise<number> {
  const value = await readItem(path, name);
  const out = new Printer(io.stdout);
  if (json) {
    await writeJson(value, name, out);
  } else {
    // No colour here: inspect's colours would be escape sequences next to archive text, and the
    // Printer escapes every control character of that text, line by line. inspect already shows
    // sparse arrays compactly and stops at depth 12.
    const text = inspect(value, {
      depth: 12,
      colors: false,
      maxArrayLength: 100,
      breakLength: 100,
    });
    let start = 0;
    for (let lines = 1; start <= text.length; lines++) {
      let end = text.indexOf("\n", start);
      if (end < 0) end = text.length;
      out.line`${text.slice(start, end)}`;
      start = end + 1;
      if (lines % 256 === 0) await out.drained();
    }
  }
  return 0;
}

/** Export `name` of an archive, or item `name` of a DataSet (safely loaded). */
async function readItem(path: string, name: string): Promise<unknown> {
  const target = await resolveTarget(path);
  if (target.type === "dataset") {
    const ds = await DataSet.open(target.path, { mode: "r" });
    try {
      return await readDataSetItem(ds, name);
    } finally {
      await ds.close();
    }
  }
  const exports = await loadWithStandIns(target.entry);
  if (!Object.hasOwn(exports, name)) {
    const names = Object.keys(exports);
    const shown = names.length > 20 ? [...names.slice(0, 20), "…"] : names;
    throw new NotFoundError(
      `archive ${target.entry} has no export ${JSON.stringify(name)}${didYouMean(name, names)}` +
        `; it has ${names.length > 0 ? shown.join(", ") : "none"}`,
      { file: target.entry, valuePath: name },
    );
  }
  return exports[name];
}
