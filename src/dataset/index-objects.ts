/**
 * What the objects of a DataSet's index on object storage hold, read the same way by the commit
 * log (commit-log.ts) and the writer lanes (lanes.ts): JSON, ids that writers make, and numbered
 * objects, which writers claim in order.
 */
import { FormatError } from "../errors.js";

const decoder = new TextDecoder("utf-8", { fatal: true });

/** The JSON value of an index object, else a FormatError naming it (`where`). */
export function parseJson(bytes: Uint8Array, where: string): unknown {
  try {
    return JSON.parse(decoder.decode(bytes));
  } catch (err) {
    throw new FormatError(`${where} is not valid JSON: ${(err as Error).message}`, {
      file: where,
      cause: err,
    });
  }
}

/** Upload ids are what writers make (random, `[\w-]`): never a key's "/" or "..". */
export function isUploadId(id: unknown): id is string {
  return typeof id === "string" && /^[\w-]{1,200}$/.test(id);
}

/**
 * The numbers among `found` that follow `from` without a gap, in order: log entries and lane
 * commits are claimed in order, so what lies past a gap (never expected) is not read.
 */
export function gapless(found: readonly number[], from: number): number[] {
  const sorted = found.filter((n) => n >= from).sort((a, b) => a - b);
  const out: number[] = [];
  for (const n of sorted) {
    if (n !== from + out.length) break;
    out.push(n);
  }
  return out;
}
