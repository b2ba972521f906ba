/**
 * DataSet: a directory of items loaded one at a time, that many processes may write at once.
 * The on-disk format is specified in docs/dataset-format.md:
 *
 *   <ds>/.persist-dataset.json   marker (format, version): what makes a directory a DataSet
 *   <ds>/index.journal           every item's info and module: checksummed append-only journal
 *   <ds>/index.mjs               fixed module replaying the journal (`import { info }`)
 *   <ds>/<name>.mjs              one single-item archive per item (`export default …`), + data files
 *   <ds>/.persist-dataset.lock   write lock, taken per commit (see store/lock.ts)
 *
 * A write stages its files outside the lock (claimed, so no other writer or cleanup touches
 * them), then takes the lock only to catch up with the journal and append one record: the record
 * is the commit. So writers overlap their expensive part, a reader (or native `import`) never
 * sees a listed item that is not complete, and a process killed at any instant leaves at worst
 * unlisted files that the next write-open removes.
 */
import { randomBytes } from "node:crypto";
import { readdir, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { ArchiveError, LockTimeoutError, NotFoundError, ReadOnlyError } from "../errors.js";
import { type LockOptions, withFileLock } from "../store/lock.js";
import { type Claim, claimMany, tryClaim } from "./claims.js";
import {
  entryInfo,
  type ItemOptions,
  infoOperation,
  interpretExpressions,
  itemDataLocation,
  itemFiles,
  itemFilesOnDisk,
  linkCurrentVersion,
  loadItem,
  removeFiles,
  saveItem,
  setOperationFor,
} from "./codec.js";
import { type Entry, Journal } from "./journal.js";
import type { JournalV1 } from "./journal-v1.js";
import {
  createDataSetDirectory,
  isCreationFile,
  journalFor,
  LOCK_FILE,
  MARKER_FILE,
  migrateToFormat2,
  readMarker,
} from "./layout.js";
import { tidyUnderLock } from "./maintenance.js";
import { checkItemName } from "./names.js";
import { stageItems } from "./stage.js";

/** Options of {@link DataSet.open}. */
export interface DataSetOpenOptions {
  /** "r" (default): read only; a missing path is an error. "w": read and write; creates the path. */
  mode?: "r" | "w";
  /** Typed arrays / NDArrays with more elements than this go to data files. Default 100. */
  arrayThreshold?: number;
  /** Format of the items' external array files (see DataFormat). Default "npy". */
  dataFormat?: "npy" | "npz" | "hdf5";
  /** ms to wait for the write lock before LockTimeoutError. Default 60000. */
  timeout?: number;
  /** Names made by insert(): prefix + next integer. Default "x_". */
  namePrefix?: string;
  /** For `s3://bucket/prefix` paths: how to reach the store (default: the AWS_* variables). */
  s3?: import("./s3-dataset.js").S3DataSetStoreOptions;
}

/** Options of {@link DataSet.get}. */
export interface GetOptions {
  /** Return every external array as a LazyArray (read on demand) instead of an NDArray. */
  lazy?: boolean;
}

/** Options of {@link DataSet.query}. */
export interface QueryOptions {
  /** Order of the matches (default: insertion order). */
  sort?: (a: [name: string, info: unknown], b: [name: string, info: unknown]) => number;
  /** At most this many names. */
  limit?: number;
}

/**
 * A folder of many archived items with an info record each, written by any number of processes
 * at once (they serialize on a lock file), crash-safe, with O(1) inserts. Each item is its own
 * importable module (`<ds>/x_7.mjs`); `<ds>/index.mjs` exports every item's info. Reads are fresh
 * from disk on every call. Open with {@link DataSet.open}; close with `close()` or `await using`.
 */
export class DataSet {
  private closed = false;

  private constructor(
    /** Absolute path of the DataSet directory. */
    readonly path: string,
    /** "r": read only (writes throw ReadOnlyError); "w": read and write. */
    readonly mode: "r" | "w",
    private readonly item: ItemOptions,
    private readonly lock: LockOptions,
    private readonly namePrefix: string,
    private journal: Journal | JournalV1,
  ) {}

  /** Open (mode "w": create if missing) the DataSet at `path`. */
  static async open(path: string, options: DataSetOpenOptions = {}): Promise<DataSet> {
    if (typeof path === "string" && path.startsWith("s3://")) {
      // Object storage (s3-dataset.ts): same methods, lock-free commits; loaded only when used.
      const { S3DataSet } = await import("./s3-dataset.js");
      return (await S3DataSet.open(path, options)) as unknown as DataSet;
    }
    const dir = resolve(path);
    const mode = options.mode ?? "r";
    if (mode !== "r" && mode !== "w") {
      throw new ArchiveError(`DataSet.open(${dir}): mode must be "r" or "w", not ${String(mode)}`);
    }
    if (options.dataFormat !== undefined && !["npy", "npz", "hdf5"].includes(options.dataFormat)) {
      throw new ArchiveError(
        `DataSet.open(${dir}): dataFormat must be "npy", "npz" or "hdf5", not ${String(options.dataFormat)}`,
      );
    }
    const namePrefix = options.namePrefix ?? "x_";
    checkItemName(`${namePrefix}0`, dir);
    const lock = { timeout: options.timeout ?? 60_000 };
    let version = await openOrCreate(dir, mode);
    if (mode === "w") version = await prepareForWriting(dir, version, lock);
    const journal = journalFor(dir, version);
    await journal.refresh();
    return new DataSet(
      dir,
      mode,
      { arrayThreshold: options.arrayThreshold ?? 100, dataFormat: options.dataFormat },
      lock,
      namePrefix,
      journal,
    );
  }

  /** Item names in insertion order, fresh from disk. */
  async keys(): Promise<string[]> {
    await this.fresh();
    return this.journal.names();
  }

  /** Whether item `name` exists, fresh from disk. */
  async has(name: string): Promise<boolean> {
    await this.fresh();
    return this.journal.has(name);
  }

  /**
   * Load item `name` now, fresh from disk (safely: nothing in the file is executed). With
   * `{ lazy: true }` external arrays come back as LazyArrays that read only what is asked for.
   * `T` types the result for the caller, without a runtime check: `ds.get<Run>("x_7")`.
   */
  async get<T = unknown>(name: string, options: GetOptions = {}): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      await this.fresh();
      const entry = this.mustExist(name);
      try {
        return (await loadItem(this.path, this.moduleOf(name, entry), options)) as T;
      } catch (err) {
        // A writer replaced or deleted the item while we read it (the version we were reading
        // was removed after the new one was committed): read the journal again and retry.
        await this.fresh();
        const now = this.journal.entry(name);
        if (now === undefined) throw this.notFound(name);
        if (now.module === entry.module && now.line === entry.line) throw err;
        if (attempt >= 20) throw err;
        await sleep(2 * (attempt + 1));
      }
    }
  }

  /** The info stored with `name`; null when none was given. */
  async info<T = unknown>(name: string): Promise<T> {
    await this.fresh();
    return (await entryInfo(this.mustExist(name), this.journal.file)) as T;
  }

  /**
   * Every item's info by name, in insertion order, from one read of the index (what changed
   * since the last call). Fresh values: changing them changes nothing on disk.
   */
  async infos(): Promise<Record<string, unknown>> {
    await this.fresh();
    const parts: string[] = [];
    const exprs: string[] = [];
    const exprNames: string[] = [];
    const exprLines: number[] = [];
    for (const [name, entry] of this.journal.allEntries()) {
      if (entry.expr === undefined) {
        parts.push(`${JSON.stringify(name)}:${entry.json ?? "null"}`);
      } else {
        parts.push(`${JSON.stringify(name)}:null`); // placeholder keeps the key order
        exprs.push(entry.expr);
        exprNames.push(name);
        exprLines.push(entry.line);
      }
    }
    // One JSON.parse for all JSON infos: as fast as reading them can be.
    const result = JSON.parse(`{${parts.join(",")}}`) as Record<string, unknown>;
    if (exprs.length > 0) {
      const values = await interpretExpressions(exprs, this.journal.file, exprLines);
      exprNames.forEach((name, i) => {
        result[name] = values[i];
      });
    }
    return result;
  }

  /** Names of the items whose info satisfies `predicate`, optionally sorted and limited. */
  async query(
    predicate: (info: unknown, name: string) => boolean,
    options: QueryOptions = {},
  ): Promise<string[]> {
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    if (!(limit >= 0)) throw new ArchiveError(`query(): limit must be a number >= 0, not ${limit}`);
    const matches: [string, unknown][] = [];
    for (const [name, info] of Object.entries(await this.infos())) {
      if (predicate(info, name)) {
        matches.push([name, info]);
        if (options.sort === undefined && matches.length >= limit) break;
      }
    }
    if (options.sort !== undefined) matches.sort(options.sort);
    return matches.slice(0, limit).map(([name]) => name);
  }

  /** `for await (const [name, info] of ds)`: every item with its info, from one read of the index. */
  async *[Symbol.asyncIterator](): AsyncGenerator<[name: string, info: unknown]> {
    for (const pair of Object.entries(await this.infos())) yield pair;
  }

  /**
   * Store `value` as item `name` (replacing an existing one). `info` replaces the item's info;
   * without it a new item gets null and an existing one keeps its info. The new value and info
   * become visible together: readers see the old pair or the new pair, never a mix.
   */
  async set(name: string, value: unknown, options: { info?: unknown } = {}): Promise<void> {
    this.mustWrite();
    checkItemName(name, this.path);
    const info = options.info === undefined ? undefined : infoOperation(name, options.info);
    await this.fresh();
    // A new name is written like an insert (`<name>.mjs`, `<name>_arrays`); a replacement, or a
    // new name another writer is staging too, as a version `<name>.v<hex>` named by its record.
    let plain = !this.journal.has(name);
    for (;;) {
      const claimed = plain ? await tryClaim(this.path, name) : undefined;
      const { claim, stem } = claimed
        ? { claim: claimed, stem: name }
        : await this.claimVersion(name);
      let committed = false;
      try {
        await saveItem(this.path, stem, value, this.item);
        const done = await this.locked(async () => {
          const previous = this.journal.entry(name);
          // Listed meanwhile by another writer: its files may be where ours are. Write a version.
          if (stem === name && previous !== undefined) return false;
          const keep = previous === undefined ? { info: null } : infoOf(previous);
          const oldData = stem === name ? undefined : await itemDataLocation(this.path, name);
          await this.writable().append([setOperationFor(name, stem, info ?? keep)]);
          committed = true;
          if (stem === name) return true;
          await this.afterCommit(`set(${name})`, async () => {
            await linkCurrentVersion(this.path, name, stem);
            const stale =
              previous?.module !== undefined ? itemFiles(previous.module.slice(0, -4)) : [];
            if (oldData !== undefined && !oldData.startsWith(`${stem}_`)) stale.push(oldData);
            await removeFiles(this.path, stale);
          });
          return true;
        });
        if (done) return;
        plain = false;
      } catch (err) {
        // Staged files nobody committed are ours to remove (a plain name only while unlisted).
        if (!committed && (stem !== name || !this.journal.has(name))) {
          await removeFiles(this.path, itemFiles(stem)).catch(() => {});
        }
        throw err;
      } finally {
        await claim.release();
      }
    }
  }

  /** Store `value` under a new name (namePrefix + next integer, unique across processes). */
  async insert(value: unknown, options: { info?: unknown } = {}): Promise<string> {
    this.mustWrite();
    const { name, claim } = (await this.claimNames(1))[0]!;
    let committed = false;
    try {
      const info = options.info === undefined ? { info: null } : infoOperation(name, options.info);
      await stageItems(this.path, [{ stem: name, value }], this.item);
      await this.locked(async () => {
        await this.writable().append([setOperationFor(name, name, info)]);
        committed = true;
      });
      return name;
    } catch (err) {
      if (!committed) await removeFiles(this.path, itemFiles(name)).catch(() => {});
      throw err;
    } finally {
      await claim.release();
    }
  }

  /**
   * Insert several values as one commit: their files are written and fsynced in one round, then
   * one lock and one index record list them all (a crash lists all or none). `infos[i]` is the
   * info of `values[i]`. Returns the new names in order.
   */
  async insertMany(
    values: readonly unknown[],
    options: { infos?: readonly unknown[] } = {},
  ): Promise<string[]> {
    this.mustWrite();
    if (!Array.isArray(values)) {
      throw new ArchiveError("insertMany(values): values must be an array of items");
    }
    const infos = options.infos;
    if (infos !== undefined && (!Array.isArray(infos) || infos.length !== values.length)) {
      throw new ArchiveError(
        `insertMany(): options.infos must be an array as long as values (${values.length}), one info per value`,
      );
    }
    if (values.length === 0) return [];
    const claims = await this.claimNames(values.length);
    let committed = false;
    try {
      const ops = claims.map(({ name }, i) =>
        setOperationFor(
          name,
          name,
          infos?.[i] === undefined ? { info: null } : infoOperation(name, infos[i]),
        ),
      );
      await stageItems(
        this.path,
        claims.map(({ name }, i) => ({ stem: name, value: values[i] })),
        this.item,
        this.journal.size,
      );
      await this.locked(async () => {
        await this.writable().append(ops);
        committed = true;
      });
      return claims.map(({ name }) => name);
    } catch (err) {
      if (!committed) {
        await removeFiles(
          this.path,
          claims.flatMap(({ name }) => itemFiles(name)),
        ).catch(() => {});
      }
      throw err;
    } finally {
      await Promise.all(claims.map(({ claim }) => claim.release()));
    }
  }

  /** Replace the info of existing item `name`. */
  async setInfo(name: string, info: unknown): Promise<void> {
    this.mustWrite();
    const op = info === undefined ? { info: null } : infoOperation(name, info);
    await this.locked(async () => {
      const entry = this.mustExist(name);
      await this.writable().append([setOperationFor(name, entry.module?.slice(0, -4) ?? name, op)]);
    });
  }

  /** Remove item `name`: its index record first (the commit), then its files. */
  async delete(name: string): Promise<void> {
    this.mustWrite();
    await this.locked(async () => {
      const entry = this.mustExist(name);
      await this.writable().append([{ delete: name }]);
      await this.afterCommit(`delete(${name})`, async () => {
        await removeFiles(this.path, await itemFilesOnDisk(this.path, name, entry));
      });
    });
  }

  /**
   * Hold the write lock across several operations (read-modify-write); the DataSet operations
   * inside `fn` reuse it. Other processes' commits wait until `fn` settles.
   */
  async withLock<T>(fn: () => Promise<T>): Promise<T> {
    this.mustWrite();
    return this.locked(fn);
  }

  /** Stop using this handle. No lock is held between operations, so nothing is left behind. */
  async close(): Promise<void> {
    this.closed = true;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** The module file holding item `name`'s value. */
  private moduleOf(name: string, entry: Entry): string {
    return join(this.path, entry.module ?? `${name}.mjs`);
  }

  /**
   * Claim `count` fresh names (namePrefix + n) for staging outside the lock. A name is ours once
   * its claim file is created and the journal, read after that, does not list it (a writer
   * removes its claim only after committing).
   */
  private async claimNames(count: number): Promise<{ name: string; claim: Claim }[]> {
    await this.fresh();
    const claimed: { name: string; claim: Claim }[] = [];
    let after = -1;
    try {
      while (claimed.length < count) {
        const want = count - claimed.length;
        const names: string[] = [];
        for (let i = 0; i < want; i++) {
          const name = this.journal.nextName(this.namePrefix, after);
          after = Number(name.slice(this.namePrefix.length));
          names.push(name);
        }
        const got = await claimMany(this.path, names);
        await this.fresh();
        got.forEach((claim, i) => {
          if (claim === undefined) return;
          const name = names[i]!;
          if (this.journal.used(name)) void claim.release();
          else claimed.push({ name, claim });
        });
      }
    } catch (err) {
      await Promise.all(claimed.map(({ claim }) => claim.release()));
      throw err;
    }
    claimed.sort(
      (a, b) =>
        Number(a.name.slice(this.namePrefix.length)) - Number(b.name.slice(this.namePrefix.length)),
    );
    return claimed;
  }

  /** Claim a fresh version stem `<name>.v<8 hex>` for set(). */
  private async claimVersion(name: string): Promise<{ claim: Claim; stem: string }> {
    for (;;) {
      const stem = `${name}.v${randomBytes(4).toString("hex")}`;
      const claim = await tryClaim(this.path, stem);
      if (claim !== undefined) return { claim, stem };
    }
  }

  /** Run `fn` under the write lock with the journal caught up (torn tail repaired). */
  private async locked<T>(fn: () => Promise<T>): Promise<T> {
    return withFileLock(join(this.path, LOCK_FILE), this.lock, async () => {
      this.mustBeOpen();
      await this.writable().refresh(true);
      const result = await fn();
      const journal = this.writable();
      if (journal.needsCompaction()) {
        // After the commit: a failure (disk full, ...) must not report the committed write as
        // failed (a retry would duplicate it). The journal stays valid; a later writer retries.
        await this.afterCommit("journal compaction", () => journal.compact());
      }
      return result;
    });
  }

  /** Maintenance after a commit: failures are reported as warnings, never as the call's error. */
  private async afterCommit(what: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      process.emitWarning(
        `DataSet ${this.path}: ${what} was committed, but tidying up after it failed (${(err as Error).message}); a later write-open finishes it.`,
        { code: "PERSIST_DATASET_DEFERRED" },
      );
    }
  }

  private writable(): Journal {
    if (!(this.journal instanceof Journal)) {
      throw new ArchiveError(`internal: DataSet ${this.path} is format 1 and was not migrated`);
    }
    return this.journal;
  }

  private async fresh(): Promise<void> {
    this.mustBeOpen();
    if (!(this.journal instanceof Journal)) {
      // A format-1 DataSet may be migrated by a writer meanwhile: follow the marker.
      const version = await readMarker(this.path);
      if (version !== undefined && version !== 1) this.journal = journalFor(this.path, version);
    }
    await this.journal.refresh();
  }

  private mustExist(name: string): Entry {
    const entry = this.journal.entry(name);
    if (entry === undefined) throw this.notFound(name);
    return entry;
  }

  private notFound(name: string): NotFoundError {
    return new NotFoundError(
      `DataSet ${this.path} has no item ${JSON.stringify(name)}; keys() lists the items it has.`,
      { file: join(this.path, `${name}.mjs`), valuePath: name },
    );
  }

  private mustBeOpen(): void {
    if (this.closed) {
      throw new ArchiveError(`DataSet ${this.path} is closed; open it again with DataSet.open().`);
    }
  }

  private mustWrite(): void {
    this.mustBeOpen();
    if (this.mode !== "w") {
      throw new ReadOnlyError(
        `DataSet ${this.path} was opened read-only; open it with { mode: "w" } to change it.`,
        { file: this.path },
      );
    }
  }
}

