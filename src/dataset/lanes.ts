/**
 * Writer lanes: how inserts on object storage avoid the shared commit log (commit-log.ts).
 *
 * Every writer of one log must learn what the others committed before its next claim, which costs
 * a GET per commit of theirs: with four writers on a gateway that is bound by requests, that
 * doubles the cost of an insert, and four writers together were slower than one. A lane instead
 * gives a writer names and commit numbers nobody else uses:
 *
 *   log/…  { op: "lane", lane: L, prefix: "x_", first: 64, count: 64 }   reserves x_64 … x_127
 *   lanes/L/000000.json  { commit, time, records: [{ op: "set", name: "x_64", info, item }] }
 *   lanes/L/000001.json  … x_65 (an insertMany: x_65, x_66, …), claimed with put-if-absent
 *
 * The reservation is a commit of the shared log (so it is serial with every other name), made
 * against a state that knows every open lane's names; after it, the writer inserts with one
 * put-if-absent in its own lane, reading nothing. When the lane is used up (or at close), the
 * writer commits { op: "lane-end", lane: L, records } to the shared log, with the lane's records
 * inline, so that a reader starting from a snapshot reads the lane's items in the log tail rather
 * than one GET per item. Readers (CommitLog.refresh) read the log tail and then the tail of each
 * open lane (a LIST each).
 *
 * A lane whose writer died is ended by another writer: it puts a seal, { seal: true }, at the
 * lane's next number (put-if-absent, so exactly one of the seal and the owner's next insert
 * exists), then commits the lane-end. An owner that finds a seal in its way reserves a new lane.
 * Explicit names in a reserved range that no insert used yet (set("x_70")) end the lane the same
 * way first, so a name is never created twice.
 *
 * Order: a commit of the shared log carries `after`, how far its writer had read each open lane;
 * a reader applies those lane commits before it (so a setInfo or delete of a lane item follows
 * its insert). Items of different writers interleave in keys() in the order a reader learns them.
 */
import { FormatError } from "../errors.js";
import type { Store } from "../store/store.js";
import { gapless, isUploadId, parseJson } from "./index-objects.js";
import { isItemName } from "./records.js";

/** An insert in a lane: always a new item (name, info expression, upload id). */
export interface LaneRecord {
  op: "set";
  name: string;
  info: string;
  item: string;
}

/** A lane as a reader's state knows it. */
export interface LaneState {
  prefix: string;
  first: number;
  count: number;
  /** Lane commits applied to the state: the next one is number `commits`. */
  commits: number;
  /** Their inserts, in order (kept for the lane-end): the next name is first + records.length. */
  records: LaneRecord[];
  /** A seal, or its last name used, closes the lane: nothing more can be committed to it. */
  closed: boolean;
  /** Time of the lane's newest commit (its reservation's when none), ms since the epoch. */
  lastTime: number;
}

const LANES = "lanes/";
const LANE_DIGITS = 6;
/** Longest lane: a lane-end carries every record inline, and a reader keeps open lanes' records. */
export const LANE_MAX = 1024;

export function laneKey(lane: string, n: number): string {
  return `${LANES}${lane}/${String(n).padStart(LANE_DIGITS, "0")}.json`;
}
function lanePrefix(lane: string): string {
  return `${LANES}${lane}/`;
}
/** The number of a lane commit key of `lane`, or undefined for any other key. */
function laneNumberOf(key: string, lane: string): number | undefined {
  const prefix = lanePrefix(lane);
  if (!key.startsWith(prefix)) return undefined;
  const m = new RegExp(`^(\\d{${LANE_DIGITS}})\\.json$`).exec(key.slice(prefix.length));
  return m ? Number(m[1]) : undefined;
}

/** Lane ids are what writers make (random, `[\w-]`): never a key's "/" or "..". */
export function isLaneId(id: unknown): id is string {
  return typeof id === "string" && /^[\w-]{1,64}$/.test(id);
}

/** The lane's `n`th name (from 0). */
function laneName(lane: Pick<LaneState, "prefix" | "first">, n: number): string {
  return `${lane.prefix}${lane.first + n}`;
}

