/**
 * Array storage benchmark: npy save/load against plain fs.writeFile/readFile of the same bytes,
 * peak RSS growth while loading (in a clean child process), numpy's np.save/np.load on the same
 * machine, and npz/hdf5 throughput.
 *
 *   node --import tsx bench/arrays.ts                 # PERSIST_BENCH_ARRAY_MB=1024 by default
 *   PERSIST_BENCH_ARRAY_MB=64 node --import tsx bench/arrays.ts
 *   PERSIST_BENCH_DIR=/some/disk ...                   # where files go (default: OS temp dir)
 *   PERSIST_BENCH_ONLY=lazy-rows ...                   # only the LazyArray rows peak memory
 *
 * Targets: save ≥ 0.8× writeFile, load ≥ 0.8× readFile, RSS growth ≤ 1.15× array size.
 *
 * Also (issue 11) `Archive.save` of a 256 MB Float64Array against a raw write + fsync of the same
 * bytes, and `load()` against readFile, interleaved run by run (PERSIST_BENCH_SAVE_MB, default
 * 256); and (issue 12) the peak memory of reading 1,000 rows of the big array through a LazyArray
 * (npy, stored npz, deflated npz, HDF5), measured as VmHWM growth of a child process, against
 * those rows' bytes (target < 2×).
 */
import { spawnSync } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdtemp, open, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import yazl from "yazl";
import { Archive } from "../src/archive.js";
import { readArrayFiles, writeArrayFiles } from "../src/arrays/containers.js";
import { npy } from "../src/arrays/npy.js";
import { load } from "../src/load/index.js";
import { NDArray } from "../src/runtime/persist-runtime.mjs";

const RUNTIME = fileURLToPath(new URL("../src/runtime/persist-runtime.mjs", import.meta.url));

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

/** Best of `n` runs (less noise from the page cache and the scheduler). */
async function best(
  n: number,
  fn: () => Promise<unknown>,
  between?: () => Promise<unknown>,
): Promise<number> {
  let t = Number.POSITIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    if (between) await between();
    t = Math.min(t, await timed(fn));
  }
  return t;
}

