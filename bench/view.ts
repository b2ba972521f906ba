/**
 * `npm run bench view`: the viewer's two speed figures (issue 10), each against a baseline measured
 * in the same run, in rounds that alternate the two (the machine is shared: medians, interleaved).
 *
 * 1. First table page of a 100k-item DataSet, cold (a fresh process per measurement): served from
 *    the index, against the same page sorted by -name, which needs every info parsed (what every
 *    first page cost before).
 * 2. A plot of a 10^8-element float32 array once the file is in the page cache: the viewer (lazy
 *    load, chunked min/max), against loading the array whole and reducing it in memory.
 * 3. Both end to end in Debian's Chromium when it is installed: from navigation to 50 table rows on
 *    screen, and to the plot's canvas holding ink.
 *
 * Each request's CPU time is printed beside its wall time: on a shared machine the wall time also
 * waits for a CPU, the CPU time does not, and is close to the wall time on an idle machine.
 * ITEMS, ELEMENTS and ROUNDS change the sizes; BENCH_VIEW_DATASET reuses a DataSet made earlier.
 */
import { execFile, execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Archive } from "../src/archive.js";
import { DataSet } from "../src/dataset/dataset.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const CHROMIUM = process.env.PERSIST_CHROMIUM ?? "/usr/bin/chromium";

type Timings = Record<string, number>;

function child(args: string[]): Promise<Timings> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["--import", "tsx", join(here, "_view-child.ts"), ...args],
      { maxBuffer: 1 << 20 },
      (error, stdout, stderr) => {
        if (error) return reject(new Error(`${args.join(" ")}: ${stderr || error.message}`));
        resolve(JSON.parse(stdout.trim().split("\n").pop()!) as Timings);
      },
    );
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Runs each mode once per round, alternating; medians of every timing, by mode. */
async function interleaved(
  rounds: number,
  modes: Record<string, () => Promise<Timings>>,
): Promise<Record<string, Timings>> {
  const all: Record<string, Timings[]> = {};
  for (let r = 0; r < rounds; r++) {
    const order = Object.keys(modes);
    if (r % 2) order.reverse();
    for (const mode of order) (all[mode] ??= []).push(await modes[mode]!());
  }
  const out: Record<string, Timings> = {};
  for (const [mode, runs] of Object.entries(all)) {
    out[mode] = {};
    for (const key of Object.keys(runs[0]!)) out[mode][key] = median(runs.map((t) => t[key]!));
  }
  return out;
}

const ms = (x: number | undefined) => `${(x ?? Number.NaN).toFixed(0)} ms`;

async function makeDataSet(path: string, n: number): Promise<void> {
  const ds = await DataSet.open(path, { mode: "w" });
  for (let i = 0; i < n; i += 10_000) {
    const count = Math.min(10_000, n - i);
    await ds.insertMany(
      Array.from({ length: count }, (_, k) => i + k),
      {
        infos: Array.from({ length: count }, (_, k) => ({
          omega: (i + k) / 7,
          k: (i + k) % 11,
          tag: `t${(i + k) % 5}`,
        })),
      },
    );
  }
  await ds.close();
}

/** Milliseconds from navigation until `ready` holds in the page, one fresh viewer per round. */
async function inBrowser(
  rounds: number,
  target: string,
  hash: string,
  ready: string,
): Promise<number[]> {
  const { launchBrowser, startViewerProcess } = await import("../test/view/browser.js");
  const browser = await launchBrowser();
  const times: number[] = [];
  try {
    for (let r = 0; r < rounds; r++) {
      const viewer = await startViewerProcess(target, [], { built: true });
      try {
        const page = await browser.newPage();
        const t = performance.now();
        await page.goto(`${viewer.url}${hash}`);
        await page.waitForFunction(ready, { timeout: 120_000, polling: 10 });
        times.push(performance.now() - t);
        await page.close();
      } finally {
        await viewer.stop();
      }
    }
  } finally {
    await browser.close();
  }
  return times;
}

