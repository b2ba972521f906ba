/**
 * DataSet benchmarks: O(1) inserts, array items, concurrent writers.
 *
 *   node --import tsx bench/dataset.ts            default sizes (< 60 s)
 *   PERSIST_BENCH_FULL=1 node --import tsx bench/dataset.ts   items 10,001–10,100 vs 1–100
 *
 * Baselines are measured in the same run (first 100 inserts; one writer process), except the
 * original Python persist's 227 s for 1,000 array inserts (measured on this machine, DESIGN.md).
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DataSet } from "../src/index.js";

const FULL = process.env.PERSIST_BENCH_FULL === "1";
const PYTHON_PERSIST_1000_ARRAY_INSERTS_S = 227;

const now = () => performance.timeOrigin + performance.now();

async function timeInserts(ds: DataSet, count: number, value: (i: number) => unknown) {
  const start = now();
  for (let i = 0; i < count; i++) await ds.insert(value(i), { info: { i } });
  return (now() - start) / count;
}

/** Per-insert ms for items 1–100 and for items N+1..N+100 of the same DataSet. */
async function insertScaling(dir: string, n: number) {
  const ds = await DataSet.open(join(dir, "scaling"), { mode: "w" });
  const small = (i: number) => ({ i, label: `item ${i}` });
  const first = await timeInserts(ds, 100, small);
  for (let i = 100; i < n; i++) await ds.insert(small(i), { info: { i } });
  const later = await timeInserts(ds, 100, small);
  await ds.close();
  return { first, later };
}

async function arrayInserts(dir: string, count: number) {
  const ds = await DataSet.open(join(dir, "arrays"), { mode: "w" });
  const data = Float64Array.from({ length: 1000 }, (_, i) => Math.sin(i));
  const start = now();
  for (let i = 0; i < count; i++) await ds.insert(data, { info: { i, mean: 0.5, tag: "run" } });
  const seconds = (now() - start) / 1000;
  await ds.close();
  return seconds;
}

/** Inserts per second over the wall time of `writers` processes inserting `each` items. */
async function throughput(dir: string, writers: number, each: number): Promise<number> {
  const path = join(dir, `writers-${writers}`);
  await (await DataSet.open(path, { mode: "w" })).close();
  const self = fileURLToPath(import.meta.url);
  const spans = await Promise.all(
    Array.from({ length: writers }, async () => {
      const child = spawn(
        process.execPath,
        ["--import", "tsx", self, "writer", path, String(each)],
        {
          stdio: ["ignore", "pipe", "inherit"],
        },
      );
      let out = "";
      child.stdout.on("data", (chunk) => {
        out += chunk;
      });
      const [code] = await once(child, "exit");
      if (code !== 0) throw new Error(`bench writer exited ${code}`);
      const [start, end] = out.trim().split(" ").map(Number);
      return { start: start!, end: end! };
    }),
  );
  const wall = Math.max(...spans.map((s) => s.end)) - Math.min(...spans.map((s) => s.start));
  return (writers * each) / (wall / 1000);
}

/** Child process: open, then insert `count` small items, print "<start> <end>" (epoch ms). */
async function writer(path: string, count: number): Promise<void> {
  const ds = await DataSet.open(path, { mode: "w" });
  const start = now();
  for (let i = 0; i < count; i++) await ds.insert({ pid: process.pid, i }, { info: { i } });
  console.log(`${start} ${now()}`);
  await ds.close();
}

export async function run(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "persist-bench-dataset-"));
  try {
    const n = FULL ? 10_000 : 2_000;
    const arrays = FULL ? 1_000 : 300;
    const each = FULL ? 300 : 150;
    // Warm up (JIT, module loading) so that items 1–100 are not charged with start-up costs.
    const warm = await DataSet.open(join(dir, "warmup"), { mode: "w" });
    await timeInserts(warm, 100, (i) => ({ i }));
    const scaling = await insertScaling(dir, n);
    const arraySeconds = await arrayInserts(dir, arrays);
    const one = await throughput(dir, 1, each);
    const four = await throughput(dir, 4, each);
    const arrays1000 = (arraySeconds * 1000) / arrays;
    const rows: [string, string, string, string][] = [
      ["insert, items 1–100 (ms/insert)", scaling.first.toFixed(2), "baseline", ""],
      [
        `insert, items ${n + 1}–${n + 100} (ms/insert)`,
        scaling.later.toFixed(2),
        scaling.first.toFixed(2),
        `${(scaling.later / scaling.first).toFixed(2)}x (target <= 1.5)`,
      ],
      [
        `${arrays} inserts of Float64Array(1000) + info (s)`,
        arraySeconds.toFixed(2),
        "",
        arrays === 1000 ? "" : `~${arrays1000.toFixed(1)} s per 1,000`,
      ],
      [
        "  vs Python persist, 1,000 such inserts (s)",
        arrays1000.toFixed(1),
        String(PYTHON_PERSIST_1000_ARRAY_INSERTS_S),
        `${(PYTHON_PERSIST_1000_ARRAY_INSERTS_S / arrays1000).toFixed(0)}x faster`,
      ],
      [`1 writer process, ${each} inserts (inserts/s)`, one.toFixed(0), "baseline", ""],
      [
        `4 writer processes, ${each} each (inserts/s total)`,
        four.toFixed(0),
        one.toFixed(0),
        `${(four / one).toFixed(2)}x`,
      ],
    ];
    const widths = [0, 1, 2, 3].map((c) => Math.max(...rows.map((r) => r[c]!.length), 8));
    const header = ["DataSet", "value", "baseline", "ratio"];
    console.log(header.map((h, c) => h.padEnd(widths[c]!)).join("  "));
    for (const row of rows) console.log(row.map((cell, c) => cell.padEnd(widths[c]!)).join("  "));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const invokedDirectly =
  process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (invokedDirectly) {
  if (process.argv[2] === "writer") await writer(process.argv[3]!, Number(process.argv[4]));
  else await run();
}
