/** Timing helpers for the benches: best of N runs, printed as a small table. */
import { performance } from "node:perf_hooks";

/** Best wall time in ms of `runs` calls (after one warm-up call). */
export async function best(fn: () => unknown, runs = 5): Promise<number> {
  await fn();
  let min = Number.POSITIVE_INFINITY;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    min = Math.min(min, performance.now() - t0);
  }
  return min;
}

export function printTable(title: string, rows: [label: string, ms: number, note: string][]): void {
  console.log(`\n${title}`);
  for (const [label, ms, note] of rows) {
    console.log(`  ${label.padEnd(28)} ${ms.toFixed(1).padStart(10)} ms   ${note}`);
  }
}
