/**
 * A DataSet on S3-compatible object storage (`DataSet.open("s3://bucket/prefix", …)`), for writers
 * on many machines with no shared filesystem and no lock server.
 *
 *   <prefix>/.persist-dataset.json   marker: what makes a prefix a DataSet
 *   <prefix>/items/<upload>/item.mjs one single-item archive per upload (+ item_arrays/… data)
 *   <prefix>/log/…, snapshots/…      the index: numbered commits + snapshots (commit-log.ts)
 *   <prefix>/lanes/<id>/…            writers' own runs of inserts (lanes.ts, lane-writer.ts)
 *
 * A write uploads the item's objects under a fresh upload id FIRST, then commits a log entry that
 * names the upload. So a listed item is always complete, and a writer killed at any instant leaves
 * at worst an upload no commit names; later writers delete such uploads once they are older than a
 * grace period (an hour by default; a writer whose own upload got that old uploads again before
 * committing, so the cleaner never removes what is about to be committed).
 */
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Archive } from "../archive.js";
import { encodeNpy } from "../arrays/npy.js";
import { emitValueExpression } from "../emit/expression.js";
import {
  ArchiveError,
  FormatError,
  NotFoundError,
  ReadOnlyError,
  UnsupportedValueError,
} from "../errors.js";
import { interpretExpressionList } from "../load/expression-list.js";
import { load } from "../load/index.js";
import { RUNTIME_FILE } from "../store/layout.js";
import { loadItemLazily } from "../store/s3-lazy.js";
import { S3_IN_FLIGHT, type S3Options, S3Store } from "../store/s3-store.js";
import { inBatches } from "../store/settle.js";
import { type Store, StoreError } from "../store/store.js";
import { downloadInto, filesBelow, withTempDir } from "../store/temp-dir.js";
import { CommitLog, type Intent, intentKey, type LogRecord } from "./commit-log.js";
import type { DataSet, DataSetOpenOptions } from "./dataset.js";
import { LaneWriter } from "./lane-writer.js";
import { LANE_MAX } from "./lanes.js";
import { checkItemName } from "./names.js";

/** `options.s3` of DataSet.open("s3://…"): how to reach the store, and its housekeeping. */
export interface S3DataSetStoreOptions extends S3Options {
  /** ms after which an upload no commit names is deleted by writers (default 1 hour). */
  staleUploadGrace?: number;
  /**
   * Whether inserts committed to the shared log (laneSize 0, or an insertMany of more than 1024
   * values) share commits with other writers' (group commit, see commit-log.ts): "auto" (default)
   * once this writer has lost a race, for as long as it keeps meeting other writers; "always";
   * "never" (every insert claims a commit of its own, racing if need be).
   */
  groupCommit?: "auto" | "always" | "never";
  /**
   * Names per writer lane (lanes.ts; default 64, at most 1024): a handle's single inserts go to a
   * lane of its own, one request each with nothing read; 0 commits them to the shared log.
   */
  laneSize?: number;
}

const MARKER = ".persist-dataset.json";
const MARKER_BODY = `${JSON.stringify({ format: "persist-archive dataset on object storage", version: 1 })}\n`;
const ITEM = "item";
/** Inserts and sets cannot fail on a stale state: skip the LIST, a stale state loses a race. */
const OPTIMISTIC = { optimistic: true } as const;
/** Writers look for stale uploads at open and every this many of their commits. */
const CLEAN_EVERY = 256;
/**
 * In groupCommit "auto", inserts after a lost race share commits until this many in a row met no
 * other writer: publishing an intent costs a PUT and a LIST, worth it only when writers collide.
 */
const SHARE_FOR = 16;
/** Names per writer lane by default (s3.laneSize). */
const LANE_SIZE = 64;

const encoder = new TextEncoder();

/** The public DataSet methods this class provides (checked by the compiler). */
type DataSetSurface = Pick<
  DataSet,
  | "path"
  | "mode"
  | "keys"
  | "has"
  | "info"
  | "infos"
  | "query"
  | "insertMany"
  | typeof Symbol.asyncIterator
  | "set"
  | "setInfo"
  | "insert"
  | "delete"
  | "withLock"
  | "close"
  | typeof Symbol.asyncDispose