/** Whether `name` is one of the lane's names that no commit of it used yet. */
export function reservedUnused(lane: LaneState, name: string): boolean {
  if (lane.closed || !name.startsWith(lane.prefix)) return false;
  const rest = name.slice(lane.prefix.length);
  if (!/^(0|[1-9]\d{0,14})$/.test(rest)) return false;
  const k = Number(rest) - lane.first;
  return k >= lane.records.length && k < lane.count;
}

/** A lane record as a writer of this library makes it (the lane's `n`th insert), else a FormatError. */
function checkLaneRecord(
  r: unknown,
  lane: Pick<LaneState, "prefix" | "first">,
  n: number,
  where: string,
): LaneRecord {
  const rec = r as Record<string, unknown>;
  const ok =
    typeof rec === "object" &&
    rec !== null &&
    rec.op === "set" &&
    rec.name === laneName(lane, n) &&
    isItemName(rec.name) &&
    typeof rec.info === "string" &&
    isUploadId(rec.item);
  if (!ok) {
    throw new FormatError(`${where} does not hold insert ${n} of its lane (${laneName(lane, n)})`, {
      file: where,
    });
  }
  return {
    op: "set",
    name: rec.name as string,
    info: rec.info as string,
    item: rec.item as string,
  };
}

/**
 * What a lane commit object holds: inserts (their names are checked when applied, against the
 * lane's next names), or the seal that closed the lane.
 */
type LaneEntry = { seal: true; time: number } | { records: unknown[]; time: number; where: string };

function parseLaneEntry(parsed: unknown, where: string): LaneEntry {
  const body = parsed as { seal?: unknown; records?: unknown; time?: unknown };
  const time = typeof body?.time === "string" ? Date.parse(body.time) : Number.NaN;
  if (typeof body !== "object" || body === null || !Number.isFinite(time)) {
    throw new FormatError(`${where} is not a lane commit`, { file: where });
  }
  if (body.seal === true) return { seal: true, time };
  if (!Array.isArray(body.records) || body.records.length === 0) {
    throw new FormatError(`${where} is not a lane commit (no records)`, { file: where });
  }
  return { records: body.records, time, where };
}

/** Records of the shared log that reserve and end lanes. */
export interface LaneReservation {
  op: "lane";
  lane: string;
  prefix: string;
  first: number;
  count: number;
}
export interface LaneEnd {
  op: "lane-end";
  lane: string;
  records: LaneRecord[];
}

/** Parallel GETs when reading a lane. */
const READ_PARALLEL = 16;
const encoder = new TextEncoder();

/**
 * The open lanes of a state, and the reads and writes of lane commits. The CommitLog owns one and
 * runs every change of it that awaits in its one queue (see CommitLog.serial), so lane commits and
 * log entries are applied in the order described at the top of this file.
 */
export class Lanes {
  /** Lanes reserved and not ended, by id. */
  readonly open = new Map<string, LaneState>();
  /** Lane commits applied here: with the log's head, it moves with every change (lastCommit). */
  applied = 0;

  constructor(
    private readonly store: Store,
    /** Puts a lane's insert into the state's items. */
    private readonly setItem: (record: LaneRecord) => void,
  ) {}

  /** Apply a reservation from the shared log. */
  reserve(r: LaneReservation, time: number): void {
    if (this.open.has(r.lane)) return;
    this.open.set(r.lane, {
      prefix: r.prefix,
      first: r.first,
      count: r.count,
      commits: 0,
      records: [],
      closed: false,
      lastTime: time,
    });
  }

  /** Apply a lane-end from the shared log: the lane's inserts this state lacks, then forget it. */
  end(r: LaneEnd, where: string): void {
    const lane = this.open.get(r.lane);
    if (lane === undefined) return; // ended before (or before this state's snapshot)
    const records = r.records.slice(lane.records.length);
    this.applyInserts(lane, records, where);
    this.open.delete(r.lane);
  }

  /** The lane-end record of lane `id` as this state knows it. */
  endRecord(id: string): LaneEnd | undefined {
    const lane = this.open.get(id);
    return lane === undefined
      ? undefined
      : { op: "lane-end", lane: id, records: [...lane.records] };
  }

