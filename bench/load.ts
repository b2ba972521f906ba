/**
 * Safe load vs native import() of the same archive of nested literals.
 *
 * Each measurement runs in a fresh child process (no warm module cache, no shared heap), timing
 * only the load call and reading peak RSS (VmHWM) against the RSS before the load.
 * Size: PERSIST_BENCH_LOAD_MB (default 50; PERSIST_BENCH_FULL is not needed, 50 MB runs in ~10 s).
 */
import { spawnSync } from "node:child_process";
import { createWriteStream, readFileSync } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

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

type Shape = "records" | "numbers";

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
  console.log(`\nload bench (${shape}): ${size.toFixed(1)} MB archive of nested literals`);
  for (const row of rows) {
    console.log(row.map((c, i) => (i === 0 ? c.padEnd(16) : c.padStart(13))).join(" "));
  }
  const values = safe.heapAfterMB - safe.heapBeforeMB;
  const peak = safe.peakRssMB - safe.rssBeforeMB;
  console.log(
    `safe/native speed ${(native.ms / safe.ms).toFixed(2)}x (want >= 0.5); safe peak memory ` +
      `${(peak / size).toFixed(2)}x file size (native ${((native.peakRssMB - native.rssBeforeMB) / size).toFixed(2)}x), ` +
      `of which the loaded values are ${(values / size).toFixed(2)}x and the loader's overhead ${((peak - values) / size).toFixed(2)}x`,
  );
}

export async function run(): Promise<void> {
  const mb = Number(process.env.PERSIST_BENCH_LOAD_MB ?? 50);
  const dir = await mkdtemp(join(tmpdir(), "persist-bench-load-"));
  try {
    for (const shape of ["records", "numbers"] as const) {
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