/** Peak RSS growth of a fresh node process that loads `file` through the archive runtime. */
function rssGrowth(file: string): { growth: number; seconds: number } {
  const script = `
import { readFileSync } from "node:fs";
import { loadArrays } from ${JSON.stringify(new URL(`file://${RUNTIME}`).href)};
import { pathToFileURL } from "node:url";
import { dirname, basename } from "node:path";
const hwm = () => Number(/VmHWM:\\s+(\\d+)/.exec(readFileSync("/proc/self/status", "utf8"))[1]) * 1024;
const file = ${JSON.stringify(file)};
const before = hwm();
const t0 = performance.now();
const arrays = await loadArrays(pathToFileURL(file).href, "./", "npy", [basename(file, ".npy")]);
const seconds = (performance.now() - t0) / 1000;
const after = hwm();
const a = Object.values(arrays)[0];
console.log(JSON.stringify({ growth: (after - before) / a.data.byteLength, seconds }));`;
  const res = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
    encoding: "utf8",
  });
  if (res.status !== 0) throw new Error(res.stderr);
  return JSON.parse(res.stdout);
}

const SRC = fileURLToPath(new URL("../src/", import.meta.url));

/**
 * Peak memory (VmHWM growth) of a fresh process that opens `file` lazily and reads 1,000 rows
 * from the middle, relative to the bytes of those rows.
 */
async function lazyRowsPeak(
  dir: string,
  file: string,
  format: "npy" | "npz" | "hdf5",
  rows = 1000,
): Promise<{ ratio: number; seconds: number; rowBytes: number }> {
  const script = join(dir, "lazy-child.mts");
  await writeFile(
    script,
    `
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { openArraysLazily, openNpyLazy } from ${JSON.stringify(join(SRC, "arrays/lazy.ts"))};
const hwm = () => Number(/VmHWM:\\s+(\\d+)/.exec(readFileSync("/proc/self/status", "utf8"))[1]) * 1024;
const file = ${JSON.stringify(file)};
const lazy = ${JSON.stringify(format)} === "npy"
  ? await openNpyLazy(file)
  : Object.values(await openArraysLazily(pathToFileURL(file).href, "./" + ${JSON.stringify(file.split("/").pop())}, ${JSON.stringify(format)}, ["a"]))[0];
// warm up the code paths on a few rows, so the measurement is of the data, not of compiling
await lazy.rows(0, 2);
// Reset the peak to the current RSS (Linux: "5" > clear_refs), so that earlier peaks (compiling
// h5wasm, say) do not hide the read's own.
try { (await import("node:fs")).writeFileSync("/proc/self/clear_refs", "5"); } catch {}
const before = hwm();
const start = Math.floor(lazy.shape[0] / 2);
const t0 = performance.now();
const part = await lazy.rows(start, start + ${rows});
const seconds = (performance.now() - t0) / 1000;
const after = hwm();
console.log(JSON.stringify({ ratio: (after - before) / part.data.byteLength, seconds, rowBytes: part.data.byteLength }));
`,
  );
  const res = spawnSync(process.execPath, ["--import", "tsx", script], {
    encoding: "utf8",
    cwd: fileURLToPath(new URL("..", import.meta.url)),
  });
  if (res.status !== 0) throw new Error(res.stderr);
  return JSON.parse(res.stdout.trim().split("\n").pop() as string);
}

/** A deflated .npz of one array (like numpy.savez_compressed). */
async function writeDeflatedNpz(path: string, array: NDArray): Promise<void> {
  const zip = new yazl.ZipFile();
  zip.addBuffer(Buffer.from(npy.encode(array)), "a.npy", {
    compress: true,
    mtime: new Date(1980, 0, 1),
  });
  zip.end();
  await pipeline(zip.outputStream, createWriteStream(path));
}

/**
 * Archive.save of `mb` MB against a raw write + fsync, and load() against readFile, interleaved
 * (one of each per round), medians of `rounds`.
 */
async function saveVersusRaw(dir: string, mb: number, rounds = 5): Promise<string[]> {
  const data = new Float64Array((mb * 2 ** 20) / 8);
  for (let i = 0; i < data.length; i++) data[i] = i * 0.25;
  const raw = new Uint8Array(data.buffer);
  const times = {
    raw: [] as number[],
    save: [] as number[],
    read: [] as number[],
    load: [] as number[],
  };
  for (let i = 0; i < rounds; i++) {
    const rawPath = join(dir, `raw${i}.bin`);
    times.raw.push(
      await timed(async () => {
        const h = await open(rawPath, "w");
        await h.writeFile(raw);
        await h.sync();
        await h.close();
      }),
    );
    let entry = "";
    times.save.push(
      await timed(async () => {
        const archive = new Archive({ arrayThreshold: 1000 });
        archive.insert({ x: data });
        entry = (await archive.save(dir, { name: `s${i}` })).entry;
      }),
    );
    times.read.push(await timed(() => readFile(rawPath)));
    times.load.push(await timed(() => load(entry)));
    await rm(rawPath);
    await rm(join(dir, `s${i}`), { recursive: true });
  }
  const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1] as number;
  const f = (a: number[]) => a.map((x) => x.toFixed(2)).join(" ");
  return [
    `Archive.save of ${mb} MB: ${(med(times.save) / med(times.raw)).toFixed(2)}× raw write + fsync (target ≤ 1.25); raw [${f(times.raw)}] s, save [${f(times.save)}] s`,
    `load() of it: ${(med(times.load) / med(times.read)).toFixed(2)}× readFile (target ≤ 1.25); readFile [${f(times.read)}] s, load [${f(times.load)}] s`,
  ];
}

/** np.save / np.load of a float64 array of `bytes` bytes, timed in Python. */
function numpyTimes(dir: string, bytes: number): { save: number; load: number } | undefined {
  const script = `
import sys, time, json, os
import numpy as np
a = np.arange(${bytes / 8}, dtype=np.float64)
p = os.path.join(sys.argv[1], "np.npy")
best_s = best_l = 1e9
for _ in range(2):
    t = time.perf_counter()
    with open(p, "wb") as f:
        np.save(f, a); f.flush(); os.fsync(f.fileno())
    best_s = min(best_s, time.perf_counter() - t)
    t = time.perf_counter(); b = np.load(p); best_l = min(best_l, time.perf_counter() - t)
    del b
os.remove(p)
print(json.dumps({"save": best_s, "load": best_l}))`;
  const res = spawnSync("/usr/bin/python3", ["-c", script, dir], { encoding: "utf8" });
  if (res.status !== 0) return undefined;
  return JSON.parse(res.stdout);
}

/**
 * Only the lazy-rows peak memory (PERSIST_BENCH_ONLY=lazy-rows): each format's child run
 * `rounds` times, interleaved format by format, medians printed with the spread.
 */
async function lazyRowsOnly(dir: string, array: NDArray, rounds = 3): Promise<string[]> {
  const one = [{ name: "a", array }];
  await npy.write(join(dir, "a.npy"), array);
  await writeArrayFiles(join(dir, "a.npz"), "npz", one);
  await writeDeflatedNpz(join(dir, "z.npz"), array);
  await writeArrayFiles(join(dir, "a.h5"), "hdf5", one);
  const cases = [
    ["npy (positional reads)", join(dir, "a.npy"), "npy"],
    ["npz stored (positional)", join(dir, "a.npz"), "npz"],
    ["npz deflated (streamed)", join(dir, "z.npz"), "npz"],
    ["hdf5 (hyperslab)", join(dir, "a.h5"), "hdf5"],
  ] as const;
  const results = cases.map(() => [] as { ratio: number; seconds: number; rowBytes: number }[]);
  for (let r = 0; r < rounds; r++) {
    for (const [i, [, file, format]] of cases.entries()) {
      results[i]!.push(await lazyRowsPeak(dir, file, format));
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return cases.map(([label], i) => {
    const rs = results[i]!;
    const ratios = rs.map((x) => x.ratio);
    return `LazyArray.rows 1,000 rows ${label.padEnd(26)} peak ${median(ratios).toFixed(2)}× the rows' ${(rs[0]!.rowBytes / 2 ** 20).toFixed(1)} MiB (median of ${rounds}, range ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}; target < 2), ${median(rs.map((x) => x.seconds)).toFixed(3)} s`;
  });
}

