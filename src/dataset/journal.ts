/**
 * The index of a format-2 DataSet: `index.journal`, an append-only list of checksummed records
 * (records.ts, docs/dataset-format.md). `index.mjs` is a fixed module that replays it, so native
 * import survives any torn tail; this class is the library's reader and writer.
 *
 * The parsed index lives in memory together with how many bytes of the file were consumed and the
 * file's identity (device, inode and birth time). `refresh()` reads only what was appended since;
 * another identity means the journal was compacted (atomically replaced), so it is read again
 * from the start. An inode number alone is not enough: a file system hands a freed inode number
 * to the next file it creates (seen on ext4: the next compaction's temp file got the number of the
 * journal the previous one replaced), and a handle that kept reading at its old offset read the
 * middle of a record. So the last bytes consumed are kept too, and compared before reading on.
 * Each commit is one record appended with one write() and fsynced. A torn tail is ignored by
 * readers and truncated by the next writer, under the lock.
 */
import * as fs from "node:fs";
import {
  closeSync,
  constants,
  fstatSync,
  ftruncateSync,
  openSync,
  readSync,
  type Stats,
  writeSync,
} from "node:fs";
import { dirname } from "node:path";
import { promisify } from "node:util";
import { ArchiveError, FormatError } from "../errors.js";
import { writeFileAtomic } from "../store/atomic.js";
import { openConfinedSync } from "../store/confined.js";
import { encodeRecord, JOURNAL_HEADER, type Operation, scanRecords } from "./records.js";

/** What the index knows about one item. */
export interface Entry {
  /** The info as JSON text (info stored as JSON), or undefined. */
  json?: string;
  /** The info as an archive-language expression (info JSON cannot hold), or undefined. */
  expr?: string;
  /** The item's module file, when not `<name>.mjs` (a replaced item's version). */
  module?: string;
  /** Line of the journal that set it (for error messages). */
  line: number;
}

/** Splits a name into a prefix and a trailing integer, to find the next free `prefix + n`. */
const NUMBERED = /^(.*?)(0|[1-9][0-9]*)$/;

/** Journals larger than this are refused (a hostile DataSet must not make us allocate anything). */
const MAX_JOURNAL_BYTES = 2 ** 31;

const O_NONBLOCK = constants.O_NONBLOCK ?? 0;

/** Appended tails up to this size are read synchronously (bigger reads would block the loop). */
const SYNC_READ_MAX = 1 << 20;

const readAsync = promisify(fs.read);
const fsyncAsync = promisify(fs.fsync);
const fdatasyncAsync = promisify(fs.fdatasync);
const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;

/** Shared by both journal formats: name → entry, numbering, compaction bookkeeping. */
export abstract class IndexState {
  /** name → entry, in key order (Map order = object key order for identifier names). */
  protected entries = new Map<string, Entry>();
  /** prefix → highest integer ever seen after it (deleted names included: never reuse a name). */
  protected highest = new Map<string, number>();

  constructor(readonly file: string) {}

  abstract refresh(repair?: boolean): Promise<void>;

