/**
 * DataSet benchmarks: O(1) inserts, array items, concurrent writers.
 *
 *   node --import tsx bench/dataset.ts            default sizes (< 60 s)
 *   PERSIST_BENCH_FULL=1 node --import tsx bench/dataset.ts   items 10,001–10,100 vs 1–100
 *   PERSIST_BENCH_DATASET=insertMany npm run bench dataset    only the insertMany rows, 5 rounds
 *   PERSIST_BENCH_DATASET=writers npm run bench dataset       only the 1-vs-4 writer rows
 *
 * Baselines are measured in the same run (first 100 inserts; one writer process), except the
 * original Python persist's 227 s for 1,000 array inserts (measured on this machine, DESIGN.md).
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import {
  closeSync,
  fdatasyncSync,
  fsync,
  fsyncSync,
  mkdirSync,
  openSync,
  writeSync,
} from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { DataSet } from "../src/index.js";

const fsyncAsync = promisify(fsync);

const FULL = process.env.PERSIST_BENCH_FULL === "1";
/**
 * "insertMany": only that row (median of 5 rounds, each on a fresh DataSet); "writers": only the
 * 1-vs-4 writer rows, with the same file operations done by hand beside them (5 rounds).
 */
const ONLY = process.env.PERSIST_BENCH_DATASET;
const PYTHON_PERSIST_1000_ARRAY_INSERTS_S = 227;

const now = () => performance.timeOrigin + performance.now();

