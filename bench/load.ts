/**
 * Safe load() speed and memory.
 *
 * 1. The three object-graph shapes of issue 11 (bench/shapes.ts): safe load() of the saved archive
 *    vs JSON.parse of the same data (with and without reading the JSON file) and vs native
 *    import() of the module. Rounds are interleaved and medians reported, because the machine
 *    may be shared; the ratios are what to read.
 * 2. Big archives of nested literals and of escaped strings, each in a fresh child process (no
 *    warm module cache, no shared heap), timing only the load call and reading peak RSS (VmHWM)
 *    against the RSS before the load. Size: PERSIST_BENCH_LOAD_MB (default 50).
 */
import { spawnSync } from "node:child_process";
import { createWriteStream, readFileSync } from "node:fs";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

import { Archive } from "../src/index.js";
import { load } from "../src/load/index.js";
import { SHAPES } from "./shapes.js";

const HERE = fileURLToPath(import.meta.url);

/** Deterministic pseudo-random numbers (xorshift), so every run writes the same archive. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

type Shape = "records" | "numbers" | "escapes";

/**
 * Writes an archive of nested literals of about `mb` megabytes; returns its path. "records" are
 * small objects with strings, numbers and nested arrays (their JS values take ~6x the text);
 * "numbers" are nested arrays of decimals (values about as big as the text).
 */
async function writeArchive(dir: string, mb: number, shape: Shape): Promise<string> {
  const file = join(dir, `${shape}.mjs`);
  const out = createWriteStream(file);
  const rand = rng(42);
  const target = mb * 1024 * 1024;
  let written = 0;
  const write = (s: string) => {
    written += s.length;
    return out.write(s)
      ? Promise.resolve()
      : new Promise<void>((r) => out.once("drain", () => r()));
  };
  await write("// persist-archive archive, format 1.\nexport const data = [\n");
  for (let i = 0; written < target; i++) {
    if (shape === "escapes") {
      // Strings written mostly as escapes (the 95 MiB of `\x41` in issue 8 reached 950 MB RSS).
      const unit = i % 2 === 0 ? "\\x41" : 'ab\\n\\x41\\u00e9\\"cd\\t';
      await write(`  "${unit.repeat(Math.ceil(1000 / unit.length))}",\n`);
      continue;
    }
    if (shape === "numbers") {
      const row = (n: number) =>
        Array.from({ length: n }, () => (rand() * 1000).toFixed(3)).join(", ");
      await write(`  [[${row(16)}], [${row(16)}], [${row(16)}, [${row(8)}]]],\n`);
      continue;
    }
    const values = Array.from({ length: 8 }, () => (rand() * 1000).toFixed(3)).join(", ");
    const ints = Array.from({ length: 6 }, () => Math.floor(rand() * 100000)).join(", ");
    const item =
      `  { id: ${i}, name: "item_${i}", ok: ${rand() < 0.5}, values: [${values}], ints: [${ints}], ` +
      `tags: ["alpha", "beta-${i % 7}"], meta: { score: ${rand().toExponential(6)}, note: null, ` +
      `nested: { depth: [1, [2, [3, { leaf: "x\\ty" }]]], "quoted-key": -${i} } } },\n`;
    await write(item);
  }
  await write("];\n");
  await new Promise<void>((resolve, reject) =>
    out.end((err?: Error | null) => (err ? reject(err) : resolve())),
  );
  return file;
}

interface ChildResult {
  ms: number;
  rssBeforeMB: number;
  peakRssMB: number;
  heapBeforeMB: number;
  heapAfterMB: number;
}

function measure(mode: "safe" | "native", file: string): ChildResult {
  const args =
    mode === "safe" ? ["--expose-gc", "--import", "tsx", HERE, "--child", mode, file] : [];
  const nativeScript =
    "const file = process.argv[1];" +
    "globalThis.gc(); const before = process.memoryUsage().rss; const heapBefore = process.memoryUsage().heapUsed;" +
    "const t = performance.now();" +
    "const ns = await import(new URL('file://' + file).href);" +
    "const ms = performance.now() - t;" +
    "const keep = ns.data.length; globalThis.gc();" +
    "const hwm = /VmHWM:\\s+(\\d+)/.exec((await import('node:fs')).readFileSync('/proc/self/status', 'utf8'));" +
    "console.log(JSON.stringify({ ms, rssBeforeMB: before / 2**20, peakRssMB: hwm ? Number(hwm[1]) / 1024 : process.resourceUsage().maxRSS / 1024, heapBeforeMB: heapBefore / 2**20, heapAfterMB: process.memoryUsage().heapUsed / 2**20, keep }));";
  const res =
    mode === "safe"
      ? spawnSync(process.execPath, args, { encoding: "utf8", maxBuffer: 1 << 20 })
      : spawnSync(
          process.execPath,
          ["--expose-gc", "--input-type=module", "-e", nativeScript, file],
          {
            encoding: "utf8",
            maxBuffer: 1 << 20,
          },
        );
  if (res.status !== 0) throw new Error(`${mode} child failed: ${res.stderr}`);
  return JSON.parse(res.stdout.trim().split("\n").pop()!) as ChildResult;
}

