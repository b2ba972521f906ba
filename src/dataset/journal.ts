/**
 * The DataSet index `index.mjs`: an append-only journal in the archive language, so that native
 * `import { info } from "<ds>/index.mjs"` replays it, and an insert costs one appended line.
 *
 *   // persist-archive DataSet index, format 1 ...
 *   export const info = {};
 *   info["x_0"] = { n: 1 };
 *   delete info["x_0"];
 *
 * This class keeps the parsed index in memory together with how many bytes of the file it has
 * read and the file's identity (device + inode). `refresh()` reads only what was appended since;
 * a different inode means the file was compacted (atomically replaced), so it is read again from
 * the start. Each record is appended with a single write() (O_APPEND) and fsynced, so a killed
 * writer cannot leave half a line in practice; should a torn last line exist anyway (disk full,
 * power loss), readers ignore it (they only consume up to the last "\n") and the next writer
 * truncates it away under the lock.
 */
import { open } from "node:fs/promises";
import { ArchiveError, FormatError } from "../errors.js";
import { writeFileAtomic } from "../store/atomic.js";

export const INDEX_FILE = "index.mjs";

export const INDEX_HEADER =
  "// persist-archive DataSet index, format 1: an append-only journal, one line per change.\n" +
  '// Plain ES module: `import { info } from "./index.mjs"` gives every item\'s info (null: none).\n' +
  "export const info = {};\n";

const DECLARATION = "export const info = {};";
const SET_RECORD = /^info\[("(?:[^"\\]|\\.)*")\] = (.+);$/;
const DELETE_RECORD = /^delete info\[("(?:[^"\\]|\\.)*")\];$/;
const ITEM_NAME = /^[A-Za-z$][A-Za-z0-9_$]*$/;
/** Splits a name into a prefix and a trailing integer, to find the next free `prefix + n`. */
const NUMBERED = /^(.*?)(0|[1-9][0-9]*)$/;

/** One line of the journal for setting `name`'s info to the archive-language expression `expr`. */
export function setRecord(name: string, expr: string): string {
  if (expr.includes("\n") || expr.includes("\r")) {
    throw new Error(`internal: a journal expression must be one line (info of ${name})`);
  }
  return `info[${JSON.stringify(name)}] = ${expr};\n`;
}

export function deleteRecord(name: string): string {
  return `delete info[${JSON.stringify(name)}];\n`;
}

export class IndexJournal {
  /** name → info expression text, in insertion order (Map order = object key order for names). */
  private entries = new Map<string, string>();
  /** prefix → highest integer ever seen after it (deleted names included: never reuse a name). */
  private highest = new Map<string, number>();
  private offset = 0;
  private records = 0;
  private lineNumber = 0;
  private declared = false;
  private identity = "";

  constructor(readonly file: string) {}