export async function run(): Promise<void> {
  const mb = Number(process.env.PERSIST_BENCH_ARRAY_MB ?? 1024);
  if (process.env.PERSIST_BENCH_ONLY === "lazy-rows") {
    const dir = await mkdtemp(join(process.env.PERSIST_BENCH_DIR ?? tmpdir(), "persist-bench-"));
    try {
      const data = new Float64Array(Math.floor((mb * 2 ** 20) / 8));
      for (let i = 0; i < data.length; i++) data[i] = i * 0.5;
      const lines = await lazyRowsOnly(dir, new NDArray(data, [data.length / 1024, 1024]));
      console.log(
        `\narrays: lazy rows of a Float64Array of ${mb} MB [${data.length / 1024}, 1024]`,
      );
      for (const line of lines) console.log(line);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    return;
  }
  const bytes = Math.floor((mb * 2 ** 20) / 8) * 8;
  const dir = await mkdtemp(join(process.env.PERSIST_BENCH_DIR ?? tmpdir(), "persist-bench-"));
  try {
    const data = new Float64Array(bytes / 8);
    for (let i = 0; i < data.length; i++) data[i] = i * 0.5;
    const array = new NDArray(data, [data.length / 1024, 1024]);
    const raw = new Uint8Array(data.buffer);
    const rm1 = (p: string) => () => rm(p, { force: true });
    const rate = (s: number) => `${(bytes / 2 ** 20 / s).toFixed(0)} MB/s`;
    const rows: [string, number, string][] = [];

    const wf = await best(
      3,
      () => writeFile(join(dir, "plain.bin"), raw),
      rm1(join(dir, "plain.bin")),
    );
    const wfSync = await best(
      3,
      async () => {
        const h = await open(join(dir, "plainsync.bin"), "w");
        await h.writeFile(raw);
        await h.sync();
        await h.close();
      },
      rm1(join(dir, "plainsync.bin")),
    );
    const save = await best(3, () => npy.write(join(dir, "a.npy"), array), rm1(join(dir, "a.npy")));
    rows.push(["fs.writeFile (no fsync)", wf, "baseline"]);
    rows.push(["fs.writeFile + fsync", wfSync, ""]);
    rows.push([
      "npy.write (atomic, fsync)",
      save,
      `${(wf / save).toFixed(2)}× writeFile, ${(wfSync / save).toFixed(2)}× writeFile+fsync`,
    ]);

    const rf = bytes < 2 ** 31 ? await best(3, () => readFile(join(dir, "plain.bin"))) : Number.NaN;
    const load = await best(3, () => npy.read(join(dir, "a.npy")));
    rows.push(["fs.readFile", rf, "baseline"]);
    rows.push(["npy.read", load, `${(rf / load).toFixed(2)}× readFile`]);

    const rss = rssGrowth(join(dir, "a.npy"));
    rows.push([
      "runtime loadArrays (child)",
      rss.seconds,
      `peak RSS growth ${rss.growth.toFixed(3)}× array size`,
    ]);

    const np = numpyTimes(dir, bytes);
    if (np) {
      rows.push([
        "np.save + fsync (python)",
        np.save,
        `ours ${(np.save / save).toFixed(2)}× as fast`,
      ]);
      rows.push(["np.load (python)", np.load, `ours ${(np.load / load).toFixed(2)}× as fast`]);
    }

    const one = [{ name: "a", array }];
    const npzSave = await best(
      2,
      () => writeArrayFiles(join(dir, "a.npz"), "npz", one),
      rm1(join(dir, "a.npz")),
    );
    const npzLoad = await best(2, () => readArrayFiles(join(dir, "a.npz"), "npz"));
    rows.push(["npz save (yazl, stored)", npzSave, `${(wf / npzSave).toFixed(2)}× writeFile`]);
    rows.push(["npz load (runtime reader)", npzLoad, `${(rf / npzLoad).toFixed(2)}× readFile`]);
    const h5Save = await best(
      2,
      () => writeArrayFiles(join(dir, "a.h5"), "hdf5", one),
      rm1(join(dir, "a.h5")),
    );
    const h5Load = await best(2, () => readArrayFiles(join(dir, "a.h5"), "hdf5"));
    rows.push(["hdf5 save (h5wasm)", h5Save, `${(wf / h5Save).toFixed(2)}× writeFile`]);
    rows.push(["hdf5 load (h5wasm)", h5Load, `${(rf / h5Load).toFixed(2)}× readFile`]);

    // Lazy rows: 1,000 rows of 8 KiB from the middle of the big array.
    const lazyLines: string[] = [];
    await writeDeflatedNpz(join(dir, "z.npz"), array);
    for (const [label, file, format] of [
      ["npy (positional reads)", join(dir, "a.npy"), "npy"],
      ["npz stored (positional)", join(dir, "a.npz"), "npz"],
      ["npz deflated (streamed)", join(dir, "z.npz"), "npz"],
      ["hdf5 (hyperslab)", join(dir, "a.h5"), "hdf5"],
    ] as const) {
      const r = await lazyRowsPeak(dir, file, format);
      lazyLines.push(
        `LazyArray.rows 1,000 rows ${label.padEnd(26)} peak ${r.ratio.toFixed(2)}× the rows' ${(r.rowBytes / 2 ** 20).toFixed(1)} MiB (target < 2), ${r.seconds.toFixed(3)} s`,
      );
    }
    const saveLines = await saveVersusRaw(dir, Number(process.env.PERSIST_BENCH_SAVE_MB ?? 256));

    console.log(`\narrays: Float64Array of ${mb} MB in ${dir}`);
    console.log(
      `${"operation".padEnd(30)} ${"seconds".padStart(8)} ${"throughput".padStart(12)}  ratio`,
    );
    for (const [name, s, note] of rows) {
      console.log(
        `${name.padEnd(30)} ${s.toFixed(3).padStart(8)} ${rate(s).padStart(12)}  ${note}`,
      );
    }
    for (const line of [...lazyLines, ...saveLines]) console.log(line);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await run();