>;

export class S3DataSet implements DataSetSurface {
  private closed = false;
  private commits = 0;
  /** Inserts left that share commits (groupCommit "auto"). */
  private sharing = 0;
  /** This handle's writer lane, and the ending of others' (lanes.ts). */
  private readonly lane: LaneWriter;

  private constructor(
    /** The DataSet's address, `s3://bucket/prefix`. */
    readonly path: string,
    readonly mode: "r" | "w",
    private readonly store: Store,
    private readonly log: CommitLog,
    private readonly options: DataSetOpenOptions,
  ) {
    this.lane = new LaneWriter(log, options.s3?.laneSize ?? LANE_SIZE); // checked in open()
  }

  static async open(url: string, options: DataSetOpenOptions = {}): Promise<S3DataSet> {
    const mode = options.mode ?? "r";
    if (mode !== "r" && mode !== "w") {
      throw new ArchiveError(`DataSet.open(${url}): mode must be "r" or "w", not ${String(mode)}`);
    }
    const store = new S3Store(url, options.s3);
    checkItemName(`${options.namePrefix ?? "x_"}0`, store.location);
    const laneSize = options.s3?.laneSize ?? LANE_SIZE;
    if (!(Number.isSafeInteger(laneSize) && laneSize >= 0 && laneSize <= LANE_MAX)) {
      throw new ArchiveError(
        `DataSet.open(${url}): s3.laneSize must be an integer from 0 to ${LANE_MAX}, not ${laneSize}`,
      );
    }
    await openOrCreate(store, mode);
    const log = new CommitLog(store);
    await log.refresh();
    const ds = new S3DataSet(store.location, mode, store, log, options);
    if (mode === "w") await ds.removeStaleUploads();
    return ds;
  }

  async keys(): Promise<string[]> {
    await this.fresh();
    return this.log.names();
  }

  /**
   * How many changes this handle has read: it grows with every insert, delete and info change by
   * any writer (the viewer's live updates compare it; not part of DataSet's surface).
   */
  async lastCommit(): Promise<number> {
    await this.fresh();
    return this.log.version;
  }

  async has(name: string): Promise<boolean> {
    await this.fresh();
    return this.log.get(name) !== undefined;
  }

