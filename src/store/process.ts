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

/** Whether a process with this pid exists on this host (EPERM: it does, owned by someone else). */
export function isRunning(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

const ownStart = processStartTime(process.pid);

/** This process's start time, read once (undefined where /proc has none). */
export function ownStartTime(): number | undefined {
  return ownStart;
}

/** This process's tag for temp names: `<pid>-<start>`, or `<pid>` without a start time. */
export const PROCESS_TAG: string =
  ownStart === undefined ? String(process.pid) : `${process.pid}-${ownStart}`;

/** A regular-expression fragment matching a process tag (both forms), with no capture groups. */
export const PROCESS_TAG_PATTERN = "\\d+(?:-\\d+)?";

/**
 * Whether the process a tag names still runs: its pid exists and, when the tag has a start time
 * and /proc tells the pid's, the two agree (else the pid was reused by another process).
 */
export function isTagRunning(tag: string): boolean {
  const m = /^(\d+)(?:-(\d+))?$/.exec(tag);
  if (m === null) return false;
  const pid = Number(m[1]);
  if (!isRunning(pid)) return false;
  if (m[2] === undefined) return true;
  const start = processStartTime(pid);
  return start === undefined || start === Number(m[2]);
}