  /** How far this state has read each open lane: a new log entry's `after`. */
  after(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [id, lane] of this.open) if (lane.commits > 0) out[id] = lane.commits;
    return out;
  }

  /** The open lane holding `name` for an insert that has not happened yet, if any. */
  holder(name: string): string | undefined {
    for (const [id, lane] of this.open) if (reservedUnused(lane, name)) return id;
    return undefined;
  }

  /**
   * Apply the lane commits a log entry's writer had read (its `after`), before the entry: read
   * them now if this state has not.
   */
  async ensure(after: Readonly<Record<string, number>>, where: string): Promise<void> {
    await Promise.all(
      Object.entries(after).map(async ([id, upto]) => {
        const lane = this.open.get(id);
        if (lane === undefined || lane.commits >= upto) return;
        const numbers = Array.from({ length: upto - lane.commits }, (_, i) => lane.commits + i);
        const entries = await this.fetch(id, numbers);
        for (const [j, entry] of entries.entries()) {
          // (a seal is a commit too: the writer of a lane-end had read the lane's seal)
          if (entry === undefined) {
            throw new FormatError(
              `${where} follows commit ${numbers[j]} of lane ${id}, but ${laneKey(id, numbers[j] as number)} is missing`,
              { file: where },
            );
          }
          this.applyEntry(lane, numbers[j] as number, entry);
        }
      }),
    );
  }

  /** Read what was committed to every open lane since this state: a LIST each, in parallel. */
  async readOpen(): Promise<void> {
    const lanes = [...this.open].filter(([, lane]) => !lane.closed);
    await Promise.all(lanes.map(([id, lane]) => this.read(id, lane)));
  }

  /** Read and apply lane `id`'s commits after this state's. */
  async read(id: string, lane: LaneState): Promise<void> {
    const from = lane.commits;
    const listed = await this.store.list(
      lanePrefix(id),
      from > 0 ? { startAfter: laneKey(id, from - 1) } : {},
    );
    const found = listed
      .map((e) => laneNumberOf(e.key, id))
      .filter((n): n is number => n !== undefined);
    // At most one per name left and a seal: what a hostile prefix holds beyond is not read.
    const numbers = gapless(found, from).slice(0, lane.count - lane.records.length + 1);
    const entries = await this.fetch(id, numbers);
    for (const [j, entry] of entries.entries()) {
      if (entry === undefined || !this.applyEntry(lane, numbers[j] as number, entry)) break;
    }
  }

  /**
   * Commit new items (uploads and info expressions) under the lane's next names, as lane `id`'s
   * next commit, with put-if-absent: their names, or undefined when the lane has no room or the
   * number was taken (by a seal: the lane is then closed here). Run it in the state's queue.
   */
  async insert(
    id: string,
    items: readonly { item: string; info: string }[],
    commit: string,
  ): Promise<string[] | undefined> {
    const lane = this.open.get(id);
    if (lane === undefined || lane.closed) return undefined;
    if (lane.records.length + items.length > lane.count) return undefined;
    const records: LaneRecord[] = items.map(({ item, info }, i) => ({
      op: "set",
      name: laneName(lane, lane.records.length + i),
      info,
      item,
    }));
    const k = lane.commits;
    const time = Date.now();
    const body = { commit, time: new Date(time).toISOString(), records };
    if (await this.store.putIfAbsent(laneKey(id, k), encoder.encode(JSON.stringify(body)))) {
      const where = `${this.store.location}/${laneKey(id, k)}`;
      this.applyEntry(lane, k, { records, time, where });
      return records.map((r) => r.name);
    }
    await this.read(id, lane);
    return undefined;
  }

  /**
   * Close lane `id` with a seal at its next number, while `still(lane)` holds (re-checked after
   * every insert its writer slips in first). Whether the lane is closed.
   */
  async seal(id: string, still: (lane: LaneState) => boolean): Promise<boolean> {
    for (let attempt = 0; attempt < 10_000; attempt++) {
      const lane = this.open.get(id);
      if (lane === undefined || lane.closed) return true;
      if (!still(lane)) return false;
      const k = lane.commits;
      const time = Date.now();
      const body = encoder.encode(
        JSON.stringify({ seal: true, time: new Date(time).toISOString() }),
      );
      if (await this.store.putIfAbsent(laneKey(id, k), body)) {
        this.applyEntry(lane, k, { seal: true, time });
        return true;
      }
      await this.read(id, lane);
    }
    return false;
  }

  /**
   * One past the highest name with `prefix` an open lane used or holds (0 when none): a closed
   * lane holds no more than it used.
   */
  highWater(prefix: string): number {
    let high = 0;
    for (const lane of this.open.values()) {
      if (lane.prefix !== prefix) continue;
      high = Math.max(high, lane.first + (lane.closed ? lane.records.length : lane.count));
    }
    return high;
  }

  /** The open lanes, for a snapshot. */
  toJSON(): { lanes: unknown[] } {
    return {
      lanes: [...this.open].map(([id, l]) => [
        id,
        l.prefix,
        l.first,
        l.count,
        l.commits,
        l.closed,
        l.lastTime,
        l.records.map((r) => [r.name, r.info, r.item]),
      ]),
    };
  }

  /** Replace the state with a snapshot's open lanes (absent in older snapshots). */
  load(snap: { lanes?: unknown }, where: string): void {
    this.open.clear();
    const bad = () => new FormatError(`${where} holds a malformed lane row`, { file: where });
    for (const row of (snap.lanes ?? []) as unknown[]) {
      const [id, prefix, first, count, commits, closed, lastTime, records] = Array.isArray(row)
        ? row
        : [];
      const ok =
        isLaneId(id) &&
        typeof prefix === "string" &&
        isItemName(`${prefix}0`) &&
        Number.isSafeInteger(first) &&
        first >= 0 &&
        Number.isSafeInteger(count) &&
        count > 0 &&
        count <= LANE_MAX &&
        Number.isSafeInteger(commits) &&
        commits >= 0 &&
        typeof closed === "boolean" &&
        Number.isFinite(lastTime) &&
        Array.isArray(records) &&
        records.length <= count;
      if (!ok) throw bad();
      const lane: LaneState = { prefix, first, count, commits, records: [], closed, lastTime };
      for (const [k, r] of (records as unknown[]).entries()) {
        const [name, info, item] = Array.isArray(r) ? r : [];
        lane.records.push(checkLaneRecord({ op: "set", name, info, item }, lane, k, where));
      }
      this.open.set(id, lane);
    }
  }

  /** Apply lane commit `k` if it is the lane's next: whether it was. */
  private applyEntry(lane: LaneState, k: number, entry: LaneEntry): boolean {
    if (k !== lane.commits || lane.closed) return false;
    lane.lastTime = Math.max(lane.lastTime, entry.time);
    lane.commits++;
    if ("seal" in entry) lane.closed = true;
    else this.applyInserts(lane, entry.records, entry.where);
    return true;
  }

  /** Apply inserts that must be the lane's next names (checked: all of them, or none). */
  private applyInserts(lane: LaneState, records: readonly unknown[], where: string): void {
    if (lane.records.length + records.length > lane.count) {
      throw new FormatError(`${where} holds more inserts than its lane has names`, { file: where });
    }
    const checked = records.map((r, i) => checkLaneRecord(r, lane, lane.records.length + i, where));
    for (const record of checked) {
      this.setItem(record);
      lane.records.push(record);
      this.applied++;
    }
    if (lane.records.length >= lane.count) lane.closed = true;
  }

  private async fetch(id: string, numbers: readonly number[]): Promise<(LaneEntry | undefined)[]> {
    const out: (LaneEntry | undefined)[] = [];
    for (let i = 0; i < numbers.length; i += READ_PARALLEL) {
      const batch = numbers.slice(i, i + READ_PARALLEL);
      const read = await Promise.all(
        batch.map(async (n) => {
          const key = laneKey(id, n);
          const body = await this.store.get(key);
          if (body === undefined) return undefined;
          const where = `${this.store.location}/${key}`;
          return parseLaneEntry(parseJson(body, where), where);
        }),
      );
      out.push(...read);
    }
    return out;
  }
}
