/**
 * The writer's side of lanes (lanes.ts): a handle's own lane for its inserts, and ending lanes
 * (its own at close, a name's holder before an explicit set, those of writers that are gone).
 */
import { randomBytes } from "node:crypto";
import { ArchiveError } from "../errors.js";
import type { CommitLog, LogRecord } from "./commit-log.js";
import { type LaneState, reservedUnused } from "./lanes.js";

/** Inserts and lane ends cannot fail on a stale state: a stale state loses a race. */
const OPTIMISTIC = { optimistic: true } as const;

/**
 * Writers of this process with a lane open. Scripts seldom close() a DataSet, and a lane left open
 * costs every reader a LIST per refresh, and holds its unused names, until another writer ends it
 * an idle hour later; so when the process runs out of work ("beforeExit": not after
 * process.exit() or a signal) the lanes still open are ended, as close() would.
 */
const withOpenLanes = new Set<LaneWriter>();
let endingAtExit = false;

function endLanesAtExit(writer: LaneWriter): void {
  withOpenLanes.add(writer);
  if (endingAtExit || typeof process === "undefined" || typeof process.once !== "function") return;
  endingAtExit = true;
  process.once("beforeExit", () => {
    endingAtExit = false;
    const writers = [...withOpenLanes];
    withOpenLanes.clear();
    // The requests keep the process alive until they are done; then it exits as it would have.
    void Promise.all(writers.map((w) => w.close().catch(() => undefined)));
  });
}

export class LaneWriter {
  /** This handle's lane, once it reserved one. */
  private own: string | undefined;
  /** The reservation in flight, if any. */
  private reserving: Promise<void> | undefined;

  constructor(
    private readonly log: CommitLog,
    /** Names per lane; 0: no lanes (inserts go to the shared log, see S3DataSet.insertMany). */
    readonly size: number,
  ) {}

  /**
   * Insert new items (uploads and their info expressions; at most LANE_MAX) as one commit of this
   * handle's lane: one put-if-absent, nothing read. A lane is reserved first when the handle has
   * none open with room for them (one commit of the shared log per `size` names), and again when
   * another writer sealed it. Returns their names.
   */
  async insert(
    prefix: string,
    items: readonly { item: string; info: string }[],
    beforeClaim: () => void = () => undefined,
  ): Promise<string[]> {
    const commit = randomBytes(12).toString("hex");
    for (let attempt = 0; attempt < 1000; attempt++) {
      const id = await this.laneWithRoom(prefix, items.length);
      beforeClaim();
      // The names are picked in the queue, where no other insert of this handle can take them.
      const names = await this.log.serial(() => this.log.lanes.insert(id, items, commit));
      if (names !== undefined) return names;
    }
    throw new ArchiveError(`${this.log.location}: gave up inserting after 1000 sealed lanes`);
  }

  /**
   * This handle's open lane with `prefix` and room for `need` more names, reserved if need be; one
   * reservation at a time (concurrent inserts of one handle share it).
   */
  private async laneWithRoom(prefix: string, need: number): Promise<string> {
    for (;;) {
      if (this.reserving !== undefined) {
        await this.reserving.catch(() => undefined);
        continue;
      }
      const id = this.own;
      const lane = id === undefined ? undefined : this.log.lanes.open.get(id);
      if (id !== undefined && lane !== undefined && !lane.closed && lane.prefix === prefix) {
        if (lane.records.length + need <= lane.count) return id;
        // No room left for all of them: close the lane (its lane-end goes with the next one's
        // reservation), so that its unused names are not held for ever.
        await this.log.serial(() => this.log.lanes.seal(id, () => true));
      }
      if (this.reserving === undefined) {
        this.reserving = this.reserve(prefix, need).finally(() => {
          this.reserving = undefined;
        });
      }
      await this.reserving;
    }
  }

  /** End this handle's lane, if it has one open (close()). */
  async close(): Promise<void> {
    const id = this.own;
    this.own = undefined;
    withOpenLanes.delete(this);
    if (id !== undefined) await this.end(id);
  }

  /**
   * Make `name` free for an explicit set: when an open lane holds it for an insert that has not
   * happened, end that lane (unless the insert happens first: then the name is an item).
   */
  async release(name: string): Promise<void> {
    const id = this.log.lanes.holder(name);
    if (id !== undefined) await this.end(id, (lane) => reservedUnused(lane, name));
  }

  /**
   * End the lanes of writers that are gone: closed ones (used up or sealed) that nobody ended, and
   * open ones with no insert for `idle` ms (sealed first; a writer that inserts meanwhile keeps
   * its lane). Returns the ids ended.
   */
  async endIdle(idle: number): Promise<string[]> {
    const ended: string[] = [];
    const isIdle = (lane: LaneState) => Date.now() - lane.lastTime > idle;
    for (const [id, lane] of [...this.log.lanes.open]) {
      if (id === this.own || !(lane.closed || isIdle(lane))) continue;
      if (await this.end(id, isIdle)) ended.push(id);
    }
    return ended;
  }

  /**
   * End lane `id`: seal it at its next number while `still(lane)` holds, then commit its lane-end
   * (with every insert it holds) to the shared log. Whether it ended.
   */
  private async end(
    id: string,
    still: (lane: LaneState) => boolean = () => true,
  ): Promise<boolean> {
    if (!(await this.log.serial(() => this.log.lanes.seal(id, still)))) return false;
    await this.log.commit(() => {
      const closed = this.log.lanes.open.get(id)?.closed === true;
      const end = closed ? this.log.lanes.endRecord(id) : undefined;
      return { records: end === undefined ? [] : [end], result: undefined };
    }, OPTIMISTIC);
    return true;
  }

  /**
   * Reserve a new lane for this handle (of `size` names, or `need` if more), ending its old one
   * (used up or sealed) in the same commit.
   */
  private async reserve(prefix: string, need: number): Promise<void> {
    const count = Math.max(this.size, need);
    const id = randomBytes(12).toString("hex");
    const old = this.own;
    await this.log.commit(() => {
      const records: LogRecord[] = [];
      const oldLane = old === undefined ? undefined : this.log.lanes.open.get(old);
      const end = old === undefined ? undefined : this.log.lanes.endRecord(old);
      if (oldLane?.closed && end !== undefined) records.push(end);
      const first = this.log.freeRange(prefix, count);
      records.push({ op: "lane", lane: id, prefix, first, count });
      return { records, result: undefined };
    }, OPTIMISTIC);
    this.own = id;
    endLanesAtExit(this);
  }
}
