/**
 * A DataSet's index on object storage, without a lock server: a log of numbered commits plus
 * snapshots, the commit protocol of Delta Lake and Iceberg.
 *
 *   log/000000000042.json        commit 42: { commit, time, records: [{ op, name, info?, item? }] }
 *   snapshots/000000000040.json  the whole state after commit 40: [[name, info, item], ...]
 *
 * A writer reads the state (latest snapshot + every later commit), builds its records against it
 * (picks the next free name, checks the item exists, ...), and claims the next number with
 * put-if-absent (`If-None-Match: *`). Of racing writers exactly one creates the object; the others
 * read what won, rebuild their records against it and claim the number after (a writer that loses
 * again also reads everything committed after the winner, so one far behind catches up at once
 * rather than one commit per lost race). So commits are serial, each one validated against
 * everything before it, and nothing committed is lost or duplicated. Log entries are never
 * deleted (a deleted number could be claimed twice); snapshots are only a shortcut for readers
 * and may be missing, late or written twice (same bytes).
 *
 * Group commit (commitTogether): racing writers would otherwise take turns, one commit per round
 * trip, each loser re-reading and re-claiming. Instead a writer that has been losing races first
 * publishes an intent, an empty object whose key says what it wants committed:
 *
 *   log/000000000042.pending.<base64url {p: name prefix, u: uploads, i: infos}>.json
 *
 * keyed by the commit it had seen (42), so it sorts right after that commit and the one LIST of
 * the log tail a writer does anyway also finds the intents near the head. Whoever claims the next
 * number commits its own items AND every fresh intent it saw that no commit since its key has
 * taken; the others poll the next number with a GET and usually find their items in the commit
 * it returns. Intents are never committed twice: an intent keyed at commit h can only be in
 * commits after h, and a writer includes it only when it has applied every commit from h on and
 * none names its uploads. Readers never look at intents (they are not numbered commits); like log
 * entries they are not deleted.
 */
import { randomBytes } from "node:crypto";
import { ArchiveError, FormatError } from "../errors.js";
import type { Store, StoreEntry } from "../store/store.js";
import { gapless, isUploadId, parseJson } from "./index-objects.js";
import {
  isLaneId,
  LANE_MAX,
  type LaneEnd,
  type LaneRecord,
  type LaneReservation,
  Lanes,
} from "./lanes.js";
import { isItemName } from "./records.js";

/**
 * One change. `info` is an archive-language expression; `item` the upload holding the value. Lane
 * reservations and ends: see lanes.ts.
 */
export type LogRecord =
  | { op: "set"; name: string; info?: string; item?: string }
  | { op: "delete"; name: string }
  | LaneReservation
  | LaneEnd;

/** A log entry as read: its records, the lane commits they follow, and its writer's clock. */
interface LogEntry {
  records: LogRecord[];
  after: Record<string, number>;
  time: number;
}

export interface ItemState {
  /** Archive-language expression of the info ("null" when none was given). */
  info: string;
  /** Upload id of the item's objects (items/<id>/...). */
  item: string;
}

const NUMBER_DIGITS = 12;
const LOG = "log/";
const SNAPSHOTS = "snapshots/";
/** Commits between snapshots: a reader reads one snapshot and at most this many log entries. */
export const SNAPSHOT_EVERY = 64;
/** Parallel GETs when reading the log tail. */
const READ_PARALLEL = 16;
/** Intents keyed more than this many commits behind the head are not taken by other writers. */
const INTENT_LOOKBACK = 8;
/** Round trips a writer waits for the writer of an older intent to commit it, before claiming. */
const LEADER_WAITS = 3;
/** Longest intent payload (base64url characters): object keys are limited to 1024 bytes. */
const INTENT_PAYLOAD_MAX = 512;

export function logKey(n: number): string {
  return `${LOG}${String(n).padStart(NUMBER_DIGITS, "0")}.json`;
}
/**
 * A writer's wish to have its uploads committed, as names `prefix` + next free numbers, by whoever
 * claims the next commit (see the top of this file).
 */
export interface Intent {
  /** The commit the writer had seen when it published: the intent can only be in later ones. */
  head: number;
  /** Name prefix of the new items. */
  prefix: string;
  /** Upload ids, one per new item. */
  uploads: string[];
  /** Info expressions, one per upload. */
  infos: string[];
}