/** True in the page once the first uPlot canvas has a non-white, non-transparent pixel. */
const PLOT_INKED = `(() => {
  const canvas = document.querySelector("#plots .uplot canvas");
  if (!canvas || canvas.width === 0) return false;
  const d = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  for (let i = 0; i < d.length; i += 4)
    if (d[i + 3] > 0 && !(d[i] > 245 && d[i + 1] > 245 && d[i + 2] > 245)) return true;
  return false;
})()`;

export async function run(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), "persist-bench-view-"));
  const rounds = Number(process.env.ROUNDS ?? 5);
  const browser = existsSync(CHROMIUM);
  try {
    const n = Number(process.env.ITEMS ?? 100_000);
    const dsPath = process.env.BENCH_VIEW_DATASET ?? join(root, "big.ds");
    if (!process.env.BENCH_VIEW_DATASET) await makeDataSet(dsPath, n);
    console.log(
      `\nviewer (medians of ${rounds} interleaved rounds, a fresh process each; shared machine, load ${(await readFile("/proc/loadavg", "utf8")).split(" ")[0]})`,
    );
    const table = await interleaved(rounds, {
      index: () => child(["table", dsPath, "index"]),
      full: () => child(["table", dsPath, "full"]),
    });
    const { index, full } = table as { index: Timings; full: Timings };
    console.log(
      `  DataSet ${n} items, first table page: ${ms(index.page)}, CPU ${ms(index.pageCpu)} (target < 300 ms; summary ${ms(index.summary)}, CPU ${ms(index.summaryCpu)}; next page ${ms(index.next)}), viewer start ${ms(index.start)}`,
    );
    console.log(
      `    baseline, first page needing every info (sort -name): ${ms(full.page)}, CPU ${ms(full.pageCpu)} → ${(full.page! / index.page!).toFixed(1)}× faster (CPU ${(full.pageCpu! / index.pageCpu!).toFixed(1)}×)`,
    );

    const size = Number(process.env.ELEMENTS ?? 1e8);
    const archive = new Archive({ arrayThreshold: 1000 });
    const big = new Float32Array(size);
    for (let i = 0; i < size; i++) big[i] = Math.sin(i / 1e5);
    archive.insert({ big });
    const saved = await archive.save(root, { name: "big" });
    // into the page cache
    for (const file of await readdir(join(root, "big"), { recursive: true })) {
      await readFile(join(root, "big", file)).catch(() => undefined); // (folders fail)
    }
    const plot = await interleaved(rounds, {
      lazy: () => child(["plot", saved.entry, "lazy"]),
      whole: () => child(["plot", saved.entry, "whole"]),
    });
    const { lazy, whole } = plot as { lazy: Timings; whole: Timings };
    const viewerPlot = lazy.tree! + lazy.plot!;
    const viewerCpu = lazy.treeCpu! + lazy.plotCpu!;
    console.log(
      `  ${size} float32 elements, plot data: ${ms(viewerPlot)}, CPU ${ms(viewerCpu)} (tree ${ms(lazy.tree)} + reduced array ${ms(lazy.plot)}; zoom to 1e6 ${ms(lazy.zoom)}), viewer start ${ms(lazy.start)}`,
    );
    console.log(
      `    baseline, array read whole then reduced: ${ms(whole.total)}, CPU ${ms(whole.totalCpu)} (read ${ms(whole.read)}, reduce ${ms(whole.reduce)}) → ${(whole.total! / viewerPlot).toFixed(1)}× (CPU ${(whole.totalCpu! / viewerCpu).toFixed(1)}×)`,
    );

    if (!browser) {
      console.log(`  (no ${CHROMIUM}: browser figures skipped)`);
      return;
    }
    // The browser figures time the `persist` a user runs, the compiled dist/: build it first.
    execFileSync("npm", ["run", "build"], { cwd: join(here, ".."), stdio: "ignore" });
    const rows = await inBrowser(
      rounds,
      dsPath,
      "",
      'document.querySelectorAll("#items tbody tr").length >= 50',
    );
    const drawn = await inBrowser(rounds, saved.entry, "", PLOT_INKED);
    console.log(
      `  in Chromium, navigation → 50 rows on screen: ${ms(median(rows))} (target < 300 ms); → plot of ${size} elements drawn: ${ms(median(drawn))} (target < 1 s)`,
    );
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await run();
