import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { LockTimeoutError } from "../../src/errors.js";
import { acquireLock, holdsLock, takeOver, withFileLock } from "../../src/store/lock.js";
import { tempDir } from "../helpers/tmp.js";
import { runChild, startChild } from "./children.js";

const CHILD = "test/store/fixtures/lock-child.ts";

/** A pid that certainly belonged to a process that has exited. */
function deadPid(): number {
  const result = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]);
  return Number(result.stdout.toString());
}

function fakeOwner(pid: number, token: string): string {
  return JSON.stringify({ pid, host: hostname(), token, time: Date.now() });
}

async function counterRun(dir: string, lock: string, processes: number, n: number) {
  writeFileSync(join(dir, "counter"), "0");
  const outputs = await Promise.all(
    Array.from({ length: processes }, () => runChild(CHILD, [lock, "count", dir, String(n)])),
  );
  for (const lines of outputs) assert.deepEqual(lines, ["DONE"]);
  assert.equal(Number(readFileSync(join(dir, "counter"), "utf8")), processes * n);
}

test("4 processes incrementing under the lock never overlap and lose no update", async () => {
  const dir = await tempDir();
  await counterRun(dir, join(dir, ".lock"), 4, 40);
  assert.equal(existsSync(join(dir, ".lock")), false, "lock released at the end");
});

test("a lock whose holder was SIGKILLed is recovered, even when 4 processes race to take it over", async () => {
  const dir = await tempDir();
  const lock = join(dir, ".lock");
  const holder = startChild(CHILD, [lock, "hold", "60000"]);
  await holder.waitFor(/^ACQUIRED/);
  holder.proc.kill("SIGKILL");
  await holder.exited;
  assert.equal(existsSync(lock), true, "the killed holder left its lock file");
  await counterRun(dir, lock, 4, 15);
  assert.deepEqual(
    readdirSync(dir).filter((f) => f !== "counter"),
    [],
    "no lock, claim or temp files left",
  );
});

test("lock timeout names the lock file, the holder pid and what to do", async () => {
  const dir = await tempDir();
  const lock = join(dir, ".lock");
  const holder = startChild(CHILD, [lock, "hold", "4000"]);
  const pid = Number((await holder.waitFor(/^ACQUIRED/)).split(" ")[1]);
  const started = Date.now();
  await assert.rejects(acquireLock(lock, { timeout: 300 }), (err: unknown) => {
    assert.ok(err instanceof LockTimeoutError);
    assert.equal(err.file, lock);
    assert.match(err.message, new RegExp(`process ${pid} on host`));
    assert.ok(err.message.includes(lock));
    assert.match(err.message, /timeout/);
    return true;
  });
  assert.ok(Date.now() - started >= 290, "waited for the timeout");
  holder.proc.kill("SIGKILL");
  await holder.exited;
});

test("a live holder with a blocked event loop is never stolen, even with a tiny stale threshold", async () => {
  const dir = await tempDir();
  const lock = join(dir, ".lock");
  // Blocked until the test says so (however slow child start-up is on a loaded machine).
  const release = join(dir, "release");
  const holder = startChild(CHILD, [lock, "block", "60000", release]);
  await holder.waitFor(/^ACQUIRED/);
  // staleMs 20: a clock-based scheme would take over a lock whose heartbeat stopped long ago.
  const impatient = await runChild(CHILD, [lock, "try", "1200", "20"]);
  assert.match(impatient[0]!, /^TIMEOUT /);
  const patient = startChild(CHILD, [lock, "try", "20000", "20"]);
  await sleep(1500);
  writeFileSync(release, "");
  const acquiredAt = Number((await patient.waitFor(/^ACQUIRED/)).split(" ")[1]);
  const releasedAt = Number((await holder.waitFor(/^RELEASED/)).split(" ")[1]);
  assert.equal((await holder.exited).code, 0);
  assert.equal((await patient.exited).code, 0);
  assert.ok(acquiredAt >= releasedAt, "acquired only after the slow holder released");
});

test("withFileLock is re-entrant inside fn and excludes concurrent callers of the same process", async () => {
  const dir = await tempDir();
  const lock = join(dir, ".lock");
  const events: string[] = [];
  const first = withFileLock(lock, {}, async () => {
    events.push("first in");
    assert.equal(holdsLock(lock), true);
    // nested: must not wait for itself
    await withFileLock(lock, { timeout: 200 }, async () => events.push("nested"));
    await sleep(100);
    events.push("first out");
  });
  await sleep(20);
  assert.equal(holdsLock(lock), false, "outside fn the lock is not held by this context");
  const second = withFileLock(lock, {}, async () => events.push("second"));
  await Promise.all([first, second]);
  assert.deepEqual(events, ["first in", "nested", "first out", "second"]);
  assert.equal(existsSync(lock), false);
});

test("withFileLock releases the lock when fn throws", async () => {
  const dir = await tempDir();
  const lock = join(dir, ".lock");
  await assert.rejects(
    withFileLock(lock, {}, async () => {
      throw new Error("boom");
    }),
    /boom/,
  );
  assert.equal(existsSync(lock), false);
  await withFileLock(lock, { timeout: 100 }, async () => {});
});

test("a takeover claim left by a dead claimant does not block recovery and is cleaned up", async () => {
  const dir = await tempDir();
  const lock = join(dir, ".lock");
  writeFileSync(lock, fakeOwner(deadPid(), "stale1"));
  writeFileSync(`${lock}.takeover.stale1`, fakeOwner(deadPid(), "claim1"));
  const held = await acquireLock(lock, { timeout: 2000 });
  assert.equal(JSON.parse(readFileSync(lock, "utf8")).token, held.owner.token);
  await held.release();
  assert.deepEqual(readdirSync(dir), []);
});

test("a late takeover of an old stale holding never removes the new live lock (ABA)", async () => {
  const dir = await tempDir();
  const lock = join(dir, ".lock");
  writeFileSync(lock, fakeOwner(deadPid(), "old"));
  const held = await acquireLock(lock, { timeout: 2000 }); // takes over "old"
  // Another process that judged "old" stale before we took over now acts on it late:
  await takeOver(lock, "old", 300_000);
  assert.equal(JSON.parse(readFileSync(lock, "utf8")).token, held.owner.token, "still ours");
  // and a live claimant on the same stale holding makes others back off instead of racing
  writeFileSync(`${lock}.takeover.other`, fakeOwner(process.pid, "live-claim"));
  await takeOver(lock, "other", 300_000);
  assert.ok(existsSync(`${lock}.takeover.other`), "a live claim is left alone");
  await held.release();
});

test("an unreadable lock file on this host is only taken over once older than staleMs", async () => {
  const dir = await tempDir();
  const lock = join(dir, ".lock");
  writeFileSync(lock, "");
  await assert.rejects(acquireLock(lock, { timeout: 150, staleMs: 60_000 }), LockTimeoutError);
  await sleep(60);
  const held = await acquireLock(lock, { timeout: 2000, staleMs: 50 });
  await held.release();
  assert.equal(existsSync(lock), false);
});

test("an operation started inside withFileLock but running after it ended takes the lock anew", async () => {
  const dir = await tempDir();
  const lock = join(dir, ".lock");
  let late: Promise<boolean> | undefined;
  await withFileLock(lock, {}, async () => {
    late = (async () => {
      await sleep(50);
      return withFileLock(lock, {}, async () => holdsLock(lock) && existsSync(lock));
    })();
  });
  assert.equal(await late, true, "it held a real lock file, not the ended holding");
  assert.equal(existsSync(lock), false);
});