  /**
   * Load item `name` now (safely: nothing in it is executed). `{ lazy: true }`: only its module is
   * read; external arrays are LazyArrays read with ranged GETs (store/s3-lazy.ts).
   */
  async get<T = unknown>(name: string, options: { lazy?: boolean } = {}): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      await this.fresh();
      const state = this.log.get(name);
      if (state === undefined) throw this.notFound(name);
      try {
        if (options.lazy) {
          return (await loadItemLazily(this.store, state.item, ITEM, this.path)) as T;
        }
        return (await this.readUpload(state.item)) as T;
      } catch (err) {
        // Replaced or deleted meanwhile and its old upload cleaned up: look at the index again.
        await this.fresh();
        const now = this.log.get(name);
        if (now === undefined) throw this.notFound(name);
        if (now.item === state.item || attempt >= 5) throw err;
      }
    }
  }

  async info<T = unknown>(name: string): Promise<T> {
    await this.fresh();
    const state = this.log.get(name);
    if (state === undefined) throw this.notFound(name);
    return (await this.interpretInfos([state.info], [name]))[0] as T;
  }

  /** Every item's info by name, in insertion order: one snapshot read plus the log tail. */
  async infos(): Promise<Record<string, unknown>> {
    await this.fresh();
    const names: string[] = [];
    const exprs: string[] = [];
    for (const [name, state] of this.log.entries()) {
      names.push(name);
      exprs.push(state.info);
    }
    const values = await this.interpretInfos(exprs, names);
    const out: Record<string, unknown> = {};
    names.forEach((name, i) => {
      Object.defineProperty(out, name, {
        value: values[i],
        enumerable: true,
        writable: true,
        configurable: true,
      });
    });
    return out;
  }

  async query(
    predicate: (info: unknown, name: string) => boolean,
    options: {
      sort?: (a: [string, unknown], b: [string, unknown]) => number;
      limit?: number;
    } = {},
  ): Promise<string[]> {
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    if (!(limit >= 0)) throw new ArchiveError(`query(): limit must be a number >= 0, not ${limit}`);
    const matches = Object.entries(await this.infos()).filter(([n, i]) => predicate(i, n));
    if (options.sort !== undefined) matches.sort(options.sort);
    return matches.slice(0, limit).map(([name]) => name);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<[name: string, info: unknown]> {
    for (const pair of Object.entries(await this.infos())) yield pair;
  }

  async set(name: string, value: unknown, options: { info?: unknown } = {}): Promise<void> {
    this.mustWrite();
    checkItemName(name, this.path);
    const info = options.info === undefined ? undefined : infoExpression(options.info, name);
    await this.withUpload(value, name, async (item) => {
      for (let attempt = 0; attempt < 100; attempt++) {
        // A name a writer's lane holds for an insert of its own is freed first (lane-writer.ts);
        // `held` says the state this commit was built on found it held (a race with the lane).
        await this.lane.release(name);
        const held = await this.log.commit(() => {
          if (this.log.lanes.holder(name) !== undefined) return { records: [], result: true };
          const records: LogRecord[] = [
            { op: "set", name, item, ...(info === undefined ? {} : { info }) },
          ];
          return { records, result: false };
        }, OPTIMISTIC);
        if (!held) return;
      }
      throw new ArchiveError(
        `DataSet ${this.path}: set(${JSON.stringify(name)}) found the name held by a writer's lane 100 times; try again`,
      );
    });
  }

  async insert(value: unknown, options: { info?: unknown } = {}): Promise<string> {
    const [name] = await this.insertMany(
      [value],
      options.info === undefined ? {} : { infos: [options.info] },
    );
    return name as string;
  }

  /** Insert several values in one commit: all of them become visible together, or none. */
  async insertMany(
    values: readonly unknown[],
    options: { infos?: readonly unknown[] } = {},
  ): Promise<string[]> {
    this.mustWrite();
    if (options.infos !== undefined && options.infos.length !== values.length) {
      throw new ArchiveError(
        `insertMany(): ${values.length} values but ${options.infos.length} infos; give one info per value`,
      );
    }
    if (values.length === 0) return [];
    const prefix = this.options.namePrefix ?? "x_";
    const infos = values.map((_, i) => {
      const info = options.infos?.[i];
      return info === undefined ? "null" : infoExpression(info, `${prefix}?`);
    });
    // Upload ids by value (in value order, as the infos); holes where an upload failed.
    const uploads: string[] = new Array(values.length);
    // Once an intent names the uploads, another writer may commit them at any time: they must stay
    // (the stale-upload cleanup removes them if nobody does). So must they when a claim failed
    // with the store's answer unknown (claimed, see unknownOutcome).
    let published = false;
    let claimed = false;
    try {
      await inBatches([...values.keys()], S3_IN_FLIGHT, async (i) => {
        uploads[i] = await this.upload(values[i], `${prefix}?`);
      });
      const started = Date.now();
      claimed = true;
      if (values.length <= LANE_MAX && this.lane.size > 0) {
        const items = uploads.map((item, i) => ({ item, info: infos[i] as string }));
        return await this.lane.insert(prefix, items, () => this.mustNotBeStale(started));
      }
      const share = this.options.s3?.groupCommit ?? "auto";
      const mine = { prefix, uploads, infos };
      const shareable = intentKey({ head: this.log.head, ...mine }) !== undefined;
      if (shareable && (share === "always" || (share === "auto" && this.sharing > 0))) {
        published = true;
        const grace = this.options.s3?.staleUploadGrace ?? 3_600_000;
        const { names, contended } = await this.log.commitTogether(
          mine,
          (intents) => this.shared(intents),
          {
            freshFor: grace / 2,
            beforeClaim: () => this.mustNotBeStale(started),
          },
        );
        this.sharing = contended ? SHARE_FOR : this.sharing - 1;
        return names;
      }
      const names = await this.log.commit(() => {
        this.mustNotBeStale(started);
        const names = this.log.freeNames(prefix, values.length);
        const records: LogRecord[] = names.map((name, i) => ({
          op: "set",
          name,
          info: infos[i] as string,
          item: uploads[i] as string,
        }));
        return { records, result: names };
      }, OPTIMISTIC);
      if (this.log.lostRaces > 0 && share === "auto") this.sharing = SHARE_FOR;
      return names;
    } catch (err) {
      if (!published && !(claimed && unknownOutcome(err))) {
        // the uploads that succeeded (a failed batch stopped the rest)
        await Promise.all(
          uploads.filter(Boolean).map((u) => this.removeUpload(u).catch(() => undefined)),
        );
      }
      throw err;
    } finally {
      await this.afterCommit();
    }
  }

  /**
   * Records committing the intents (this writer's first): each upload named prefix + the next free
   * number. Intents with a prefix that makes no valid item name are left out.
   */
  private shared(intents: readonly Intent[]): LogRecord[] {
    const taken = new Set<string>();
    const records: LogRecord[] = [];
    for (const [k, intent] of intents.entries()) {
      if (k > 0 && !validPrefix(intent.prefix, this.path)) continue;
      const names = this.log.freeNames(intent.prefix, intent.uploads.length, taken);
      for (const name of names) taken.add(name);
      for (const [i, item] of intent.uploads.entries()) {
        records.push({
          op: "set",
          name: names[i] as string,
          info: intent.infos[i] as string,
          item,
        });
      }
    }
    return records;
  }

  async setInfo(name: string, info: unknown): Promise<void> {
    this.mustWrite();
    const expr = info === undefined ? "null" : infoExpression(info, name);
    await this.log.commit(() => {
      if (this.log.get(name) === undefined) throw this.notFound(name);
      return { records: [{ op: "set", name, info: expr }], result: undefined };
    });
  }

  /** Remove item `name` from the index; its objects go with the next cleanup of stale uploads. */
  async delete(name: string): Promise<void> {
    this.mustWrite();
    await this.log.commit(() => {
      if (this.log.get(name) === undefined) throw this.notFound(name);
      return { records: [{ op: "delete", name }], result: undefined };
    });
  }

  /**
   * Not available on object storage: there is no lock to hold. Each operation is atomic on its
   * own, and insertMany() commits several values at once.
   */
  async withLock<T>(_fn: () => Promise<T>): Promise<T> {
    throw new ArchiveError(
      `DataSet ${this.path}: withLock() needs a lock, which a DataSet on object storage does not have; ` +
        "every operation commits atomically on its own, and insertMany() commits several values together",
    );
  }

  /**
   * Ends this handle's lane (one seal and one commit), so that readers need not look at it again;
   * a lane not ended (a writer killed, or never closed) is ended by other writers once idle.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Best effort: a lane left open costs readers a LIST each until another writer ends it.
    if (this.mode === "w") await this.lane.close().catch(() => undefined);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * Delete uploads that no commit names and that are older than the grace period: left by writers
   * killed between upload and commit, or by replaced and deleted items.
   */
  async removeStaleUploads(): Promise<string[]> {
    this.mustWrite();
    const grace = this.options.s3?.staleUploadGrace ?? 3_600_000;
    const uploads = new Map<string, { newest: number; keys: string[] }>();
    for (const entry of await this.store.list("items/")) {
      const id = entry.key.split("/")[1] as string;
      const u = uploads.get(id) ?? { newest: 0, keys: [] };
      u.newest = Math.max(u.newest, entry.lastModified.getTime());
      u.keys.push(entry.key);
      uploads.set(id, u);
    }
    // Read the index after listing: an upload committed meanwhile is then known as referenced.
    await this.log.refresh();
    const referenced = this.log.referencedUploads();
    // Lanes of writers gone (lanes.ts) are ended by the same housekeeping, after the same time.
    await this.lane.endIdle(grace);
    const now = Date.now();
    const removed: string[] = [];
    for (const [id, u] of uploads) {
      if (referenced.has(id) || now - u.newest < grace) continue;
      // The module first: an upload without its module is recognisably incomplete.
      const keys = u.keys.sort((a, b) => Number(b.endsWith(".mjs")) - Number(a.endsWith(".mjs")));
      for (const key of keys) await this.store.delete(key);
      removed.push(id);
    }
    return removed;
  }

  // ---------------------------------------------------------------- items

  /** Upload `value` (under a fresh id) and run `commit` with the id; clean up if it fails. */
  private async withUpload<T>(
    value: unknown,
    name: string,
    commit: (id: string) => Promise<T>,
  ): Promise<T> {
    const id = await this.upload(value, name);
    try {
      return await commit(id);
    } catch (err) {
      if (!unknownOutcome(err)) await this.removeUpload(id).catch(() => undefined);
      throw err;
    } finally {
      await this.afterCommit();
    }
  }

  /** Upload `value` as a single-item archive (module + data files) under a fresh upload id. */
  private async upload(value: unknown, name: string): Promise<string> {
    const archive = new Archive({
      singleItem: true,
      arrayThreshold: this.options.arrayThreshold ?? 100,
    });
    archive.insert({ [validIdentifier(name)]: value });
    const id = `${Date.now().toString(36)}-${randomBytes(8).toString("hex")}`;
    const format = this.options.dataFormat ?? "npy";
    const files = format === "npy" ? npyFiles(archive) : await savedFiles(archive, format);
    // Module and data in parallel (object stores are latency-bound per request): nothing reads an
    // upload before a commit names it, and the commit comes after every put has returned. Every
    // put settles before a failure propagates: the caller then removes the upload, and a put
    // still in flight would re-create an object after that.
    await inBatches([...files], S3_IN_FLIGHT, ([file, bytes]) =>
      this.store.put(`items/${id}/${file}`, bytes),
    );
    return id;
  }

  private async removeUpload(id: string): Promise<void> {
    for (const entry of await this.store.list(`items/${id}/`)) await this.store.delete(entry.key);
  }

  /** Download upload `id` into a temp folder and load its item safely. */
  private async readUpload(id: string): Promise<unknown> {
    const entries = await this.store.list(`items/${id}/`);
    const module = `items/${id}/${ITEM}.mjs`;
    if (!entries.some((e) => e.key === module)) {
      // (a temp path in the message would only confuse)
      throw new NotFoundError(
        `DataSet ${this.path}: an item's objects are missing (${this.path}/${module}); the upload its commit names was removed or never completed`,
        { file: `${this.path}/${module}` },
      );
    }
    return withTempDir(async (tmp) => {
      // items/<id>/<file> lands at <file>
      const keys = entries.map((e) => e.key);
      await downloadInto(this.store, keys, tmp, 2, (key) => {
        throw new NotFoundError(`${this.path}/${key} vanished`);
      });
      return (await load(join(tmp, `${ITEM}.mjs`))).default;
    });
  }

  /** A writer whose upload is older than half the grace period must not commit it (see top). */
  private mustNotBeStale(started: number): void {
    const grace = this.options.s3?.staleUploadGrace ?? 3_600_000;
    if (Date.now() - started > grace / 2) {
      throw new ArchiveError(
        `DataSet ${this.path}: the upload took longer than half the stale-upload grace period (${grace} ms) to commit; try again`,
      );
    }
  }

  private async afterCommit(): Promise<void> {
    this.commits++;
    if (this.commits % CLEAN_EVERY === 0) await this.removeStaleUploads().catch(() => undefined);
  }

  /** The values of info expressions, each read on its own (see load/expression-list.ts). */
  private async interpretInfos(
    exprs: readonly string[],
    names?: readonly string[],
  ): Promise<unknown[]> {
    return interpretExpressionList(exprs, "the info", (k, err) => {
      const name = names?.[k];
      throw new FormatError(
        `DataSet ${this.path}: the info ${name === undefined ? "" : `of item ${JSON.stringify(name)} `}recorded in its log cannot be read (set the item's info again): ${err.message}`,
        { file: `${this.path}/log`, cause: err },
      );
    });
  }

  private async fresh(): Promise<void> {
    if (this.closed) {
      throw new ArchiveError(`DataSet ${this.path} is closed; open it again with DataSet.open().`);
    }
    await this.log.refresh();
  }

  private notFound(name: string): NotFoundError {
    return new NotFoundError(
      `DataSet ${this.path} has no item ${JSON.stringify(name)}; keys() lists the items it has.`,
      { file: this.path, valuePath: name },
    );
  }

  private mustWrite(): void {
    if (this.closed) {
      throw new ArchiveError(`DataSet ${this.path} is closed; open it again with DataSet.open().`);
    }
    if (this.mode !== "w") {
      throw new ReadOnlyError(
        `DataSet ${this.path} was opened read-only; open it with { mode: "w" } to change it.`,
        { file: this.path },
      );
    }
  }
}