/** The intent's key, or undefined when it would be too long for an object key. */
export function intentKey(intent: Intent): string | undefined {
  const { prefix: p, uploads: u, infos: i } = intent;
  const payload = Buffer.from(JSON.stringify({ p, u, i })).toString("base64url");
  if (payload.length > INTENT_PAYLOAD_MAX) return undefined;
  return `${LOG}${String(intent.head).padStart(NUMBER_DIGITS, "0")}.pending.${payload}.json`;
}

/** The intent a key describes; undefined for any other key, or a malformed one (ignored). */
export function parseIntentKey(key: string): Intent | undefined {
  const m = new RegExp(`^${LOG}(\\d{${NUMBER_DIGITS}})\\.pending\\.([\\w-]+)\\.json$`).exec(key);
  if (!m) return undefined;
  try {
    const { p, u, i } = JSON.parse(Buffer.from(m[2] as string, "base64url").toString("utf8"));
    const ok =
      typeof p === "string" &&
      Array.isArray(u) &&
      Array.isArray(i) &&
      u.length > 0 &&
      u.length === i.length &&
      u.every((x: unknown) => typeof x === "string" && /^[\w-]+$/.test(x)) &&
      i.every((x: unknown) => typeof x === "string");
    return ok ? { head: Number(m[1]), prefix: p, uploads: u, infos: i } : undefined;
  } catch {
    return undefined;
  }
}

function snapshotKey(n: number): string {
  return `${SNAPSHOTS}${String(n).padStart(NUMBER_DIGITS, "0")}.json`;
}
function numberOf(key: string, prefix: string): number | undefined {
  const m = new RegExp(`^${prefix}(\\d{${NUMBER_DIGITS}})\\.json$`).exec(key);
  return m ? Number(m[1]) : undefined;
}

const encoder = new TextEncoder();

/**
 * A record as a writer of this library makes it, else a FormatError: names are item names (as in
 * a folder DataSet's journal: never `__proto__`, a path or markup), uploads are upload ids.
 */
function checkRecord(r: unknown, where: string): LogRecord {
  const rec = r as Record<string, unknown>;
  if (typeof rec === "object" && rec !== null && rec.op === "lane") {
    const ok =
      isLaneId(rec.lane) &&
      typeof rec.prefix === "string" &&
      isItemName(`${rec.prefix}0`) &&
      Number.isSafeInteger(rec.first) &&
      (rec.first as number) >= 0 &&
      Number.isSafeInteger(rec.count) &&
      (rec.count as number) > 0 &&
      (rec.count as number) <= LANE_MAX;
    if (!ok) throw new FormatError(`${where} holds a malformed lane reservation`, { file: where });
    return rec as unknown as LaneReservation;
  }
  if (typeof rec === "object" && rec !== null && rec.op === "lane-end") {
    // Each record's name is checked against the lane when applied (Lanes.end).
    const ok =
      isLaneId(rec.lane) &&
      Array.isArray(rec.records) &&
      rec.records.length <= LANE_MAX &&
      rec.records.every(
        (x: Record<string, unknown>) =>
          typeof x === "object" &&
          x !== null &&
          x.op === "set" &&
          isItemName(x.name) &&
          typeof x.info === "string" &&
          isUploadId(x.item),
      );
    if (!ok) throw new FormatError(`${where} holds a malformed lane end`, { file: where });
    return rec as unknown as LaneEnd;
  }
  const ok =
    typeof rec === "object" &&
    rec !== null &&
    isItemName(rec.name) &&
    ((rec.op === "delete" && rec.info === undefined && rec.item === undefined) ||
      (rec.op === "set" &&
        (rec.info === undefined || typeof rec.info === "string") &&
        (rec.item === undefined || isUploadId(rec.item))));
  if (!ok) throw new FormatError(`${where} holds a malformed record`, { file: where });
  return rec as LogRecord;
}