  names(): string[] {
    return [...this.entries.keys()];
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  get size(): number {
    return this.entries.size;
  }

  entry(name: string): Entry | undefined {
    return this.entries.get(name);
  }

  allEntries(): IterableIterator<[string, Entry]> {
    return this.entries.entries();
  }

  /** `prefix + n` for the smallest n above every number ever used after `prefix`, and above `after`. */
  nextName(prefix: string, after = -1): string {
    let n = Math.max((this.highest.get(prefix) ?? -1) + 1, after + 1);
    while (this.entries.has(`${prefix}${n}`)) n++; // only when prefixes overlap (e.g. "v" / "v1")
    return `${prefix}${n}`;
  }

  /** True when `name` is listed or was ever used (deleted names are never reused). */
  used(name: string): boolean {
    if (this.entries.has(name)) return true;
    const numbered = NUMBERED.exec(name);
    if (!numbered) return false;
    return Number(numbered[2]) <= (this.highest.get(numbered[1]!) ?? -1);
  }

  protected noteName(name: string): void {
    const numbered = NUMBERED.exec(name);
    if (numbered) {
      const prefix = numbered[1]!;
      const n = Number(numbered[2]);
      if (n > (this.highest.get(prefix) ?? -1)) this.highest.set(prefix, n);
    }
  }

  protected clear(): void {
    this.entries = new Map();
    this.highest = new Map();
  }

  /** Records that rebuild the current state (compaction, migration). */
  snapshot(): Operation[] {
    const ops: Operation[] = [];
    for (const [name, entry] of this.entries) ops.push(setOperation(name, entry));
    for (const [prefix, n] of this.highest) {
      const name = `${prefix}${n}`;
      if (!this.entries.has(name)) ops.push({ set: name, info: null }, { delete: name });
    }
    return ops;
  }
}

/** The set operation that gives `name` the state `entry`. */
export function setOperation(name: string, entry: Omit<Entry, "line">): Operation {
  const op: Operation =
    entry.expr !== undefined
      ? { set: name, expr: entry.expr }
      : { set: name, info: entry.json === undefined ? null : JSON.parse(entry.json) };
  if (entry.module !== undefined) op.module = entry.module;
  return op;
}

/** Bytes before the offset compared on every refresh (a record's checksum and the end of it). */
const MARK_BYTES = 32;
const EMPTY = Buffer.alloc(0);
/** Where continues() reads the bytes it compares (synchronously: one buffer serves every call). */
const MARK_SCRATCH = Buffer.alloc(MARK_BYTES);

/** Device, inode and birth time: which file this is, even when an inode number is reused. */
function identityOf(stat: Stats): string {
  return `${stat.dev}:${stat.ino}:${stat.birthtimeMs}`;
}

export class Journal extends IndexState {
  private offset = 0;
  private lineNumber = 1;
  private records = 0;
  private identity = "";
  /** The last bytes consumed, up to MARK_BYTES (see the top of this file). */
  private mark: Buffer = EMPTY;
  /** The torn tail seen at the last refresh, if any. */
  tail: { line: number; bytes: number } | undefined;

  constructor(
    file: string,
    /** The DataSet directory: the journal must be a regular file really inside it. */
    private readonly root = dirname(file),
  ) {
    super(file);
  }