  names(): string[] {
    return [...this.entries.keys()];
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** The info expression of `name`, or undefined when `name` is not listed. */
  expression(name: string): string | undefined {
    return this.entries.get(name);
  }

  /** `prefix + n` for the smallest n above every number ever used after `prefix`. */
  nextName(prefix: string): string {
    let n = (this.highest.get(prefix) ?? -1) + 1;
    while (this.entries.has(`${prefix}${n}`)) n++; // only when prefixes overlap (e.g. "v" / "v1")
    return `${prefix}${n}`;
  }

  /**
   * Bring the in-memory index up to date with the file, reading only the appended tail. With
   * `repair` (only under the write lock) a torn last line left by a dead writer is truncated away.
   */
  async refresh(repair = false): Promise<void> {
    const handle = await open(this.file, repair ? "r+" : "r");
    try {
      const stat = await handle.stat();
      const identity = `${stat.dev}:${stat.ino}`;
      if (identity !== this.identity || stat.size < this.offset) this.reset(identity);
      if (stat.size === this.offset) return;
      const tail = Buffer.alloc(stat.size - this.offset);
      const { bytesRead } = await handle.read(tail, 0, tail.length, this.offset);
      const complete = tail.lastIndexOf(0x0a, bytesRead - 1) + 1;
      if (complete > 0) this.parse(tail.toString("utf8", 0, complete));
      this.offset += complete;
      if (repair && complete < bytesRead) {
        await handle.truncate(this.offset);
        await handle.sync();
      }
    } finally {
      await handle.close();
    }
  }

  /**
   * Append records (each one complete line) with a single write and fsync, then apply them.
   * Call only under the write lock, right after `refresh(true)`, so the file ends where we stopped.
   */
  async append(lines: readonly string[]): Promise<void> {
    const data = Buffer.from(lines.join(""), "utf8");
    const handle = await open(this.file, "a");
    try {
      const stat = await handle.stat();
      if (`${stat.dev}:${stat.ino}` !== this.identity || stat.size !== this.offset) {
        throw new Error(`internal: ${this.file} changed under the write lock`);
      }
      // One write() call: a concurrent reader or a kill sees the whole line or none of it.
      const { bytesWritten } = await handle.write(data, 0, data.length);
      if (bytesWritten !== data.length) {
        throw new ArchiveError(
          `short write to ${this.file} (${bytesWritten} of ${data.length} bytes): is the disk full? The DataSet is unchanged; the next writer removes the partial line`,
          { file: this.file },
        );
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    this.parse(data.toString("utf8"));
    this.offset += data.length;
  }

  /** True when most lines are superseded and the file is worth rewriting. */
  needsCompaction(): boolean {
    return this.records >= 64 && this.records > 2 * this.entries.size;
  }

  /**
   * Rewrite the journal with one line per listed name (atomic replace). A tombstone pair keeps the
   * highest number of each prefix whose last name is deleted, so names are not reused afterwards.
   * Call only under the write lock, after `refresh(true)`.
   */
  async compact(): Promise<void> {
    const lines = [INDEX_HEADER];
    for (const [name, expr] of this.entries) lines.push(setRecord(name, expr));
    for (const [prefix, n] of this.highest) {
      const name = `${prefix}${n}`;
      if (!this.entries.has(name)) lines.push(setRecord(name, "null"), deleteRecord(name));
    }
    await writeFileAtomic(this.file, lines.join(""));
    this.identity = "";
    await this.refresh(false);
  }

  private reset(identity: string): void {
    this.entries = new Map();
    this.highest = new Map();
    this.offset = 0;
    this.records = 0;
    this.lineNumber = 0;
    this.declared = false;
    this.identity = identity;
  }

  private parse(text: string): void {
    const lines = text.split("\n");
    lines.pop(); // text ends with "\n"
    for (const line of lines) {
      this.lineNumber++;
      this.parseLine(line.endsWith("\r") ? line.slice(0, -1) : line);
    }
  }

  private parseLine(line: string): void {
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("//")) return;
    if (!this.declared) {
      if (trimmed !== DECLARATION) throw this.formatError(`expected \`${DECLARATION}\` first`);
      this.declared = true;
      return;
    }
    const set = SET_RECORD.exec(trimmed);
    if (set) {
      const name = this.name(set[1]!);
      this.entries.set(name, set[2]!);
      this.records++;
      return;
    }
    const del = DELETE_RECORD.exec(trimmed);
    if (del) {
      this.entries.delete(this.name(del[1]!));
      this.records++;
      return;
    }
    throw this.formatError('expected `info["name"] = …;` or `delete info["name"];`');
  }

  private name(literal: string): string {
    const name = JSON.parse(literal) as string;
    // Only item names (which never include "__proto__" or other special keys) may appear, so
    // native import and this reader build the same object.
    if (!ITEM_NAME.test(name)) throw this.formatError(`${literal} is not an item name`);
    const numbered = NUMBERED.exec(name);
    if (numbered) {
      const prefix = numbered[1]!;
      const n = Number(numbered[2]);
      if (n > (this.highest.get(prefix) ?? -1)) this.highest.set(prefix, n);
    }
    return name;
  }

  private formatError(what: string): FormatError {
    return new FormatError(
      `${this.file}:${this.lineNumber}: not a DataSet index line (${what}). The index is an ` +
        "append-only journal written by persist-archive; restore it from a backup or fix that line.",
      { file: this.file, line: this.lineNumber, column: 1 },
    );
  }
}
