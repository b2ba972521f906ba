/**
 * Journal records of DataSet format 2 (docs/dataset-format.md): `<crc32 hex> <json>\n`, where the
 * JSON is an array of operations. One record is one commit, so a torn record (crash, power loss,
 * disk full) is a whole commit missing, never half of one.
 */
import { FormatError } from "../errors.js";
import { crcHex } from "./crc32.js";

export const JOURNAL_FILE = "index.journal";
export const JOURNAL_HEADER = "persist-archive DataSet journal 2\n";

/** One operation of a record. A set carries the item's whole state (info and module). */
export type Operation =
  | { set: string; info: unknown; module?: string }
  | { set: string; expr: string; module?: string }
  | { delete: string };

/** Item names: ASCII identifiers, never `__proto__` (names never start with "_"). */
const ITEM_NAME = /^[A-Za-z$][A-Za-z0-9_$]*$/;
/** The module of a replaced item: `<name>.v<8 hex>.mjs` (or `<name>.mjs`). */
const MODULE = /^([A-Za-z$][A-Za-z0-9_$]*)(\.v[0-9a-f]{8})?\.mjs$/;

const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** The bytes of one record (with its trailing newline) holding `ops`. */
export function encodeRecord(ops: readonly Operation[]): Buffer {
  // JSON.stringify escapes "\n" and "\r", so the record is one line.
  const json = Buffer.from(JSON.stringify(ops), "utf8");
  const line = Buffer.allocUnsafe(json.length + 10);
  line.write(crcHex(json), 0, "latin1");
  line[8] = 0x20;
  json.copy(line, 9);
  line[line.length - 1] = 0x0a;
  return line;
}

/** A complete record found by scanRecords. */
export interface ScannedRecord {
  /** 1-based line number in the journal. */
  line: number;
  ops: Operation[];
}

export interface Scan {
  records: ScannedRecord[];
  /** Bytes consumed: up to the end of the last complete record (or of the header). */
  consumed: number;
  /** What follows the complete records, if anything: a torn tail, ignored until repaired. */
  tail: { line: number; bytes: number } | undefined;
}

/**
 * Parse `bytes` (the journal from byte offset `base`, which starts a line numbered `firstLine`).
 * `withHeader`: the bytes start at the beginning of the file. A line that is not a complete record
 * followed only by more such lines is a torn tail (reported, not thrown); followed by a complete
 * record it is damage: FormatError naming the line.
 */
export function scanRecords(
  bytes: Uint8Array,
  firstLine: number,
  file: string,
  withHeader: boolean,
): Scan {
  const records: ScannedRecord[] = [];
  let pos = 0;
  let line = firstLine;
  if (withHeader) {
    const end = bytes.indexOf(0x0a);
    const header = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString(
      "latin1",
      0,
      end < 0 ? bytes.length : end + 1,
    );
    if (header !== JOURNAL_HEADER) {
      throw new FormatError(
        `${file}:1: not a DataSet journal (the first line must be ${JSON.stringify(JOURNAL_HEADER.trim())}). ` +
          "Restore it from a backup.",
        { file, line: 1, column: 1 },
      );
    }
    pos = end + 1;
    line++;
  }
  let bad: { line: number; at: number; why: string } | undefined;
  while (pos < bytes.length) {
    const nl = bytes.indexOf(0x0a, pos);
    const end = nl < 0 ? bytes.length : nl;
    const parsed = nl < 0 ? "no line end" : parseRecord(bytes, pos, end);
    if (typeof parsed === "string") {
      bad ??= { line, at: pos, why: parsed };
    } else {
      if (bad !== undefined) {
        throw new FormatError(
          `${file}:${bad.line}: damaged journal record (${bad.why}), followed by intact records ` +
            `(line ${line}). This is not a crash's torn tail; restore the journal from a backup, ` +
            "or delete that line if its commit may be lost.",
          { file, line: bad.line, column: 1 },
        );
      }
      checkOperations(parsed, file, line);
      records.push({ line, ops: parsed as Operation[] });
    }
    pos = end + 1;
    line++;
  }
  if (bad !== undefined) {
    return { records, consumed: bad.at, tail: { line: bad.line, bytes: bytes.length - bad.at } };
  }
  return { records, consumed: bytes.length, tail: undefined };
}