  /**
   * Bring the in-memory index up to date with the file, reading only the appended tail. With
   * `repair` (only under the write lock) a torn tail is truncated away.
   *
   * The calls are synchronous except fsync and big reads: every commit refreshes the journal
   * (and a claim twice), and an async call's two thread hand-offs cost more than the call itself
   * (see store/owner.ts). The opens never block (O_NONBLOCK), so neither does this.
   */
  async refresh(repair = false): Promise<void> {
    const { fd, stat } = repair ? this.openForWrite(constants.O_RDWR) : this.openForRead();
    try {
      const identity = identityOf(stat);
      if (identity !== this.identity || stat.size < this.offset || !this.continues(fd)) {
        this.reset(identity);
      }
      if (stat.size === this.offset) {
        this.tail = undefined;
        return;
      }
      if (stat.size > MAX_JOURNAL_BYTES) {
        throw new FormatError(`${this.file} is ${stat.size} bytes, larger than any DataSet index`, {
          file: this.file,
        });
      }
      const bytes = new Uint8Array(stat.size - this.offset);
      let got = 0;
      while (got < bytes.length) {
        const want = bytes.length - got;
        const bytesRead =
          want <= SYNC_READ_MAX
            ? readSync(fd, bytes, got, want, this.offset + got)
            : (await readAsync(fd, bytes, got, Math.min(want, 1 << 30), this.offset + got))
                .bytesRead;
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      const scan = scanRecords(
        bytes.subarray(0, got),
        this.lineNumber,
        this.file,
        this.offset === 0,
      );
      for (const record of scan.records) this.apply(record.ops, record.line);
      this.advance(bytes.subarray(0, scan.consumed));
      this.lineNumber = scan.tail?.line ?? this.lineNumber + countLines(bytes, scan.consumed);
      this.tail = scan.tail;
      if (repair && scan.tail !== undefined) {
        ftruncateSync(fd, this.offset);
        await fsyncAsync(fd);
        this.tail = undefined;
      }
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Append one record with a single write and fdatasync (which flushes the data and the file's
   * new size, all a reader needs), then apply it. Call only under the write lock, right after
   * `refresh(true)`, so the file ends where we stopped.
   */
  async append(ops: readonly Operation[]): Promise<void> {
    const data = encodeRecord(ops);
    const { fd, stat } = this.openForWrite(constants.O_WRONLY | constants.O_APPEND);
    try {
      if (identityOf(stat) !== this.identity || stat.size !== this.offset) {
        throw new ArchiveError(
          `${this.file} changed under the write lock (another program wrote to it?); nothing was committed, try again`,
          { file: this.file },
        );
      }
      // One write() call: a concurrent reader or a kill sees the whole record or none of it.
      const bytesWritten = writeSync(fd, data, 0, data.length);
      if (bytesWritten !== data.length) {
        throw new ArchiveError(
          `short write to ${this.file} (${bytesWritten} of ${data.length} bytes): is the disk full? Nothing was committed; the next writer removes the partial record`,
          { file: this.file },
        );
      }
      await fdatasyncAsync(fd);
    } finally {
      closeSync(fd);
    }
    this.apply(ops as Operation[], this.lineNumber);
    this.advance(data);
    this.lineNumber++;
  }

  /** True when most records are superseded and the file is worth rewriting. */
  needsCompaction(): boolean {
    return this.records >= 64 && this.records > 2 * this.entries.size + 16;
  }

  /**
   * Rewrite the journal as one record (atomic replace). Call only under the write lock, after
   * `refresh(true)`. A failure leaves the journal as it was (the caller decides what to tell).
   */
  async compact(): Promise<void> {
    const parts: Uint8Array[] = [Buffer.from(JOURNAL_HEADER)];
    const ops = this.snapshot();
    for (let i = 0; i < ops.length; i++) {
      // One record per item (readable, and errors name the item's line); a tombstone pair is one.
      const pair = i + 1 < ops.length && "delete" in ops[i + 1]! ? 2 : 1;
      parts.push(encodeRecord(ops.slice(i, i + pair)));
      i += pair - 1;
    }
    const text = Buffer.concat(parts);
    await writeFileAtomic(this.file, text);
    this.identity = "";
    await this.refresh(false);
  }

  private apply(ops: readonly Operation[], line: number): void {
    for (const op of ops) {
      this.records++;
      if ("delete" in op) {
        this.entries.delete(op.delete);
        this.noteName(op.delete);
        continue;
      }
      const entry: Entry =
        "expr" in op ? { expr: op.expr, line } : { json: JSON.stringify(op.info), line };
      if (op.module !== undefined && op.module !== `${op.set}.mjs`) entry.module = op.module;
      this.entries.set(op.set, entry);
      this.noteName(op.set);
    }
  }

  /** Moves the offset past `consumed`, the file's next bytes, keeping the last MARK_BYTES. */
  private advance(consumed: Uint8Array): void {
    this.offset += consumed.length;
    if (consumed.length >= MARK_BYTES) {
      this.mark = Buffer.from(consumed.subarray(consumed.length - MARK_BYTES));
    } else {
      const both = Buffer.concat([this.mark, consumed]);
      this.mark = both.subarray(Math.max(0, both.length - MARK_BYTES));
    }
  }

  /** Whether the file still holds the bytes consumed last just before the offset. */
  private continues(fd: number): boolean {
    const n = this.mark.length;
    if (n === 0) return this.offset === 0;
    const now = MARK_SCRATCH.subarray(0, n);
    return readSync(fd, now, 0, n, this.offset - n) === n && now.equals(this.mark);
  }

  private reset(identity: string): void {
    this.clear();
    this.mark = EMPTY;
    this.offset = 0;
    this.records = 0;
    this.lineNumber = 1;
    this.identity = identity;
  }

  private openForRead(): { fd: number; stat: Stats } {
    const { fd } = openConfinedSync(this.file, {
      root: this.root,
      what: "DataSet index",
      maxBytes: MAX_JOURNAL_BYTES,
    });
    try {
      return { fd, stat: fstatSync(fd) };
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  /** Writers never follow a symlink (O_NOFOLLOW) and write only to a regular file. */
  private openForWrite(flags: number): { fd: number; stat: Stats } {
    let fd: number;
    try {
      fd = openSync(this.file, flags | O_NOFOLLOW | O_NONBLOCK);
    } catch (err) {
      throw refuseWrite(this.file, err);
    }
    try {
      const stat = fstatSync(fd);
      if (!stat.isFile()) {
        throw new FormatError(
          `${this.file} is not a regular file; a DataSet writer only writes its own regular files. Replace it with the real journal.`,
          { file: this.file },
        );
      }
      return { fd, stat };
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }
}

/** The error for a file a writer would not open (a symlink: ELOOP with O_NOFOLLOW). */
export function refuseWrite(file: string, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "ELOOP" || code === "EMLINK") {
    return new FormatError(
      `${file} is a symlink; DataSet writers never write through symlinks (it could point anywhere). Replace it with the real file.`,
      { file, cause: err },
    );
  }
  return err as Error;
}

function countLines(bytes: Uint8Array, end: number): number {
  let n = 0;
  for (let i = bytes.indexOf(0x0a); i >= 0 && i < end; i = bytes.indexOf(0x0a, i + 1)) n++;
  return n;
}