/** Check the marker (creating the DataSet in mode "w" when the prefix is empty). */
async function openOrCreate(store: Store, mode: "r" | "w"): Promise<void> {
  const marker = await store.get(MARKER);
  if (marker !== undefined) return;
  const existing = await store.list("");
  // A racing creator may have made the marker since we looked (and then written under it).
  if (existing.length > 0 && (await store.get(MARKER)) !== undefined) return;
  if (existing.length > 0) {
    throw new ArchiveError(
      `${store.location} holds objects but is not a DataSet (no ${MARKER}); it was left untouched. Choose a new prefix.`,
      { file: store.location },
    );
  }
  if (mode === "r") {
    throw new NotFoundError(
      `No DataSet at ${store.location}. Open it with { mode: "w" } to create it.`,
      { file: store.location },
    );
  }
  // Racing creators: one creates the marker, the others find it; either way it is a DataSet now.
  await store.putIfAbsent(MARKER, encoder.encode(MARKER_BODY));
}

/**
 * Whether a failed commit may have happened after all: the store failed (its retries ran out) with
 * a conditional put's answer lost. The uploads it names then stay; if no commit names them, the
 * stale-upload cleanup removes them later (deleting them now could leave a committed item without
 * its objects).
 */
function unknownOutcome(err: unknown): boolean {
  return err instanceof StoreError;
}

