/** `persist get PATH NAME [--json]`. */
import { inspect } from "node:util";
import { DataSet } from "../dataset/dataset.js";
import { NotFoundError } from "../errors.js";
import { loadWithStandIns, readDataSetItem } from "./stand-ins.js";
import { resolveTarget } from "./target.js";
import { type Io, wantsColour } from "./terminal.js";
import { toJson } from "./to-json.js";

export async function get(path: string, name: string, json: boolean, io: Io): Promise<number> {
  const value = await readItem(path, name);
  if (json) {
    io.stdout.write(`${JSON.stringify(toJson(value, name), null, 2)}\n`);
  } else {
    const colors = wantsColour(io.stdout);
    io.stdout.write(
      `${inspect(value, { depth: 12, colors, maxArrayLength: 100, breakLength: 100 })}\n`,
    );
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
    throw new NotFoundError(
      `archive ${target.entry} has no export ${JSON.stringify(name)}; it has ${names.length > 0 ? names.join(", ") : "none"}`,
      { file: target.entry, valuePath: name },
    );
  }
  return exports[name];
}
