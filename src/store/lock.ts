/**
 * A cross-process write lock that survives crashes and is never stolen from a live holder.
 *
 * The lock is an owner file (pid, host, random token, time) created atomically and exclusively
 * (see owner.ts); its mtime is refreshed while held. It is taken over only when its holder is
 * provably dead: on this host the pid is gone (or reused), on another host the heartbeat is older
 * than `staleMs`. A blocked event loop therefore never loses a lock on the same host.
 *
 * Takeover is ABA-safe. proper-lockfile's stat → rmdir → mkdir is not: two processes can both
 * judge the same old lock stale, one removes it and takes a fresh lock, and the other then removes
 * that fresh, live lock. Here removing a stale lock with token T requires first winning an
 * exclusive claim file named after T (`<lock>.takeover.<T>`), then re-reading the lock under the
 * claim and unlinking it only if it still carries T. Tokens are never reused, so once T is gone it
 * never comes back, and at most one live claimant can act on T at a time. If a claimant dies
 * holding its claim, the next one claims `<claim>.<its token>` instead of deleting it (deleting it
 * would reopen the same race one level up). Node has no flock(), hence this hand-written scheme.
 *
 * Re-entrant per process: operations run inside `withFileLock(path, …, fn)` reuse the held lock
 * (tracked with AsyncLocalStorage, so only code causally inside `fn` reuses it; concurrent code in
 * the same process waits like any other process).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { type FileHandle, open, rm } from "node:fs/promises";
import { resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { LockTimeoutError } from "../errors.js";
import {
  createOwnerFile,
  isOwnerDead,
  newOwner,
  type Owner,
  readOwnerFile,
  removeFile,
} from "./owner.js";

export interface LockOptions {
  /** ms to wait for the lock before LockTimeoutError. Default 60000. */
  timeout?: number;
  /** Other-host holders whose heartbeat is older than this (ms) count as dead. Default 300000. */
  staleMs?: number;
  /** How often a holder refreshes its heartbeat (ms). Default 10000. */
  heartbeatMs?: number;
}

/** A lock this process holds. */
export interface HeldLock {
  readonly path: string;
  readonly owner: Owner;
  release(): Promise<void>;
}

const DEFAULT_TIMEOUT = 60_000;
const DEFAULT_STALE_MS = 300_000;
const DEFAULT_HEARTBEAT_MS = 10_000;
const MAX_POLL_MS = 10;

function isEexist(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === "EEXIST";
}

/** Identity of one holding of an owner file: its token, or the inode when it has no readable one. */
function holdingId(found: { owner: Owner | undefined; ino: number }): string {
  // The token becomes part of a claim file's name: only ever our own hex tokens (a forged one
  // such as "../x" must not name a path outside the folder).
  const token = found.owner?.token;
  return typeof token === "string" && /^[A-Za-z0-9_-]{1,64}$/.test(token)
    ? token
    : `ino${found.ino}`;
}

/** Wait for and take the lock at `path`. Throws LockTimeoutError after `timeout` ms. */
export async function acquireLock(path: string, options: LockOptions = {}): Promise<HeldLock> {
  const timeout = options.timeout ?? DEFAULT_TIMEOUT;
  const staleMs = options.staleMs ?? DEFAULT_STALE_MS;
  const deadline = Date.now() + timeout;
  const owner = newOwner();
  let delay = 1;
  for (;;) {
    // Look before trying: a failed attempt costs a temp file, a link and a removal.
    const found = await readOwnerFile(path);
    if (found === null) {
      try {
        await createOwnerFile(path, owner);
        return await startHolding(path, owner, options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS);
      } catch (err) {
        if (!isEexist(err)) throw err;
        continue; // someone else was faster: look at their lock
      }
    }
    if (isOwnerDead(found, staleMs)) {
      await takeOver(path, holdingId(found), staleMs);
      continue;
    }
    const left = deadline - Date.now();
    if (left <= 0) throw lockTimeout(path, found.owner, timeout);
    await sleep(Math.min(left, delay * (0.5 + Math.random())));
    delay = Math.min(delay * 2, MAX_POLL_MS);
  }
}