async function timeInserts(ds: DataSet, count: number, value: (i: number) => unknown) {
  const start = now();
  for (let i = 0; i < count; i++) await ds.insert(value(i), { info: { i } });
  return (now() - start) / count;
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/**
 * Median ms per insert for items 1–100 (a fresh DataSet) and for items n+1..n+100 (a DataSet
 * already holding n items). The two are measured interleaved, 10 inserts at a time, so that load
 * from other processes on the machine affects both alike.
 */
async function insertScaling(dir: string, n: number) {
  const big = await DataSet.open(join(dir, "scaling"), { mode: "w" });
  const small = (i: number) => ({ i, label: `item ${i}` });
  for (let i = 0; i < n; i++) await big.insert(small(i), { info: { i } });
  const fresh = await DataSet.open(join(dir, "baseline"), { mode: "w" });
  const first: number[] = [];
  const later: number[] = [];
  for (let round = 0; round < 10; round++) {
    for (const [ds, samples] of [
      [fresh, first],
      [big, later],
    ] as const) {
      for (let i = 0; i < 10; i++) {
        const start = now();
        await ds.insert(small(i), { info: { i } });
        samples.push(now() - start);
      }
    }
  }
  await big.close();
  await fresh.close();
  return { first: median(first), later: median(later) };
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

/**
 * Latencies (ms) of every insert and the total throughput of `writers` processes, each running
 * `role`: "writer" (DataSet inserts) or "raw-writer" (the same file operations by hand).
 */
async function throughput(
  dir: string,
  writers: number,
  each: number,
  round = 0,
  role: "writer" | "raw-writer" = "writer",
): Promise<{ perSecond: number; p50: number; p99: number }> {
  const path = join(dir, `${role}s-${writers}-${round}`);
  await (await DataSet.open(path, { mode: "w" })).close();
  const self = fileURLToPath(import.meta.url);
  const runs = await Promise.all(
    Array.from({ length: writers }, async () => {
      const child = spawn(process.execPath, ["--import", "tsx", self, role, path, String(each)], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      let out = "";
      child.stdout.on("data", (chunk) => {
        out += chunk;
      });
      const [code] = await once(child, "exit");
      if (code !== 0) throw new Error(`bench writer exited ${code}`);
      return JSON.parse(out) as { start: number; end: number; latencies: number[] };
    }),
  );
  const wall = Math.max(...runs.map((s) => s.end)) - Math.min(...runs.map((s) => s.start));
  const latencies = runs.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  return { perSecond: (writers * each) / (wall / 1000), p50: at(0.5), p99: at(0.99) };
}

/**
 * 1 writer and 4 writers, `rounds` times each, alternating (1, 4, 1, 4, ...) so that load from
 * other processes on the machine affects both alike. Each figure is the median over the rounds;
 * `ratios` lists every round's 4-writer/1-writer throughput ratio, to show the spread.
 */
async function writerScaling(dir: string, each: number, rounds: number) {
  const ones: Awaited<ReturnType<typeof throughput>>[] = [];
  const fours: Awaited<ReturnType<typeof throughput>>[] = [];
  const rawOnes: Awaited<ReturnType<typeof throughput>>[] = [];
  const rawFours: Awaited<ReturnType<typeof throughput>>[] = [];
  for (let round = 0; round < rounds; round++) {
    ones.push(await throughput(dir, 1, each, round));
    fours.push(await throughput(dir, 4, each, round));
    rawOnes.push(await throughput(dir, 1, each, round, "raw-writer"));
    rawFours.push(await throughput(dir, 4, each, round, "raw-writer"));
  }
  const medianOf = (runs: typeof ones) => ({
    perSecond: median(runs.map((r) => r.perSecond)),
    p50: median(runs.map((r) => r.p50)),
    p99: median(runs.map((r) => r.p99)),
  });
  const ratios = ones.map((one, i) => (fours[i]!.perSecond / one.perSecond).toFixed(2)).join(" ");
  const rawRatios = rawOnes
    .map((one, i) => (rawFours[i]!.perSecond / one.perSecond).toFixed(2))
    .join(" ");
  return {
    one: medianOf(ones),
    four: medianOf(fours),
    ratios,
    rawOne: medianOf(rawOnes),
    rawFour: medianOf(rawFours),
    rawRatios,
  };
}

/** 1 MB of float64 per item, as in issue 12. */
const MEGABYTE_ITEM = (i: number) => ({ i, data: new Float64Array(131072).fill(i) });

/** Child process: open, insert `count` items with a 1 MB array, print start, end and latencies. */
async function writer(path: string, count: number): Promise<void> {
  const ds = await DataSet.open(path, { mode: "w" });
  await ds.insert(MEGABYTE_ITEM(-1)); // warm-up, not counted
  const latencies: number[] = [];
  const start = now();
  for (let i = 0; i < count; i++) {
    const t = now();
    await ds.insert(MEGABYTE_ITEM(i), { info: { i, pid: process.pid } });
    latencies.push(now() - t);
  }
  console.log(JSON.stringify({ start, end: now(), latencies }));
  await ds.close();
}

/**
 * Child process, the disk's ceiling: the file operations of `count` such inserts done by hand,
 * with no DataSet, no archive rendering and no lock: per insert a data folder, a 1 MB npy file, a
 * module and its declarations (each written and fsynced), the two folders fsynced, and a line
 * appended to a shared journal and fdatasynced. If 4 of these do not beat 1, neither can inserts.
 */
function rawWriter(path: string, count: number): void {
  const data = Buffer.alloc(128 + (1 << 20), 7);
  const text = Buffer.alloc(600, 65);
  const tag = `raw${process.pid}`;
  const writeSynced = (file: string, bytes: Buffer) => {
    const fd = openSync(file, "wx");
    try {
      writeSync(fd, bytes);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  };
  const syncFolder = (folder: string) => {
    const fd = openSync(folder, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  };
  const latencies: number[] = [];
  const start = now();
  for (let i = 0; i < count; i++) {
    const t = now();
    const folder = join(path, `${tag}_${i}_arrays`);
    mkdirSync(folder);
    writeSynced(join(folder, "data.npy"), data);
    writeSynced(join(path, `${tag}_${i}.mjs`), text);
    writeSynced(join(path, `${tag}_${i}.d.mts`), text);
    syncFolder(folder);
    syncFolder(path);
    const journal = openSync(join(path, "raw.journal"), "a");
    try {
      writeSync(journal, `${tag} ${i}\n`);
      fdatasyncSync(journal);
    } finally {
      closeSync(journal);
    }
    latencies.push(now() - t);
  }
  console.log(JSON.stringify({ start, end: now(), latencies }));
}

/**
 * The disk's pace for insertMany's files, by hand (s): per item a data folder, an 8 KB npy file, a
 * module and its declarations, created and written, then every file and folder fsynced, 8 at a
 * time (as stage.ts does), then one journal line appended and fdatasynced. No rendering, no
 * claims, no lock. On a file system whose inode allocation is slow (see docs/dataset-format.md,
 * "Speed") this is slow too, and the ratio to it says how much is ours.
 */
async function rawBatch(dir: string, count: number, name = "raw-batch"): Promise<number> {
  const path = join(dir, name);
  mkdirSync(path);
  const data = Buffer.alloc(128 + 8000, 7);
  const text = Buffer.alloc(300, 65);
  const start = now();
  const files: number[] = [];
  const folders: string[] = [path];
  const create = (file: string, bytes: Buffer) => {
    const fd = openSync(file, "wx");
    writeSync(fd, bytes);
    files.push(fd);
  };
  for (let i = 0; i < count; i++) {
    const folder = join(path, `x_${i}_arrays`);
    mkdirSync(folder);
    folders.push(folder);
    create(join(folder, "data.npy"), data);
    create(join(path, `x_${i}.d.mts`), text);
    create(join(path, `x_${i}.mjs`), text);
  }
  for (const folder of folders) files.push(openSync(folder, "r"));
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < files.length) {
        const fd = files[next++]!;
        await fsyncAsync(fd);
        closeSync(fd);
      }
    }),
  );
  const journal = openSync(join(path, "raw.journal"), "a");
  writeSync(journal, "x".repeat(100 * count));
  fdatasyncSync(journal);
  closeSync(journal);
  return (now() - start) / 1000;
}

/** insertMany of `count` Float64Array(1000) items with infos: one commit (s). */
async function batchInsert(dir: string, count: number, name = "batch"): Promise<number> {
  const ds = await DataSet.open(join(dir, name), { mode: "w" });
  await ds.insertMany([new Float64Array(1000)], { infos: [{ warm: true }] });
  const data = Float64Array.from({ length: 1000 }, (_, i) => Math.sin(i));
  const values = Array.from({ length: count }, () => data);
  const infos = Array.from({ length: count }, (_, i) => ({ i, mean: 0.5, tag: "run" }));
  const start = now();
  await ds.insertMany(values, { infos });
  const seconds = (now() - start) / 1000;
  await ds.close();
  return seconds;
}

/**
 * ds.infos() of `count` items in one call, against JSON.parse of the same infos as one JSON text
 * (what reading them can at best cost). Cold: a freshly opened handle (reads the whole journal);
 * warm: the handle has read it before (reads only what was appended).
 */
async function infosAtScale(dir: string, count: number) {
  const path = join(dir, "infos");
  const ds = await DataSet.open(path, { mode: "w", arrayThreshold: 10 });
  const infos = Array.from({ length: count }, (_, i) => ({
    omega: i / 7,
    gamma: 0.1,
    worker: i % 8,
    tag: `run-${i}`,
    converged: i % 3 === 0,
  }));
  for (let at = 0; at < count; at += 1000) {
    const slice = infos.slice(at, at + 1000);
    await ds.insertMany(
      slice.map((_, k) => at + k),
      { infos: slice },
    );
  }
  const text = JSON.stringify(Object.fromEntries((await ds.keys()).map((k, i) => [k, infos[i]])));
  const parse: number[] = [];
  const cold: number[] = [];
  const warm: number[] = [];
  for (let round = 0; round < 7; round++) {
    let t = now();
    JSON.parse(text);
    parse.push(now() - t);
    const fresh = await DataSet.open(path);
    t = now();
    await fresh.infos();
    cold.push(now() - t);
    t = now();
    await fresh.infos();
    warm.push(now() - t);
  }
  return { parse: median(parse), cold: median(cold), warm: median(warm), bytes: text.length };
}

/** The insertMany row alone: every round on a fresh DataSet, the rounds' files kept until the end. */
async function insertManyOnly(dir: string, rounds: number): Promise<void> {
  const samples: number[] = [];
  const raw: number[] = [];
  for (let round = 0; round < rounds; round++) {
    samples.push(await batchInsert(dir, 1000, `batch-${round}`));
    raw.push(await rawBatch(dir, 1000, `raw-batch-${round}`));
  }
  const seconds = median(samples);
  console.log(
    `insertMany, 1,000 Float64Array(1000) + info, one call (s): median ${seconds.toFixed(2)} of ${rounds} rounds ` +
      `(${samples.map((s) => s.toFixed(2)).join(" ")}); Python persist ${PYTHON_PERSIST_1000_ARRAY_INSERTS_S} s: ` +
      `${(PYTHON_PERSIST_1000_ARRAY_INSERTS_S / seconds).toFixed(0)}x faster (target >= 200x)`,
  );
  console.log(
    `  the same files by hand (s): median ${median(raw).toFixed(2)} (${raw.map((s) => s.toFixed(2)).join(" ")}); ` +
      `insertMany takes ${(seconds / median(raw)).toFixed(2)}x the disk's pace`,
  );
}

/** The writer rows alone: DataSet inserts and the same file operations by hand, 1 and 4 processes. */
async function writersOnly(dir: string, each: number, rounds: number): Promise<void> {
  const r = await writerScaling(dir, each, rounds);
  const line = (what: string, one: typeof r.one, four: typeof r.one, ratios: string) =>
    console.log(
      `${what}: 1 process ${one.perSecond.toFixed(1)}/s (p50 ${one.p50.toFixed(1)} ms, p99 ${one.p99.toFixed(1)} ms), ` +
        `4 processes ${four.perSecond.toFixed(1)}/s (p50 ${four.p50.toFixed(1)} ms, p99 ${four.p99.toFixed(1)} ms): ` +
        `${(four.perSecond / one.perSecond).toFixed(2)}x (rounds ${ratios})`,
    );
  console.log(
    `median of ${rounds} interleaved rounds, ${each} inserts of a 1 MB array per process`,
  );
  line("DataSet inserts", r.one, r.four, r.ratios);
  line("same file operations by hand (the disk's ceiling)", r.rawOne, r.rawFour, r.rawRatios);
}

export async function run(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "persist-bench-dataset-"));
  try {
    if (ONLY === "insertMany") return await insertManyOnly(dir, 5);
    if (ONLY === "writers") return await writersOnly(dir, 40, 5);
    if (ONLY !== undefined)
      throw new Error(`PERSIST_BENCH_DATASET: "insertMany" or "writers", not ${ONLY}`);
    const n = FULL ? 10_000 : 2_000;
    const arrays = FULL ? 1_000 : 300;
    const each = FULL ? 100 : 40;
    // Warm up (JIT, module loading) so that items 1–100 are not charged with start-up costs.
    const warm = await DataSet.open(join(dir, "warmup"), { mode: "w" });
    await timeInserts(warm, 100, (i) => ({ i }));
    const scaling = await insertScaling(dir, n);
    const arraySeconds = await arrayInserts(dir, arrays);
    const batchSeconds = await batchInsert(dir, 1000);
    const rawBatchSeconds = await rawBatch(dir, 1000);
    const { one, four, ratios, rawOne, rawFour, rawRatios } = await writerScaling(
      dir,
      each,
      FULL ? 5 : 3,
    );
    const infos = await infosAtScale(dir, 10_000);
    const arrays1000 = (arraySeconds * 1000) / arrays;
    const rows: [string, string, string, string][] = [
      ["insert, items 1–100 (median ms/insert)", scaling.first.toFixed(2), "baseline", ""],
      [
        `insert, items ${n + 1}–${n + 100} (median ms/insert)`,
        scaling.later.toFixed(2),
        scaling.first.toFixed(2),
        `${(scaling.later / scaling.first).toFixed(2)}x (target <= 1.5)`,
      ],
      [
        `${arrays} single inserts of Float64Array(1000) + info (s)`,
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
      [
        "insertMany, 1,000 Float64Array(1000) + info, one call (s)",
        batchSeconds.toFixed(2),
        String(PYTHON_PERSIST_1000_ARRAY_INSERTS_S),
        `${(PYTHON_PERSIST_1000_ARRAY_INSERTS_S / batchSeconds).toFixed(0)}x faster (target >= 200x)`,
      ],
      [
        "  the same files written and fsynced by hand (s)",
        rawBatchSeconds.toFixed(2),
        "",
        `the disk's pace: insertMany takes ${(batchSeconds / rawBatchSeconds).toFixed(2)}x it`,
      ],
      [
        `1 writer process, ${each} inserts of a 1 MB array (inserts/s)`,
        one.perSecond.toFixed(1),
        "baseline",
        `latency p50 ${one.p50.toFixed(1)} ms, p99 ${one.p99.toFixed(1)} ms`,
      ],
      [
        `4 writer processes, ${each} each (inserts/s total)`,
        four.perSecond.toFixed(1),
        one.perSecond.toFixed(1),
        `${(four.perSecond / one.perSecond).toFixed(2)}x (target >= 1.6; per round ${ratios}); latency p50 ${four.p50.toFixed(1)} ms, p99 ${four.p99.toFixed(1)} ms`,
      ],
      [
        "  the same file operations by hand, 1 process (inserts/s)",
        rawOne.perSecond.toFixed(1),
        "",
        `no DataSet, no lock: the disk's pace; latency p50 ${rawOne.p50.toFixed(1)} ms`,
      ],
      [
        "  the same by hand, 4 processes (inserts/s total)",
        rawFour.perSecond.toFixed(1),
        rawOne.perSecond.toFixed(1),
        `${(rawFour.perSecond / rawOne.perSecond).toFixed(2)}x: the ceiling for 4 writers here (per round ${rawRatios})`,
      ],
      [
        `ds.infos() of 10,000 items, fresh handle (ms)`,
        infos.cold.toFixed(1),
        infos.parse.toFixed(1),
        `${(infos.cold / infos.parse).toFixed(2)}x JSON.parse of the same ${(infos.bytes / 1e6).toFixed(1)} MB (target <= 3)`,
      ],
      [
        `ds.infos() of 10,000 items, handle read before (ms)`,
        infos.warm.toFixed(1),
        infos.parse.toFixed(1),
        `${(infos.warm / infos.parse).toFixed(2)}x JSON.parse`,
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
  else if (process.argv[2] === "raw-writer") rawWriter(process.argv[3]!, Number(process.argv[4]));
  else await run();
}
