// Writes a records archive of about SIZE_MB megabytes with the TypeScript package (and the same
// data as JSON beside it) for python/bench/read_speed.py. Usage: node make_records.mjs DIR [SIZE_MB]
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Archive } from "../../dist/index.js";

const dir = process.argv[2];
const sizeMb = Number(process.argv[3] ?? 50);
const records = [];
let bytes = 0;
for (let i = 0; bytes < sizeMb * 1e6; i++) {
  const r = {
    id: i,
    name: `run-${i}`,
    score: Math.round(Math.sin(i) * 1e6) / 1e3,
    ok: i % 3 === 0,
    tags: ["alpha", `t${i % 17}`],
    params: { lr: 0.001 * (i % 10), layers: i % 7, note: i % 5 === 0 ? null : "x" },
  };
  records.push(r);
  bytes += 150;
}
const archive = new Archive();
archive.insert({ records });
const { entry } = await archive.save(dir, { name: "records", force: true });
writeFileSync(join(dir, "records.json"), JSON.stringify(records));
console.log(entry);