/** The index as of commit `entry` (0: empty, before the first commit). */
export class CommitLog {
  private entry = 0;
  private readonly items = new Map<string, ItemState>();
  private loaded = false;
  /** The commit this handle's state started from (its snapshot): it applied every one after. */
  private from = 0;
  /** Uploads named by the last INTENT_LOOKBACK commits applied, to keep intents from repeating. */
  private recent: { n: number; uploads: Set<string> }[] = [];
  /** Uploads this handle waits to see committed, with their names once it has. */
  private readonly watched = new Map<string, string | undefined>();
  /** Races the last commit() or commitTogether() lost. */
  lostRaces = 0;
  /** Writer lanes (lanes.ts): the open ones, and their reads and writes. */
  readonly lanes: Lanes;
  /** Every change of the state that awaits runs in this queue, one at a time (serial()). */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly store: Store) {
    this.lanes = new Lanes(store, (r: LaneRecord) => {
      this.items.set(r.name, { info: r.info, item: r.item });
    });
  }

  /** The store's address, for messages. */
  get location(): string {
    return this.store.location;
  }

  /** Number of the last commit applied. */
  get head(): number {
    return this.entry;
  }

  /** Grows with every change this state applied, log entries and lane commits alike. */
  get version(): number {
    return this.entry + this.lanes.applied;
  }

  names(): string[] {
    return [...this.items.keys()];
  }
  get(name: string): ItemState | undefined {
    return this.items.get(name);
  }
  entries(): IterableIterator<[string, ItemState]> {
    return this.items.entries();
  }
  /**
   * `count` new names with `prefix` for one commit: numbers after every name with the prefix and
   * every open lane's, skipping names that exist, that a lane holds, or in `taken` (another
   * prefix can spell the same name: "x_1" + "10" is "x_" + "110"). Names an ended lane did not
   * use are free again.
   */
  freeNames(prefix: string, count: number, taken: ReadonlySet<string> = new Set()): string[] {
    const names: string[] = [];
    for (let n = this.firstAfter(prefix); names.length < count; n++) {
      const name = `${prefix}${n}`;
      if (!this.items.has(name) && !taken.has(name) && this.lanes.holder(name) === undefined) {
        names.push(name);
      }
    }
    return names;
  }

  /** The first number of `count` consecutive free names with `prefix` (see freeNames). */
  freeRange(prefix: string, count: number): number {
    let first = this.firstAfter(prefix);
    for (let k = 0; k < count; k++) {
      const name = `${prefix}${first + k}`;
      if (this.items.has(name) || this.lanes.holder(name) !== undefined) {
        first += k + 1;
        k = -1;
      }
    }
    return first;
  }

  /** One past the highest number used, or held by an open lane, with `prefix`. */
  private firstAfter(prefix: string): number {
    let next = this.lanes.highWater(prefix);
    for (const name of this.items.keys()) {
      if (!name.startsWith(prefix)) continue;
      const rest = name.slice(prefix.length);
      if (/^(0|[1-9]\d{0,14})$/.test(rest)) next = Math.max(next, Number(rest) + 1);
    }
    return next;
  }

  /** Upload ids of every item in the state. */
  referencedUploads(): Set<string> {
    return new Set([...this.items.values()].map((s) => s.item));
  }

  /** Catch up with the store: the latest snapshot (first time) and every commit after it. */
  async refresh(): Promise<void> {
    if (!this.loaded) {
      await this.loadSnapshot();
      this.loaded = true;
    }
    await this.applyTail(await this.store.list(LOG, { startAfter: logKey(this.entry) }));
    await this.serial(() => this.lanes.readOpen());
  }

  /**
   * Run `fn` after every change queued before it: applying a log entry may await reads of lane
   * commits it follows, and nothing else may change the state meanwhile (fn must not call serial).
   */
  serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Read and apply, in order, the commits after the head among the listed keys. */
  private async applyTail(tail: readonly StoreEntry[]): Promise<void> {
    const numbers = tail
      .map((e) => numberOf(e.key, LOG))
      .filter((n): n is number => n !== undefined);
    const wanted = gapless(numbers, this.entry + 1);
    for (let i = 0; i < wanted.length; i += READ_PARALLEL) {
      const batch = wanted.slice(i, i + READ_PARALLEL);
      const bodies = await Promise.all(batch.map((n) => this.store.get(logKey(n))));
      for (const [j, body] of bodies.entries()) {
        const n = batch[j] as number;
        if (body === undefined) return; // cannot happen: log entries are never deleted
        await this.applyEntry(n, this.parseEntry(body, n));
      }
    }
  }

  private async loadSnapshot(): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const snaps = (await this.store.list(SNAPSHOTS))
        .map((e) => numberOf(e.key, SNAPSHOTS))
        .filter((n): n is number => n !== undefined);
      const latest = Math.max(0, ...snaps);
      if (latest === 0) return;
      const body = await this.store.get(snapshotKey(latest));
      if (body === undefined) continue; // pruned since we listed: list again
      const where = `${this.store.location}/${snapshotKey(latest)}`;
      const snap = parseJson(body, where) as {
        entry?: unknown;
        items?: unknown;
        lanes?: unknown;
      };
      if (snap.entry !== latest || !Array.isArray(snap.items)) {
        throw new FormatError(`${where} is not a snapshot of commit ${latest}`, { file: where });
      }
      this.items.clear();
      this.lanes.load(snap, where);
      for (const row of snap.items as unknown[]) {
        const [name, info, item] = Array.isArray(row) ? row : [];
        if (!isItemName(name) || typeof info !== "string" || !isUploadId(item)) {
          throw new FormatError(`${where} holds a malformed item row`, { file: where });
        }
        this.items.set(name, { info, item });
      }
      this.entry = latest;
      this.from = latest;
      this.recent = [];
      return;
    }
  }

  private parseEntry(body: Uint8Array, n: number): LogEntry {
    const where = `${this.store.location}/${logKey(n)}`;
    const parsed = parseJson(body, where) as { records?: unknown; after?: unknown; time?: unknown };
    if (!Array.isArray(parsed.records)) {
      throw new FormatError(`${where} is not a commit (no records)`, { file: where });
    }
    const after: Record<string, number> = {};
    if (parsed.after !== undefined) {
      const ok =
        typeof parsed.after === "object" &&
        parsed.after !== null &&
        !Array.isArray(parsed.after) &&
        Object.entries(parsed.after).every(
          ([id, k]) => isLaneId(id) && Number.isSafeInteger(k) && k > 0 && k <= LANE_MAX,
        );
      if (!ok) throw new FormatError(`${where} holds a malformed "after"`, { file: where });
      Object.assign(after, parsed.after);
    }
    const time = typeof parsed.time === "string" ? Date.parse(parsed.time) : Number.NaN;
    return {
      records: parsed.records.map((r) => checkRecord(r, where)),
      after,
      time: Number.isFinite(time) ? time : 0,
    };
  }

  /**
   * Apply log entry `n` if it is the next one (concurrent calls on one handle may both read it:
   * applied once), after the lane commits it follows. False when it is not the next.
   */
  private applyEntry(n: number, entry: LogEntry): Promise<boolean> {
    return this.serial(async () => {
      if (n !== this.entry + 1) return n <= this.entry;
      await this.lanes.ensure(entry.after, `${this.store.location}/${logKey(n)}`);
      this.apply(n, entry);
      return true;
    });
  }

  private apply(n: number, entry: LogEntry): void {
    const where = `${this.store.location}/${logKey(n)}`;
    const uploads = new Set<string>();
    for (const r of entry.records) {
      if (r.op === "lane") {
        this.lanes.reserve(r, entry.time);
        continue;
      }
      if (r.op === "lane-end") {
        this.lanes.end(r, where);
        continue;
      }
      if (r.op === "set" && r.item !== undefined) {
        uploads.add(r.item);
        if (this.watched.has(r.item)) this.watched.set(r.item, r.name);
      }
      if (r.op === "delete") {
        this.items.delete(r.name);
        continue;
      }
      const old = this.items.get(r.name);
      const item = r.item ?? old?.item;
      if (item === undefined) continue; // info of an item that does not exist: validated away
      const state = { info: r.info ?? old?.info ?? "null", item };
      // A replaced item keeps its place (insertion order), as Map.set does.
      this.items.set(r.name, state);
    }
    this.entry = n;
    this.recent.push({ n, uploads });
    while ((this.recent[0]?.n ?? n) <= n - INTENT_LOOKBACK) this.recent.shift();
  }

  /**
   * Claims the next log number for `records` (PutObject If-None-Match: *) and applies them,
   * writing a snapshot every SNAPSHOT_EVERY commits. When another writer won the number, applies
   * the entry that won instead (or catches up fully if it cannot be read) and returns false.
   */
  private async claimNext(
    id: string,
    records: readonly LogRecord[],
    catchUp = false,
  ): Promise<boolean> {
    const n = this.entry + 1;
    const time = Date.now();
    const after = this.lanes.after();
    // (no `after` without open lanes: such entries read as older versions wrote them)
    const entry = { commit: id, time: new Date(time).toISOString(), records };
    const body = encoder.encode(
      JSON.stringify(Object.keys(after).length > 0 ? { ...entry, after } : entry),
    );
    if (!(await this.store.putIfAbsent(logKey(n), body))) {
      // With `catchUp` (a writer that lost before), also LIST what followed the winner, in the
      // same round trip, and read it all: a writer many commits behind (it opened long ago, or
      // paused) that only learned one winner per lost race fell further behind while the others
      // committed, and starved until they stopped (seen in bench s3: one writer's first insert
      // lost 40, 80 or 120 races, one per commit the others made).
      const [applied, later] = await Promise.all([
        this.applyNext(),
        catchUp ? this.store.list(LOG, { startAfter: logKey(n) }) : undefined,
      ]);
      if (!applied) await this.refresh();
      else if (later !== undefined) await this.applyTail(later);
      return false;
    }
    await this.applyEntry(n, { records: [...records], after: {}, time });
    if (n % SNAPSHOT_EVERY === 0) await this.writeSnapshot().catch(() => undefined);
    return true;
  }

  /**
   * Commit the records `build` makes from the current state, retrying on lost races: `build` runs
   * again after each, against the newer state (it throws to give up, e.g. NotFoundError).
   * Returns what the winning `build` returned.
   *
   * With `optimistic`, the first attempt uses the state this handle already has (no LIST): a
   * stale state only costs a lost race, since the number it claims then exists. After a first
   * lost race the writer reads just the entry that beat it and tries the next number (one GET and
   * one PUT); after a second it also reads everything committed since (see claimNext). Without
   * `optimistic` (operations that may fail on the state, like delete of a
   * missing item), the state is refreshed first so that the failure is not a stale one.
   */
  async commit<T>(
    build: () => { records: LogRecord[]; result: T },
    options: { optimistic?: boolean } = {},
  ): Promise<T> {
    const id = randomBytes(12).toString("hex");
    if (!options.optimistic || !this.loaded) await this.refresh();
    this.lostRaces = 0;
    for (let conflicts = 0; ; conflicts++) {
      const { records, result } = build();
      if (records.length === 0) return result; // nothing left to do on the newer state
      if (await this.claimNext(id, records, conflicts > 0)) return result;
      this.lostRaces++;
      if (conflicts > 10_000) {
        throw new ArchiveError(`${this.store.location}: gave up committing after 10000 lost races`);
      }
      // Lost the race (claimNext applied the winner): back off a little, randomly so that
      // racing writers spread out, when losing repeatedly.
      const ms = Math.random() * Math.min(5 * 2 ** Math.min(conflicts, 4), 50);
      await new Promise((r) => setTimeout(r, ms));
    }
  }

  /**
   * Commit `mine` (new items: one upload and info each) together with whatever other writers want
   * committed (see the top of this file): publish an intent, then LIST the log tail (catching up
   * and finding intents), and claim the next number with `build`'s records for `mine` and the
   * intents found, until a commit names mine. `build` gets `mine` first, then the others, and
   * returns one record per upload, in that order. `beforeClaim` may throw to give up (mine may
   * still be committed later by another writer: its intent stays). Returns the names mine got,
   * and whether other writers were seen (a race lost, an intent taken or found).
   */
  async commitTogether(
    mine: Omit<Intent, "head">,
    build: (intents: readonly Intent[]) => LogRecord[],
    options: { freshFor: number; beforeClaim?: () => void },
  ): Promise<{ names: string[]; contended: boolean }> {
    const id = randomBytes(12).toString("hex");
    if (!this.loaded) await this.refresh();
    const own: Intent = { head: this.entry, ...mine };
    const key = intentKey(own);
    if (key === undefined) throw new ArchiveError("commitTogether(): the intent is too long");
    for (const u of own.uploads) this.watched.set(u, undefined);
    this.lostRaces = 0;
    let contended = false;
    try {
      await this.store.put(key, new Uint8Array(0));
      let waits = 0;
      for (let conflicts = 0; ; conflicts++) {
        // One LIST: the commits since our head and the intents near it.
        const listed = performance.now();
        const tail = await this.store.list(LOG, {
          startAfter: logKey(Math.max(0, this.entry - INTENT_LOOKBACK)),
        });
        const roundTrip = performance.now() - listed;
        await this.applyTail(tail);
        let names = this.namesOf(own.uploads);
        if (names) return { names, contended: true };
        const others = this.takeableIntents(tail, own, options.freshFor);
        if (others.length > 0) contended = true;
        // The writer of the oldest intent claims for all; the others give it a few round trips
        // (then claim themselves: it may have died), so that commits gather several writers'.
        const mine = tail.find((e) => e.key === key);
        const older = (e: StoreEntry) =>
          mine === undefined ||
          e.lastModified < mine.lastModified ||
          (e.lastModified.getTime() === mine.lastModified.getTime() && e.key < mine.key);
        if (waits < LEADER_WAITS && others.some((o) => older(o.listed))) {
          // Wait for the leader's commit by asking for it: a GET of the next number answers
          // "not yet" or with the commit itself, in one round trip where a pause, a LIST and a
          // GET took three. A commit without our items sends this writer back to the LIST (the
          // intents may have changed); no commit after LEADER_WAITS polls, on to claiming.
          const pace = Math.min(Math.max(roundTrip, 2), 200);
          for (;;) {
            waits++;
            const polled = performance.now();
            if (await this.applyNext()) {
              names = this.namesOf(own.uploads);
              if (names) return { names, contended: true };
              break;
            }
            if (waits >= LEADER_WAITS) break;
            const left = pace - (performance.now() - polled);
            if (left > 0) await new Promise((r) => setTimeout(r, left));
          }
          continue;
        }
        options.beforeClaim?.();
        const records = build([own, ...others.map((o) => o.intent)]);
        if (await this.claimNext(id, records)) {
          return { names: this.namesOf(own.uploads) as string[], contended };
        }
        this.lostRaces++;
        contended = true;
        if (conflicts > 10_000) {
          throw new ArchiveError(
            `${this.store.location}: gave up committing after 10000 lost races`,
          );
        }
        // Lost (claimNext applied the winner): the winner may well have taken our intent.
        names = this.namesOf(own.uploads);
        if (names) return { names, contended };
        await new Promise((r) => setTimeout(r, Math.random() * Math.min(2 * conflicts, 20)));
      }
    } finally {
      for (const u of own.uploads) this.watched.delete(u);
    }
  }

  /** Reads and applies the commit after the head if it exists; whether it did. */
  private async applyNext(): Promise<boolean> {
    const n = this.entry + 1;
    const body = await this.store.get(logKey(n));
    if (body === undefined) return false;
    await this.applyEntry(n, this.parseEntry(body, n));
    return true;
  }

  /** The names `uploads` were committed under, once a commit applied here named them all. */
  private namesOf(uploads: readonly string[]): string[] | undefined {
    const names = uploads.map((u) => this.watched.get(u));
    if (names.every((n) => n === undefined)) return undefined;
    if (names.some((n) => n === undefined)) {
      throw new FormatError(`${this.store.location}: a commit took only part of an intent`, {
        file: this.store.location,
      });
    }
    return names as string[];
  }

  /**
   * Other writers' intents among the listed keys that the next commit may take: published after a
   * commit this handle applied and no more than INTENT_LOOKBACK commits ago (so every commit since
   * is known here), named by none of those commits, and fresh (younger than `freshFor` ms, so
   * their uploads cannot have been cleaned up as stale).
   */
  private takeableIntents(
    tail: readonly StoreEntry[],
    own: Intent,
    freshFor: number,
  ): { intent: Intent; listed: StoreEntry }[] {
    const now = Date.now();
    const out: { intent: Intent; listed: StoreEntry }[] = [];
    for (const entry of tail) {
      const intent = parseIntentKey(entry.key);
      if (intent === undefined || intent.uploads[0] === own.uploads[0]) continue;
      if (intent.head < this.from || intent.head <= this.entry - INTENT_LOOKBACK) continue;
      if (now - entry.lastModified.getTime() >= freshFor) continue;
      const taken = intent.uploads.some((u) => this.recent.some((r) => r.uploads.has(u)));
      if (!taken) out.push({ intent, listed: entry });
    }
    return out;
  }

  /** Write the snapshot of the current state and prune all but the two before it. */
  async writeSnapshot(): Promise<void> {
    const rows = [...this.items].map(([name, s]) => [name, s.info, s.item]);
    const bytes = encoder.encode(
      JSON.stringify({ entry: this.entry, items: rows, ...this.lanes.toJSON() }),
    );
    // Two writers of one snapshot may have read the lanes to different points; either is a
    // state a reader can go on from (the first stays).
    await this.store.putIfAbsent(snapshotKey(this.entry), bytes);
    const older = (await this.store.list(SNAPSHOTS))
      .map((e) => numberOf(e.key, SNAPSHOTS))
      .filter((n): n is number => n !== undefined && n < this.entry)
      .sort((a, b) => b - a);
    for (const n of older.slice(2)) await this.store.delete(snapshotKey(n));
  }
}