/** The operations of the record in bytes[start, end) (no newline), or why it is not one. */
function parseRecord(bytes: Uint8Array, start: number, end: number): unknown[] | string {
  if (end - start < 11 || bytes[start + 8] !== 0x20) return "not `<crc> <json>`";
  const crc = Buffer.from(bytes.buffer, bytes.byteOffset + start, 8).toString("latin1");
  if (crc !== crcHex(bytes, start + 9, end)) return "checksum mismatch";
  let ops: unknown;
  try {
    ops = JSON.parse(UTF8.decode(bytes.subarray(start + 9, end)));
  } catch {
    return "not JSON";
  }
  return Array.isArray(ops) ? ops : "not a JSON array";
}

/** A record whose checksum matches holds what a writer meant: anything else in it is damage. */
function checkOperations(ops: unknown[], file: string, line: number): void {
  for (const op of ops) {
    const why = problemWith(op);
    if (why !== undefined) {
      throw new FormatError(
        `${file}:${line}: journal record with an invalid operation (${why}): ${JSON.stringify(op)?.slice(0, 200)}`,
        { file, line, column: 1 },
      );
    }
  }
}

function problemWith(op: unknown): string | undefined {
  if (typeof op !== "object" || op === null || Array.isArray(op)) return "not an object";
  const o = op as Record<string, unknown>;
  if ("delete" in o) {
    if (Object.keys(o).length !== 1) return "delete takes nothing else";
    return isItemName(o.delete) ? undefined : "not an item name";
  }
  if (!isItemName(o.set)) return "set must name an item";
  const hasInfo = Object.hasOwn(o, "info");
  const hasExpr = Object.hasOwn(o, "expr");
  if (hasInfo === hasExpr) return "a set has exactly one of info and expr";
  if (hasExpr && (typeof o.expr !== "string" || /[\n\r\u2028\u2029]/.test(o.expr))) {
    return "expr must be a one-line string";
  }
  if (o.module !== undefined) {
    const m = typeof o.module === "string" ? MODULE.exec(o.module) : null;
    if (m === null || m[1] !== o.set) return "module must be <name>.mjs or <name>.v<8 hex>.mjs";
  }
  for (const key of Object.keys(o)) {
    if (!["set", "info", "expr", "module"].includes(key)) return `unknown field ${key}`;
  }
  return undefined;
}

export function isItemName(name: unknown): name is string {
  return typeof name === "string" && ITEM_NAME.test(name);
}

/**
 * True when `value` comes back from JSON exactly (same types, same keys, same order): then an info
 * is stored as JSON. Else (Map, Date, NaN, -0, undefined, BigInt, holes, symbols, ...) it is stored
 * as an archive-language expression.
 */
export function isExactJson(value: unknown, depth = 0): boolean {
  if (depth > 200) return false;
  switch (typeof value) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(value) && !Object.is(value, -0);
    case "object": {
      if (value === null) return true;
      if (Array.isArray(value)) {
        if (Object.getPrototypeOf(value) !== Array.prototype) return false;
        const keys = Object.keys(value);
        if (keys.length !== value.length) return false; // holes or extra fields
        for (let i = 0; i < value.length; i++) if (!isExactJson(value[i], depth + 1)) return false;
        return true;
      }
      // Only plain objects: a null-prototype object comes back from JSON with Object.prototype.
      if (Object.getPrototypeOf(value) !== Object.prototype) return false;
      if (Object.getOwnPropertySymbols(value).length > 0) return false;
      for (const key of Object.getOwnPropertyNames(value)) {
        const desc = Object.getOwnPropertyDescriptor(value, key)!;
        if (!("value" in desc) || !desc.enumerable) return false;
        // Integer-like keys are reordered by JS anyway, the same on both sides.
        if (key === "__proto__" || !isExactJson(desc.value, depth + 1)) return false;
        if (key === "toJSON") return false;
      }
      return true;
    }
    default:
      return false;
  }
}
