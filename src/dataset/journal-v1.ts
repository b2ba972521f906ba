/**
 * Reader of format-1 DataSet indexes (persist-archive 0.1): `index.mjs` itself was the journal, in
 * the archive language (docs/dataset-format.md, last section). Read-only: a write-open migrates
 * such a DataSet to format 2 (layout.ts), so nothing appends to this format any more.
 */

import { dirname } from "node:path";
import { FormatError } from "../errors.js";
import { readConfined } from "../store/confined.js";
import { IndexState } from "./journal.js";

export const INDEX_V1_DECLARATION = "export const info = {};";
const SET_RECORD = /^info\[("(?:[^"\\]|\\.)*")\] = (.+);$/;
const DELETE_RECORD = /^delete info\[("(?:[^"\\]|\\.)*")\];$/;
const ITEM_NAME = /^[A-Za-z$][A-Za-z0-9_$]*$/;

export class JournalV1 extends IndexState {
  /** Bytes of the complete lines read last time, to skip re-parsing an unchanged file. */
  private consumed = -1;

  async refresh(): Promise<void> {
    const bytes = await readConfined(this.file, {
      root: dirname(this.file),
      what: "DataSet index",
      maxBytes: 2 ** 31,
    });
    const complete = bytes.lastIndexOf(0x0a) + 1; // a last line without "\n" is a torn tail
    if (complete === this.consumed) return;
    this.clear();
    this.consumed = complete;
    const lines = Buffer.from(bytes.buffer, 0, complete).toString("utf8").split("\n");
    lines.pop();
    let declared = false;
    lines.forEach((raw, i) => {
      const line = i + 1;
      const trimmed = (raw.endsWith("\r") ? raw.slice(0, -1) : raw).trim();
      if (trimmed === "" || trimmed.startsWith("//")) return;
      if (!declared) {
        if (trimmed !== INDEX_V1_DECLARATION)
          this.fail(line, `expected \`${INDEX_V1_DECLARATION}\` first`);
        declared = true;
        return;
      }
      const set = SET_RECORD.exec(trimmed);
      if (set) {
        const name = this.name(set[1]!, line);
        this.entries.set(name, { expr: set[2]!, line });
        this.noteName(name);
        return;
      }
      const del = DELETE_RECORD.exec(trimmed);
      if (del) {
        const name = this.name(del[1]!, line);
        this.entries.delete(name);
        this.noteName(name);
        return;
      }
      this.fail(line, 'expected `info["name"] = …;` or `delete info["name"];`');
    });
  }

  private name(literal: string, line: number): string {
    let name: unknown;
    try {
      name = JSON.parse(literal);
    } catch {
      this.fail(line, `${literal} is not a string literal`);
    }
    // Only item names (never "__proto__" or other special keys) may appear, so native import and
    // this reader build the same object.
    if (typeof name !== "string" || !ITEM_NAME.test(name))
      this.fail(line, `${literal} is not an item name`);
    return name;
  }

  private fail(line: number, what: string): never {
    throw new FormatError(
      `${this.file}:${line}: not a DataSet index line (${what}). The index is an append-only ` +
        "journal written by persist-archive; restore it from a backup or fix that line.",
      { file: this.file, line, column: 1 },
    );
  }
}
