/**
 * Owner files: small JSON files that say which process holds something (a lock, a takeover claim),
 * created atomically with their content and judged alive or dead without ever trusting a clock on
 * the same host.
 */
import { randomBytes } from "node:crypto";
import {
  closeSync,
  constants,
  fstatSync,
  linkSync,
  openSync,
  readSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { hostname } from "node:os";
import { FormatError } from "../errors.js";
import { tempPathFor } from "./atomic.js";
import { isAlive, OWN_START_TIME } from "./process.js";

/** Who holds an owner file. `token` is random and never reused, so it names one holding. */
export interface Owner {
  pid: number;
  host: string;
  token: string;
  /** ms since epoch when the file was created (informational only). */
  time: number;
  /** Linux process start time (clock ticks since boot), to detect a reused pid; absent elsewhere. */
  start?: number;
}

export function newOwner(): Owner {
  const owner: Owner = {
    pid: process.pid,
    host: hostname(),
    token: randomBytes(12).toString("hex"),
    time: Date.now(),
  };
  if (OWN_START_TIME !== undefined) owner.start = OWN_START_TIME;
  return owner;
}

/**
 * Create `path` holding `owner` as JSON, failing with EEXIST if it exists. The content is written
 * to a temp file first and hard-linked into place, so nobody can ever read a half-written owner
 * file (with plain O_EXCL a reader could see the empty file between create and write). Filesystems
 * without hard links fall back to O_EXCL + write.
 *
 * Synchronous calls (behind an async signature): each takes microseconds, while an async fs call
 * costs two thread hand-offs, which profiling showed to be most of a DataSet writer's CPU on a
 * busy 2-core machine (a lock or claim is several such calls per commit). No fsync: an owner file
 * only matters while its process lives.
 */
export async function createOwnerFile(path: string, owner: Owner): Promise<void> {
  createOwnerFileSync(path, owner);
}

function createOwnerFileSync(path: string, owner: Owner): void {
  const text = `${JSON.stringify(owner)}\n`;
  const tmp = tempPathFor(path);
  writeNew(tmp, text);
  try {
    linkSync(tmp, path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "ENOSYS") {
      throw err;
    }
    writeNew(path, text);
  } finally {
    removeFile(tmp);
  }
}

/** Create a new file (never through a symlink) holding `text`. */
function writeNew(path: string, text: string): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | O_NOFOLLOW);
  try {
    writeFileSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

/** Remove a file; already gone is fine. One unlink() (rm() would stat it twice first). */
export function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
}

/** Owner files are a few hundred bytes; anything much larger is not one of ours. */
const MAX_OWNER_BYTES = 64 * 1024;
const O_NONBLOCK = constants.O_NONBLOCK ?? 0;
const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;

/**
 * The owner recorded in `path`, the file's mtime and inode; null when it does not exist. The file
 * is opened without following a symlink and without blocking (a FIFO planted as a lock must not
 * hang the process), and must be a small regular file: anything else is a FormatError naming it,
 * never a raw EISDIR or a read of /dev/zero.
 */
export async function readOwnerFile(
  path: string,
): Promise<{ owner: Owner | undefined; mtimeMs: number; ino: number; forged?: boolean } | null> {
  // Synchronous, like createOwnerFile (see there): O_NONBLOCK keeps a planted FIFO from blocking.
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | O_NONBLOCK | O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return null;
    if (code === "ELOOP") throw notOwnerFile(path, "a symlink", err);
    throw err;
  }
  try {
    // One descriptor for both, so the content and the stat describe the same file.
    const info = fstatSync(fd);
    if (!info.isFile()) {
      throw notOwnerFile(
        path,
        info.isDirectory() ? "a directory" : info.isFIFO() ? "a FIFO" : "not a regular file",
      );
    }
    if (info.size > MAX_OWNER_BYTES) throw notOwnerFile(path, `${info.size} bytes long`);
    const buffer = Buffer.alloc(info.size);
    const bytesRead = info.size === 0 ? 0 : readSync(fd, buffer, 0, info.size, 0);
    const parsed = parseOwner(buffer.toString("utf8", 0, bytesRead));
    return { ...parsed, mtimeMs: info.mtimeMs, ino: info.ino };
  } finally {
    closeSync(fd);
  }
}

function notOwnerFile(path: string, what: string, cause?: unknown): FormatError {
  return new FormatError(
    `${path} is ${what}, not a lock file persist-archive wrote. If no persist-archive process is ` +
      "running on this folder, remove it by hand.",
    { file: path, cause },
  );
}

/**
 * The owner in an owner file's text. `forged`: it parses, but no writer of ours could have written
 * it (a pid that is not a positive integer: kill(0) or kill(-1) would "find" a live process).
 */
function parseOwner(text: string): { owner: Owner | undefined; forged?: boolean } {
  try {
    const value = JSON.parse(text) as Partial<Owner>;
    if (typeof value !== "object" || value === null) return { owner: undefined, forged: true };
    if (typeof value.pid === "number" && typeof value.host === "string") {
      if (typeof value.token === "string") {
        if (!Number.isSafeInteger(value.pid) || value.pid <= 0 || value.pid > 2 ** 31) {
          return { owner: value as Owner, forged: true };
        }
        return { owner: value as Owner };
      }
    }
    return { owner: undefined, forged: true };
  } catch {
    // unparsable: written by the O_EXCL fallback and not finished yet, or damaged
  }
  return { owner: undefined };
}

/**
 * Whether the holder recorded in an owner file is provably gone. On this host: its pid does not
 * exist (ESRCH), or the pid now belongs to a process started at another time (pid reuse). A live
 * but slow holder (blocked event loop, long withLock) is never judged dead here, whatever the
 * clock says. On another host we cannot see processes, so only a heartbeat older than `staleMs`
 * counts; an unparsable file likewise only by age.
 */
export function isOwnerDead(
  found: { owner: Owner | undefined; mtimeMs: number; forged?: boolean },
  staleMs: number,
): boolean {
  const { owner, mtimeMs } = found;
  if (found.forged) return true;
  if (owner === undefined || owner.host !== hostname()) return Date.now() - mtimeMs > staleMs;
  return !isAlive(owner.pid, owner.start);
}
