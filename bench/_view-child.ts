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

async function timed(url: string): Promise<number> {
  const t = performance.now();
  const r = await fetch(url);
  await r.arrayBuffer();
  if (!r.ok) throw new Error(`${r.status} ${url}`);
  return performance.now() - t;
}

const out: Record<string, number> = {};
if (what === "plot" && mode === "whole") {
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
} else {
  const t0 = performance.now();
  const viewer = await startViewer(path, { token });
  out.start = performance.now() - t0;
  const base = `http://127.0.0.1:${viewer.port}/api`;
  try {
    if (what === "table") {
      out.summary = await timed(`${base}/summary?token=${token}`);
      const sort = mode === "full" ? "&sort=-name" : "";
      out.page = await timed(`${base}/table?token=${token}&limit=50${sort}`);
      out.next = await timed(`${base}/table?token=${token}&limit=50&offset=50${sort}`);
    } else {
      out.tree = await timed(`${base}/tree?token=${token}&item=`);
      const at = encodeURIComponent(JSON.stringify(["k:big"]));
      const array = `${base}/array?token=${token}&item=&at=${at}&width=${WIDTH}`;
      out.plot = await timed(array);
      out.zoom = await timed(`${array}&start=40000000&stop=41000000`);
    }
  } finally {
    await viewer.close();
  }
}
console.log(JSON.stringify(out));
