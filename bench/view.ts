/**
 * `node --import tsx bench/view.ts`: the viewer's two speed figures (issue 10):
 * - first page of a 100k-item DataSet's table, served cold (infos read) and warm;
 * - a plot of a 10^8-element float32 array (min/max per pixel column), first request (array read
 *   from page cache) and a zoom.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Archive } from "../src/archive.js";
import { DataSet } from "../src/dataset/dataset.js";
import { startViewer } from "../src/view/server.js";

const root = await mkdtemp(join(tmpdir(), "persist-bench-view-"));
const token = "benchtokenbenchtoken";
async function timed(url: string): Promise<number> {
  const t = performance.now();
  const r = await fetch(url, { headers: { host: new URL(url).host } });
  await r.arrayBuffer();
  if (!r.ok) throw new Error(`${r.status} ${url}`);
  return performance.now() - t;
}
try {
  const n = Number(process.env.ITEMS ?? 100_000);
  const ds = await DataSet.open(join(root, "big.ds"), { mode: "w" });
  const values = Array.from({ length: n }, (_, i) => i);
  const infos = Array.from({ length: n }, (_, i) => ({
    omega: i / 7,
    k: i % 11,
    tag: `t${i % 5}`,
  }));
  for (let i = 0; i < n; i += 10_000) {
    await ds.insertMany(values.slice(i, i + 10_000), { infos: infos.slice(i, i + 10_000) });
  }
  await ds.close();
  const v = await startViewer(join(root, "big.ds"), { token });
  const base = `http://127.0.0.1:${v.port}`;
  const cold = await timed(`${base}/api/table?token=${token}&limit=50`);
  const page = await timed(`${base}/?token=${token}`);
  const warm = await timed(`${base}/api/table?token=${token}&limit=50&offset=50`);
  const sorted = await timed(`${base}/api/table?token=${token}&limit=50&sort=-omega`);
  console.log(
    `DataSet ${n} items: first table page cold ${cold.toFixed(0)} ms (+ page ${page.toFixed(0)} ms), next page ${warm.toFixed(0)} ms, sorted by -omega ${sorted.toFixed(0)} ms`,
  );
  await v.close();

  const size = Number(process.env.ELEMENTS ?? 1e8);
  const archive = new Archive({ arrayThreshold: 1000 });
  const big = new Float32Array(size);
  for (let i = 0; i < size; i++) big[i] = Math.sin(i / 1e5);
  archive.insert({ big });
  await archive.save(root, { name: "big" });
  const a = await startViewer(join(root, "big"), { token });
  const at = encodeURIComponent(JSON.stringify(["k:big"]));
  const abase = `http://127.0.0.1:${a.port}/api/array?token=${token}&item=&at=${at}&width=1200`;
  const first = await timed(abase);
  const again = await timed(abase);
  const zoom = await timed(`${abase}&start=40000000&stop=41000000`);
  console.log(
    `${size} float32 elements: first plot ${first.toFixed(0)} ms (array read + reduce), again ${again.toFixed(0)} ms, zoom to 1e6 ${zoom.toFixed(0)} ms`,
  );
  await a.close();
} finally {
  await rm(root, { recursive: true, force: true });
}