/**
 * This process's own peak RSS. VmHWM, not getrusage's maxrss: on Linux maxrss carries the parent's
 * high-water mark over fork+exec, so a child spawned by a big bench process would report it.
 */
function peakRssMB(): number {
  try {
    const hwm = /VmHWM:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"));
    if (hwm) return Number(hwm[1]) / 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS / 1024;
}

async function child(file: string): Promise<void> {
  const { load } = await import(pathToFileURL(join(HERE, "../../src/load/index.ts")).href);
  (globalThis as { gc?: () => void }).gc?.();
  const before = process.memoryUsage().rss;
  const heapBefore = process.memoryUsage().heapUsed;
  const t = performance.now();
  const ns = await load(file);
  const ms = performance.now() - t;
  const keep = (ns.data as unknown[]).length;
  (globalThis as { gc?: () => void }).gc?.(); // so "values MB" is what the result keeps alive
  console.log(
    JSON.stringify({
      ms,
      rssBeforeMB: before / 2 ** 20,
      peakRssMB: peakRssMB(),
      heapBeforeMB: heapBefore / 2 ** 20,
      heapAfterMB: process.memoryUsage().heapUsed / 2 ** 20,
      keep,
    }),
  );
}

function report(shape: Shape, size: number, native: ChildResult, safe: ChildResult): void {
  const rows = [
    ["", "time ms", "MB/s", "peak RSS MB", "peak-start MB", "/ file size", "values MB"],
    ...(
      [
        ["native import()", native],
        ["safe load()", safe],
      ] as const
    ).map(([name, m]) => [
      name,
      m.ms.toFixed(0),
      (size / (m.ms / 1000)).toFixed(1),
      m.peakRssMB.toFixed(0),
      (m.peakRssMB - m.rssBeforeMB).toFixed(0),
      ((m.peakRssMB - m.rssBeforeMB) / size).toFixed(2),
      (m.heapAfterMB - m.heapBeforeMB).toFixed(0),
    ]),
  ];
  const what = shape === "escapes" ? "strings with escapes" : "nested literals";
  console.log(`\nload bench (${shape}): ${size.toFixed(1)} MB archive of ${what}`);
  for (const row of rows) {
    console.log(row.map((c, i) => (i === 0 ? c.padEnd(16) : c.padStart(13))).join(" "));
  }
  const values = safe.heapAfterMB - safe.heapBeforeMB;
  const peak = safe.peakRssMB - safe.rssBeforeMB;
  console.log(
    `safe/native speed ${(native.ms / safe.ms).toFixed(2)}x (want >= 0.5); safe peak memory ` +
      (shape === "escapes" ? "(issue 8 target <= 3x) " : "") +
      `${(peak / size).toFixed(2)}x file size (native ${((native.peakRssMB - native.rssBeforeMB) / size).toFixed(2)}x), ` +
      `of which the loaded values are ${(values / size).toFixed(2)}x and the loader's overhead ${((peak - values) / size).toFixed(2)}x`,
  );
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

/** Issue 11's three shapes: load() vs JSON.parse and native import(), medians of interleaved rounds. */
async function shapes(dir: string): Promise<void> {
  const rounds = Number(process.env.PERSIST_BENCH_ROUNDS ?? 7);
  console.log(
    `\nsafe load() on the issue-11 shapes (median of ${rounds} interleaved rounds after a warm-up; the machine may be shared)`,
  );
  console.log(
    [
      "shape",
      "module MB",
      "JSON MB",
      "JSON.parse",
      "read+parse",
      "load()",
      "import()",
      "load/parse",
      "load/read+parse",
      "load/import",
    ]
      .map((c, i) => (i === 0 ? c.padEnd(6) : c.padStart(i > 6 ? 16 : 11)))
      .join(" "),
  );
  const cpuRows: string[] = [];
  for (const [name, make] of Object.entries(SHAPES)) {
    const value = make();
    const archive = new Archive();
    archive.insert({ data: value });
    const { entry } = await archive.save(join(dir, name), { name: "g", package: false });
    const json = JSON.stringify(value);
    const jsonFile = join(dir, `${name}.json`);
    await writeFile(jsonFile, json);
    let v = 0;
    const steps: Record<string, () => Promise<unknown> | unknown> = {
      parse: () => JSON.parse(json),
      readParse: async () => JSON.parse(await readFile(jsonFile, "utf8")),
      load: () => load(entry),
      import: () => import(`${pathToFileURL(entry).href}?v=${v++}`),
    };
    const times: Record<string, number[]> = { parse: [], readParse: [], load: [], import: [] };
    const cpuTimes: Record<string, number[]> = { parse: [], readParse: [], load: [], import: [] };
    for (let round = -1; round < rounds; round++) {
      for (const [step, fn] of Object.entries(steps)) {
        (globalThis as { gc?: () => void }).gc?.();
        const c = process.cpuUsage();
        const t = performance.now();
        await fn();
        const wall = performance.now() - t;
        const used = process.cpuUsage(c);
        if (round >= 0) {
          times[step]!.push(wall);
          cpuTimes[step]!.push((used.user + used.system) / 1000);
        }
      }
    }
    const m = Object.fromEntries(Object.entries(times).map(([k, xs]) => [k, median(xs)]));
    const cpu = Object.fromEntries(Object.entries(cpuTimes).map(([k, xs]) => [k, median(xs)]));
    cpuRows.push(
      [
        name.padEnd(6),
        `${cpu.parse!.toFixed(1)} ms`.padStart(11),
        `${cpu.load!.toFixed(1)} ms`.padStart(11),
        `${cpu.import!.toFixed(1)} ms`.padStart(11),
        `${(cpu.load! / cpu.parse!).toFixed(2)}x`.padStart(16),
        `${(cpu.load! / cpu.import!).toFixed(2)}x`.padStart(16),
      ].join(" "),
    );
    const moduleMB = (await stat(entry)).size / 2 ** 20;
    console.log(
      [
        name.padEnd(6),
        moduleMB.toFixed(2).padStart(11),
        (json.length / 2 ** 20).toFixed(2).padStart(11),
        `${m.parse!.toFixed(1)} ms`.padStart(11),
        `${m.readParse!.toFixed(1)} ms`.padStart(11),
        `${m.load!.toFixed(1)} ms`.padStart(11),
        `${m.import!.toFixed(1)} ms`.padStart(11),
        `${(m.load! / m.parse!).toFixed(2)}x`.padStart(16),
        `${(m.load! / m.readParse!).toFixed(2)}x`.padStart(16),
        `${(m.load! / m.import!).toFixed(2)}x`.padStart(16),
      ].join(" "),
    );
  }
  // CPU time of this process (all its threads, GC included) is less disturbed than wall time by
  // other processes on a shared machine; import() also counts its loader thread.
  console.log("\nsame rounds, CPU time of this process (medians):");
  console.log(
    ["shape", "JSON.parse", "load()", "import()", "load/parse", "load/import"]
      .map((c, i) => (i === 0 ? c.padEnd(6) : c.padStart(i > 3 ? 16 : 11)))
      .join(" "),
  );
  for (const row of cpuRows) console.log(row);
  console.log(
    "  targets: load/parse <= 2x (issue 11), load/import < 1x (faster than native import)",
  );
}

export async function run(): Promise<void> {
  const mb = Number(process.env.PERSIST_BENCH_LOAD_MB ?? 50);
  const dir = await mkdtemp(join(tmpdir(), "persist-bench-load-"));
  try {
    await shapes(dir);
    for (const shape of ["records", "numbers", "escapes"] as const) {
      const file = await writeArchive(dir, mb, shape);
      const size = (await stat(file)).size / 2 ** 20;
      const native = measure("native", file);
      const safe = measure("safe", file);
      report(shape, size, native, safe);
      await rm(file);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === "--child") {
  await child(process.argv[4]!);
} else if (process.argv[1] === HERE) {
  await run();
}