function validPrefix(prefix: string, where: string): boolean {
  try {
    checkItemName(`${prefix}0`, where);
    return true;
  } catch {
    return false;
  }
}

function infoExpression(info: unknown, name: string): string {
  if (isThenable(info)) {
    throw new UnsupportedValueError(
      `the info of ${name} has a callable "then", so await would call it; store a plain value instead`,
      { valuePath: `${name}.info` },
    );
  }
  return emitValueExpression(info, `${name}.info`, { oneLine: true });
}

function isThenable(value: unknown): boolean {
  return (
    (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as { then?: unknown }).then === "function"
  );
}

/** Names in error messages for an item whose name is not known yet ("x_?") use a stand-in. */
function validIdentifier(name: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(name) ? name : "item";
}

/** The module and its npy files, in memory: no temp folder, no fsync (the store keeps them). */
function npyFiles(archive: Archive): Map<string, Uint8Array> {
  const rendered = archive.moduleFiles(ITEM, "npy");
  const files = new Map<string, Uint8Array>();
  for (const { name, array } of rendered.arrays) {
    files.set(`${rendered.dataName}/${name}.npy`, encodeNpy(array));
  }
  files.set(rendered.entry, new TextEncoder().encode(rendered.text));
  return files;
}

/** npz and hdf5 containers are written by file libraries: save in a temp folder, read it back. */
async function savedFiles(
  archive: Archive,
  format: "npz" | "hdf5",
): Promise<Map<string, Uint8Array>> {
  return withTempDir(async (tmp) => {
    await archive.save(tmp, { name: ITEM, package: false, dataFormat: format, force: true });
    const files = new Map<string, Uint8Array>();
    for (const file of await filesBelow(tmp)) {
      if (file === RUNTIME_FILE || file.endsWith(".d.mts")) continue;
      files.set(file, await readFile(join(tmp, file)));
    }
    return files;
  });
}
