/**
 * DataSet: a directory of items loaded one at a time, that many processes may write at once.
 *
 *   <ds>/.persist-dataset.json   marker (format, version): what makes a directory a DataSet
 *   <ds>/index.mjs               append-only journal of every item's info (see journal.ts)
 *   <ds>/<name>.mjs              one single-item archive per item (`export default …`), + data files
 *   <ds>/.persist-dataset.lock   write lock, taken per write operation (see store/lock.ts)
 *
 * Every write runs under the lock, first catches up with what other processes appended to the
 * index (reading only the new tail), writes the item file and renames it into place, and only then
 * appends the item's index line. So a reader (or native `import`) never sees a listed item that is
 * not complete, and a process killed at any instant leaves at worst an unlisted orphan file.
 */
import { readdir, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { ArchiveError, LockTimeoutError, NotFoundError, ReadOnlyError } from "../errors.js";
import { acquireLock, type LockOptions, withFileLock } from "../store/lock.js";
import {
  type ItemOptions,
  infoExpression,
  interpretExpression,
  loadItem,
  removeItem,
  removeReplacementOrphans,
  saveItem,
} from "./codec.js";
import { deleteRecord, INDEX_FILE, IndexJournal, setRecord } from "./journal.js";
import {
  createDataSetDirectory,
  ensureIndexDeclarations,
  isCreationFile,
  LOCK_FILE,
  MARKER_FILE,
  readMarker,
  removeCrashLeftovers,
} from "./layout.js";
import { checkItemName } from "./names.js";

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
    private readonly journal: IndexJournal,
  ) {}

  /** Open (mode "w": create if missing) the DataSet at `path`. */
  static async open(path: string, options: DataSetOpenOptions = {}): Promise<DataSet> {
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
    await openOrCreate(dir, mode);
    // O(items) like reading the index at open; never per write.
    if (mode === "w") {
      await removeCrashLeftovers(dir);
      await removeOrphansIfIdle(dir);
      await ensureIndexDeclarations(dir);
    }
    const journal = new IndexJournal(join(dir, INDEX_FILE));
    await journal.refresh();
    return new DataSet(
      dir,
      mode,
      { arrayThreshold: options.arrayThreshold ?? 100, dataFormat: options.dataFormat },
      { timeout: options.timeout ?? 60_000 },
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
   * Load item `name` now, fresh from disk (safely: nothing in the file is executed). `T` types the
   * result for the caller, without a runtime check: `ds.get<Run>("x_7")`.
   */
  async get<T = unknown>(name: string): Promise<T> {
    const file = join(this.path, `${name}.mjs`);
    for (let attempt = 0; ; attempt++) {
      await this.fresh();
      this.mustExist(name);
      const before = await fileIdentity(file);
      try {
        return (await loadItem(file)) as T;
      } catch (err) {
        // Another process replaced or deleted the item while we read it (its module file is a
        // different one now, so the data we looked for belonged to the old version): look again.
        // A deleted item is then no longer listed.
        const changed = before === undefined || before !== (await fileIdentity(file));
        if (!(changed || isMissingFile(err)) || attempt >= 20) throw err;
        await sleep(2 * (attempt + 1));
      }
    }
  }

  /** The info stored with `name`; null when none was given. */
  async info(name: string): Promise<unknown> {
    await this.fresh();
    const expr = this.mustExist(name);
    return interpretExpression(expr, this.journal.file);
  }

  /**
   * Store `value` as item `name` (replacing an existing one). `info` replaces the item's info;
   * without it a new item gets null and an existing one keeps its info.
   */
  async set(name: string, value: unknown, options: { info?: unknown } = {}): Promise<void> {
    this.mustWrite();
    checkItemName(name, this.path);
    const expr = options.info === undefined ? undefined : infoExpression(options.info, name);
    await this.locked(async () => {
      await saveItem(this.path, name, value, { ...this.item, replacing: this.journal.has(name) });
      if (expr !== undefined || !this.journal.has(name)) {
        await this.journal.append([setRecord(name, expr ?? "null")]);
      }
    });
  }

  /** Store `value` under a new name (namePrefix + next integer, unique across processes). */
  async insert(value: unknown, options: { info?: unknown } = {}): Promise<string> {
    this.mustWrite();
    return this.locked(async () => {
      const name = this.journal.nextName(this.namePrefix);
      const expr = options.info === undefined ? "null" : infoExpression(options.info, name);
      await saveItem(this.path, name, value, { ...this.item, replacing: false });
      await this.journal.append([setRecord(name, expr)]);
      return name;
    });
  }

  /** Replace the info of existing item `name`. */
  async setInfo(name: string, info: unknown): Promise<void> {
    this.mustWrite();
    const expr = info === undefined ? "null" : infoExpression(info, name);
    await this.locked(async () => {
      this.mustExist(name);
      await this.journal.append([setRecord(name, expr)]);
    });
  }

  /** Remove item `name`: its index line first, then its files. */
  async delete(name: string): Promise<void> {
    this.mustWrite();
    await this.locked(async () => {
      this.mustExist(name);
      await this.journal.append([deleteRecord(name)]);
      await removeItem(this.path, name);
    });
  }

  /**
   * Hold the write lock across several operations (read-modify-write); the DataSet operations
   * inside `fn` reuse it. Other processes' writes wait until `fn` settles.
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

  /** Run `fn` under the write lock with the index caught up (torn tail repaired). */
  private async locked<T>(fn: () => Promise<T>): Promise<T> {
    return withFileLock(join(this.path, LOCK_FILE), this.lock, async () => {
      this.mustBeOpen();
      await this.journal.refresh(true);
      const result = await fn();
      if (this.journal.needsCompaction()) await this.journal.compact();
      return result;
    });
  }

  private async fresh(): Promise<void> {
    this.mustBeOpen();
    await this.journal.refresh();
  }

  private mustExist(name: string): string {
    const expr = this.journal.expression(name);
    if (expr === undefined) throw this.notFound(name);
    return expr;
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

/** Check that `dir` is a DataSet (creating it in mode "w" when missing or empty). */
/**
 * Orphans of a killed replacement can only be told apart from one in flight under the write lock;
 * so try it once without waiting, and leave them for a later open when another writer is busy.
 */
async function removeOrphansIfIdle(dir: string): Promise<void> {
  let lock: Awaited<ReturnType<typeof acquireLock>>;
  try {
    lock = await acquireLock(join(dir, LOCK_FILE), { timeout: 0 });
  } catch (err) {
    if (err instanceof LockTimeoutError) return;
    throw err;
  }
  try {
    await removeReplacementOrphans(dir);
  } finally {
    await lock.release();
  }
}

async function openOrCreate(dir: string, mode: "r" | "w"): Promise<void> {
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
  if (await readMarker(dir)) return;
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

/** True when `err` (or an error it wraps) says a file does not exist. */
function isMissingFile(err: unknown): boolean {
  for (let e = err; e instanceof Error; e = e.cause) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return true;
  }
  return false;
}

/** Inode and change time of `file`, to tell whether it was replaced; undefined when missing. */
async function fileIdentity(file: string): Promise<string | undefined> {
  try {
    const info = await stat(file, { bigint: true });
    return `${info.dev}:${info.ino}:${info.ctimeNs}`;
  } catch {
    return undefined;
  }
}
