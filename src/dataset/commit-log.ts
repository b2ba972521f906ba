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
 * read what won, rebuild their records against it and claim the number after. So commits are
 * serial, each one validated against everything before it, and nothing committed is lost or
 * duplicated. Log entries are never deleted (a deleted number could be claimed twice); snapshots
 * are only a shortcut for readers and may be missing, late or written twice (same bytes).
 */
import { randomBytes } from "node:crypto";
import { ArchiveError, FormatError } from "../errors.js";
import type { Store } from "../store/store.js";

/** One change. `info` is an archive-language expression; `item` the upload holding the value. */
export type LogRecord =
  | { op: "set"; name: string; info?: string; item?: string }
  | { op: "delete"; name: string };

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

export function logKey(n: number): string {
  return `${LOG}${String(n).padStart(NUMBER_DIGITS, "0")}.json`;
}
function snapshotKey(n: number): string {
  return `${SNAPSHOTS}${String(n).padStart(NUMBER_DIGITS, "0")}.json`;
}
function numberOf(key: string, prefix: string): number | undefined {
  const m = new RegExp(`^${prefix}(\\d{${NUMBER_DIGITS}})\\.json$`).exec(key);
  return m ? Number(m[1]) : undefined;
}

const decoder = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

function parseJson(bytes: Uint8Array, where: string): unknown {
  try {
    return JSON.parse(decoder.decode(bytes));
  } catch (err) {
    throw new FormatError(`${where} is not valid JSON: ${(err as Error).message}`, {
      file: where,
      cause: err,
    });
  }
}

function checkRecord(r: unknown, where: string): LogRecord {
  const rec = r as Record<string, unknown>;
  const ok =
    typeof rec === "object" &&
    rec !== null &&
    typeof rec.name === "string" &&
    ((rec.op === "delete" && rec.info === undefined && rec.item === undefined) ||
      (rec.op === "set" &&
        (rec.info === undefined || typeof rec.info === "string") &&
        (rec.item === undefined || (typeof rec.item === "string" && /^[\w-]+$/.test(rec.item)))));
  if (!ok) throw new FormatError(`${where} holds a malformed record`, { file: where });
  return rec as LogRecord;
}

/** The index as of commit `entry` (0: empty, before the first commit). */
export class CommitLog {
  private entry = 0;
  private readonly items = new Map<string, ItemState>();
  private loaded = false;

  constructor(private readonly store: Store) {}

  /** Number of the last commit applied. */
  get head(): number {
    return this.entry;
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
    const tail = await this.store.list(LOG, { startAfter: logKey(this.entry) });
    const numbers = tail
      .map((e) => numberOf(e.key, LOG))
      .filter((n): n is number => n !== undefined && n > this.entry)
      .sort((a, b) => a - b);
    // Commits are claimed in order, so they are gapless: stop at a gap (never expected).
    const wanted: number[] = [];
    for (const n of numbers) {
      if (n !== this.entry + 1 + wanted.length) break;
      wanted.push(n);
    }
    for (let i = 0; i < wanted.length; i += READ_PARALLEL) {
      const batch = wanted.slice(i, i + READ_PARALLEL);
      const bodies = await Promise.all(batch.map((n) => this.store.get(logKey(n))));
      for (const [j, body] of bodies.entries()) {
        const n = batch[j] as number;
        if (body === undefined) return; // cannot happen: log entries are never deleted
        this.apply(n, this.parseEntry(body, n));
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
      const snap = parseJson(body, where) as { entry?: unknown; items?: unknown };
      if (snap.entry !== latest || !Array.isArray(snap.items)) {
        throw new FormatError(`${where} is not a snapshot of commit ${latest}`, { file: where });
      }
      this.items.clear();
      for (const row of snap.items as unknown[]) {
        const [name, info, item] = Array.isArray(row) ? row : [];
        if (typeof name !== "string" || typeof info !== "string" || typeof item !== "string") {
          throw new FormatError(`${where} holds a malformed item row`, { file: where });
        }
        this.items.set(name, { info, item });
      }
      this.entry = latest;
      return;
    }
  }

  private parseEntry(body: Uint8Array, n: number): LogRecord[] {
    const where = `${this.store.location}/${logKey(n)}`;
    const parsed = parseJson(body, where) as { records?: unknown };
    if (!Array.isArray(parsed.records)) {
      throw new FormatError(`${where} is not a commit (no records)`, { file: where });
    }
    return parsed.records.map((r) => checkRecord(r, where));
  }

  private apply(n: number, records: readonly LogRecord[]): void {
    for (const r of records) {
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
  }

  /**
   * Commit the records `build` makes from the current state, retrying on lost races: `build` runs
   * again after each, against the newer state (it throws to give up, e.g. NotFoundError).
   * Returns what the winning `build` returned.
   *
   * With `optimistic`, the first attempt uses the state this handle already has (no LIST): a
   * stale state only costs a lost race, since the number it claims then exists. After a lost race
   * the writer reads just the entry that beat it and tries the next number: one GET and one PUT
   * per lost race. Without `optimistic` (operations that may fail on the state, like delete of a
   * missing item), the state is refreshed first so that the failure is not a stale one.
   */
  async commit<T>(
    build: () => { records: LogRecord[]; result: T },
    options: { optimistic?: boolean } = {},
  ): Promise<T> {
    const id = randomBytes(12).toString("hex");
    if (!options.optimistic || !this.loaded) await this.refresh();
    for (let conflicts = 0; ; conflicts++) {
      const { records, result } = build();
      const n = this.entry + 1;
      const body = encoder.encode(
        JSON.stringify({ commit: id, time: new Date().toISOString(), records }),
      );
      if (await this.store.putIfAbsent(logKey(n), body)) {
        this.apply(n, records);
        if (n % SNAPSHOT_EVERY === 0) await this.writeSnapshot().catch(() => undefined);
        return result;
      }
      if (conflicts > 10_000) {
        throw new ArchiveError(`${this.store.location}: gave up committing after 10000 lost races`);
      }
      // Lost the race: apply the entry that won (or catch up fully if it cannot be read), then
      // back off a little (randomly, so racing writers spread out) when losing repeatedly.
      const winner = await this.store.get(logKey(n));
      if (winner === undefined) await this.refresh();
      else this.apply(n, this.parseEntry(winner, n));
      const ms = Math.random() * Math.min(5 * 2 ** Math.min(conflicts, 4), 50);
      await new Promise((r) => setTimeout(r, ms));
    }
  }

  /** Write the snapshot of the current state and prune all but the two before it. */
  async writeSnapshot(): Promise<void> {
    const rows = [...this.items].map(([name, s]) => [name, s.info, s.item]);
    const bytes = encoder.encode(JSON.stringify({ entry: this.entry, items: rows }));
    // Deterministic content per commit number: a second writer of the same snapshot is harmless.
    await this.store.putIfAbsent(snapshotKey(this.entry), bytes);
    const older = (await this.store.list(SNAPSHOTS))
      .map((e) => numberOf(e.key, SNAPSHOTS))
      .filter((n): n is number => n !== undefined && n < this.entry)
      .sort((a, b) => b - a);
    for (const n of older.slice(2)) await this.store.delete(snapshotKey(n));
  }
}
