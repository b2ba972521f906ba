/**
 * One cold measurement of bench/view.ts in a fresh process (nothing parsed, compiled or cached by
 * an earlier one). Prints one JSON line of milliseconds.
 *
 *   table PATH index   viewer start, then what the page asks for: /api/summary, first /api/table
 *   table PATH full    the same first page sorted by -name, which needs every info parsed: what
 *                      every first page cost before pages were served from the index (baseline)
 *   plot ENTRY lazy    viewer start, /api/tree then /api/array of the array `big` (the page's order)
 *   plot ENTRY whole   the old path as a baseline: load the archive with its arrays whole, then
 *                      reduce the array in memory
 */
import { loadWithStandIns } from "../src/cli/stand-ins.js";
import { arrayPlot } from "../src/view/plot.js";
import { startViewer } from "../src/view/server.js";

const [what, path, mode] = process.argv.slice(2) as [string, string, string];
const token = "benchtokenbenchtoken";
const WIDTH = 1200;

const out: Record<string, number> = {};

/**
 * Wall ms of one request; also its CPU ms (this process: server, client and the threads reading
 * files) under `${key}Cpu`. On a machine shared by many processes the wall time waits for a CPU,
 * the CPU time does not: it is close to what the request takes on an idle machine.
 */
async function timed(url: string, key: string): Promise<void> {
  const cpu = process.cpuUsage();
  const t = performance.now();
  const r = await fetch(url);
  await r.arrayBuffer();
  if (!r.ok) throw new Error(`${r.status} ${url}`);
  out[key] = performance.now() - t;
  const used = process.cpuUsage(cpu);
  out[`${key}Cpu`] = (used.user + used.system) / 1000;
}

if (what === "plot" && mode === "whole") {
  const cpu = process.cpuUsage();
  const t = performance.now();
  const exports = await loadWithStandIns(path);
  out.read = performance.now() - t;
  const query = {
    start: undefined,
    stop: undefined,
    width: WIDTH,
    height: 300,
    part: "abs" as const,
  };
  const r = performance.now();
  await arrayPlot(exports, ["k:big"], query);
  out.reduce = performance.now() - r;
  out.total = performance.now() - t;
  const used = process.cpuUsage(cpu);
  out.totalCpu = (used.user + used.system) / 1000;
} else {
  const t0 = performance.now();
  const viewer = await startViewer(path, { token });
  out.start = performance.now() - t0;
  const base = `http://127.0.0.1:${viewer.port}/api`;
  try {
    if (what === "table") {
      await timed(`${base}/summary?token=${token}`, "summary");
      const sort = mode === "full" ? "&sort=-name" : "";
      await timed(`${base}/table?token=${token}&limit=50${sort}`, "page");
      await timed(`${base}/table?token=${token}&limit=50&offset=50${sort}`, "next");
    } else {
      await timed(`${base}/tree?token=${token}&item=`, "tree");
      const at = encodeURIComponent(JSON.stringify(["k:big"]));
      const array = `${base}/array?token=${token}&item=&at=${at}&width=${WIDTH}`;
      await timed(array, "plot");
      await timed(`${array}&start=40000000&stop=41000000`, "zoom");
    }
  } finally {
    await viewer.close();
  }
}
console.log(JSON.stringify(out));