/** The info part of an entry, to carry it over to a new version. */
function infoOf(entry: Entry): { info: unknown } | { expr: string } {
  if (entry.expr !== undefined) return { expr: entry.expr };
  return { info: entry.json === undefined ? null : JSON.parse(entry.json) };
}

/**
 * Before a writer's first write: migrate format 1 (waiting for the lock), repair a torn journal
 * tail and remove what killed writers left. The tidying is tried once without waiting: another
 * writer busy now does the same on its own, and every commit repairs the tail anyway.
 */
async function prepareForWriting(dir: string, version: number, lock: LockOptions): Promise<number> {
  const lockPath = join(dir, LOCK_FILE);
  const work = async () => {
    let current = (await readMarker(dir)) ?? version;
    if (current === 1) {
      await migrateToFormat2(dir);
      current = 2;
    }
    const journal = new Journal(join(dir, "index.journal"), dir);
    await journal.refresh(true);
    await tidyUnderLock(dir, journal);
    return current;
  };
  if (version === 1) return withFileLock(lockPath, lock, work);
  try {
    return await withFileLock(lockPath, { ...lock, timeout: 0 }, work);
  } catch (err) {
    if (err instanceof LockTimeoutError) return version;
    throw err;
  }
}

/** Check that `dir` is a DataSet (creating it in mode "w" when missing or empty): its version. */
async function openOrCreate(dir: string, mode: "r" | "w"): Promise<number> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    if (mode === "r") {
      throw new NotFoundError(
        `No DataSet at ${dir}: the path does not exist. Open it with { mode: "w" } to create it.`,
        { file: dir },
      );
    }
    await createDataSetDirectory(dir);
    return openOrCreate(dir, "r");
  }
  if (!info.isDirectory()) {
    throw new ArchiveError(`${dir} is a file, not a DataSet directory; choose another path.`, {
      file: dir,
    });
  }
  const version = await readMarker(dir);
  if (version !== undefined) return version;
  const entries = await readdir(dir);
  // Empty, or holding only what a concurrent creator is writing right now: (finish) creating it.
  if (mode === "w" && entries.every(isCreationFile)) {
    await createDataSetDirectory(dir);
    return openOrCreate(dir, "r");
  }
  throw new ArchiveError(
    `${dir} exists but is not a DataSet (it has no ${MARKER_FILE}); it was left untouched. ` +
      "Choose a new or empty directory for a DataSet.",
    { file: dir },
  );
}
