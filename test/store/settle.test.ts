/** settleAll/inBatches: a failure is reported only after every task of its batch has finished. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { inBatches, settleAll } from "../../src/store/settle.js";

const later = (ms: number, fn: () => void) =>
  new Promise<void>((resolve) =>
    setTimeout(() => {
      fn();
      resolve();
    }, ms),
  );

test("settleAll rejects with the first failure only after the slow tasks have settled", async () => {
  const done: string[] = [];
  await assert.rejects(
    settleAll([
      Promise.reject(new Error("first")),
      later(30, () => done.push("slow")),
      later(10, () => done.push("failing")).then(() => {
        throw new Error("second");
      }),
    ]),
    /first/,
  );
  assert.deepEqual(done.sort(), ["failing", "slow"]);
  assert.deepEqual(await settleAll([Promise.resolve(1), later(5, () => {}).then(() => 2)]), [1, 2]);
});

test("inBatches runs at most `width` at a time and stops after the batch that failed", async () => {
  let running = 0;
  let peak = 0;
  const started: number[] = [];
  await assert.rejects(
    inBatches([0, 1, 2, 3, 4, 5, 6, 7, 8], 3, async (i) => {
      started.push(i);
      running++;
      peak = Math.max(peak, running);
      await later(5 + (i % 3) * 5, () => {});
      running--;
      if (i === 4) throw new Error(`item ${i}`);
    }),
    /item 4/,
  );
  assert.equal(peak, 3);
  assert.equal(running, 0, "every task of the failing batch finished before the rejection");
  assert.deepEqual(started, [0, 1, 2, 3, 4, 5]);
});
