/**
 * Which process made a temp file, and whether it still runs. Temp names carry a process tag,
 * `<pid>-<start>` where Linux tells the process start time (`<pid>` elsewhere), so that cleanup
 * can tell a dead writer's leftover from a live one's even after the pid has been reused: pids
 * wrap (at 32,768 by default), and a leftover whose pid now belongs to another, unrelated process
 * would otherwise be kept for as long as that process runs.
 */
import { readFileSync } from "node:fs";

/** Start time of process `pid` from /proc (Linux, clock ticks since boot), or undefined. */
export function processStartTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 2 (comm) may contain spaces and parentheses; fields after the last ")" are fixed.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const start = Number(fields[19]); // field 22 overall: starttime
    return Number.isFinite(start) ? start : undefined;
  } catch {
    return undefined;
  }
}

/** This process's start time, read once (undefined where /proc has none). */
export const OWN_START_TIME: number | undefined = processStartTime(process.pid);

/** This process's tag for temp names: `<pid>-<start>`, or `<pid>` without a start time. */
export const PROCESS_TAG: string =
  OWN_START_TIME === undefined ? String(process.pid) : `${process.pid}-${OWN_START_TIME}`;

/** A regular-expression fragment matching a process tag (both forms), with no capture groups. */
export const PROCESS_TAG_PATTERN = "\\d+(?:-\\d+)?";

/**
 * Whether process `pid` runs on this host (EPERM: it does, owned by another user) and, when
 * `start` is given and /proc tells the pid's start time, the two agree: else the pid was reused
 * by another process. A pid that is not a positive integer never runs.
 */
export function isAlive(pid: number, start?: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ESRCH") return false;
  }
  if (start === undefined) return true;
  const now = processStartTime(pid);
  return now === undefined || now === start;
}

/** Whether the process a temp name's tag names still runs (see isAlive). */
export function isTagRunning(tag: string): boolean {
  const m = /^(\d+)(?:-(\d+))?$/.exec(tag);
  if (m === null) return false;
  return isAlive(Number(m[1]), m[2] === undefined ? undefined : Number(m[2]));
}