function lockTimeout(path: string, holder: Owner | undefined, timeout: number): LockTimeoutError {
  const who =
    holder === undefined
      ? "an unknown process (the lock file is unreadable)"
      : `process ${holder.pid} on host ${holder.host} (holding since ${new Date(holder.time).toISOString()})`;
  return new LockTimeoutError(
    `Could not get the write lock ${path} within ${timeout} ms: it is held by ${who}. ` +
      "Wait for that process to finish or pass a larger `timeout`; a lock whose holder has died " +
      "is recovered automatically (on another host only after its heartbeat is stale), so delete " +
      "the file by hand only if you are sure that process is gone.",
    { file: path },
  );
}

/**
 * Remove the lock at `path` if it is still the holding `staleId`, serialized through claim files
 * (see the module comment). Returns when done or when another live claimant is on it. Exported
 * for tests.
 */
export async function takeOver(path: string, staleId: string, staleMs: number): Promise<void> {
  const me = newOwner();
  const deadClaims: { path: string; id: string }[] = [];
  let claim = `${path}.takeover.${staleId}`;
  for (;;) {
    try {
      await createOwnerFile(claim, me);
      break;
    } catch (err) {
      if (!isEexist(err)) throw err;
    }
    const found = await readOwnerFile(claim);
    if (found === null) continue; // its claimant finished and removed it: claim again
    if (!isOwnerDead(found, staleMs)) return; // a live process is taking over: let it
    deadClaims.push({ path: claim, id: holdingId(found) });
    claim = `${claim}.${holdingId(found)}`;
  }
  try {
    const current = await readOwnerFile(path);
    if (current !== null && holdingId(current) === staleId) await rm(path, { force: true });
  } finally {
    // The stale holding is gone for good now, so leftover claims on it are garbage.
    for (const dead of deadClaims) {
      const found = await readOwnerFile(dead.path);
      if (found !== null && holdingId(found) === dead.id) await rm(dead.path, { force: true });
    }
    await rm(claim, { force: true });
  }
}

async function startHolding(path: string, owner: Owner, heartbeatMs: number): Promise<HeldLock> {
  // The heartbeat's handle is opened at the first beat, not now: most holdings (one commit) end
  // long before it, and every fs call on the commit path counts (see owner.ts).
  let handle: Promise<FileHandle | undefined> | undefined;
  const timer = setInterval(() => {
    handle ??= open(path, "r").catch(() => undefined);
    const now = new Date();
    // Could not open for heartbeats (unusual): holders on this host are judged by pid anyway.
    void handle.then((h) => h?.utimes(now, now)).catch(() => {});
  }, heartbeatMs);
  timer.unref();
  let released = false;
  return {
    path,
    owner,
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      await (await handle)?.close();
      // Only ever remove our own holding (nobody takes over a live lock, but be certain).
      const found = await readOwnerFile(path);
      if (found?.owner?.token === owner.token) removeFile(path);
    },
  };
}

/** Locks held by the current async context; `active` turns false when the holding ends. */
const heldInContext = new AsyncLocalStorage<ReadonlyMap<string, { active: boolean }>>();

/** True when the current async context holds the lock at `path` (inside withFileLock's fn). */
export function holdsLock(path: string): boolean {
  return heldInContext.getStore()?.get(resolve(path))?.active ?? false;
}

/**
 * Run `fn` holding the lock at `path`, then release it (also on error). Re-entrant: a call made
 * inside `fn` for the same path runs immediately under the lock already held. (A call started
 * inside `fn` but still running after `fn` settled takes the lock anew: the holding has ended.)
 */
export async function withFileLock<T>(
  path: string,
  options: LockOptions,
  fn: () => Promise<T>,
): Promise<T> {
  const key = resolve(path);
  const held = heldInContext.getStore();
  if (held?.get(key)?.active) return fn();
  const lock = await acquireLock(key, options);
  const holding = { active: true };
  try {
    return await heldInContext.run(new Map([...(held ?? []), [key, holding]]), fn);
  } finally {
    holding.active = false;
    await lock.release();
  }
}
