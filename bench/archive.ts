/**
 * Archive core speed on a graph of ~100k small objects and arrays, 10% of them shared:
 * toString() vs JSON.stringify and devalue.uneval of the same graph; native import() of the saved
 * module vs JSON.parse. Ratios, not assertions.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { uneval } from "devalue";
import { Archive } from "../src/index.js";
import { SHAPES } from "./shapes.js";
import { best, printTable } from "./util.js";

function makeGraph(nodes: number) {
  const shared = Array.from({ length: Math.floor(nodes * 0.1) }, (_, i) => ({
    id: i,
    tag: `s${i}`,
  }));
  const rows: unknown[] = [];
  let count = shared.length;
  for (let i = 0; count < nodes; i++) {
    // Each row: one object + one array (2 nodes), and one reference to a shared object.
    rows.push({ i, x: i * 0.5, v: [i, i + 1, -i], ref: shared[(i * 7919) % shared.length] });
    count += 2;
  }
  return { rows, shared };
}

/** Wall and CPU time (this process, GC threads included) of one call, in ms. */
function timed(fn: () => unknown): [wall: number, cpu: number] {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  fn();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return [wall, (c.user + c.system) / 1000];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/**
 * Issue 11's three shapes (bench/shapes.ts), each measured in the same run: toString() against
 * JSON.stringify and devalue.uneval in interleaved rounds (medians of wall and of CPU time: the
 * machine may be shared, and CPU time is less disturbed by other processes), native import() of
 * the saved module against V8's floor (the same data as one JSON-literal module). Ratios, not
 * absolute times.
 */
async function runShapes(): Promise<void> {
  const rounds = Number(process.env.PERSIST_BENCH_ROUNDS ?? 7);
  for (const [shape, make] of Object.entries(SHAPES)) {
    const value = make();
    const archive = new Archive();
    archive.insert({ value });
    const fns = {
      json: () => JSON.stringify(value),
      devalue: () => uneval(value),
      ours: () => archive.toString(),
    };
    const wall = { json: [] as number[], devalue: [] as number[], ours: [] as number[] };
    const cpu = { json: [] as number[], devalue: [] as number[], ours: [] as number[] };
    for (const fn of Object.values(fns)) fn(); // warm-up
    for (let r = 0; r < rounds; r++) {
      for (const key of ["json", "devalue", "ours"] as const) {
        const [w, c] = timed(fns[key]);
        wall[key].push(w);
        cpu[key].push(c);
      }
    }
    const [tJson, tDevalue, tOurs] = [median(wall.json), median(wall.devalue), median(wall.ours)];
    const [cJson, cDevalue, cOurs] = [median(cpu.json), median(cpu.devalue), median(cpu.ours)];
    const dir = await mkdtemp(join(tmpdir(), "persist-bench-"));
    try {
      const file = join(dir, "m.mjs");
      await writeFile(file, archive.toString());
      const literal = join(dir, "literal.mjs");
      await writeFile(literal, `export default ${JSON.stringify(value)};\n`);
      let n = 0;
      const tImport = await best(async () => {
        await import(`${pathToFileURL(file).href}?v=${n++}`);
      });
      const tFloor = await best(async () => {
        await import(`${pathToFileURL(literal).href}?v=${n++}`);
      });
      printTable(
        `Archive core, shape "${shape}" (issue 11; toString rows: medians of ${rounds} interleaved rounds)`,
        [
          ["JSON.stringify", tJson, "1.00x (baseline)"],
          ["devalue.uneval", tDevalue, `${(tDevalue / tJson).toFixed(2)}x JSON`],
          [
            "Archive.toString()",
            tOurs,
            `${(tOurs / tJson).toFixed(2)}x JSON (goal <= 8x); ${(tDevalue / tOurs).toFixed(2)}x devalue's speed (goal >= 2x)`,
          ],
          [
            "  same, CPU time",
            cOurs,
            `${(cOurs / cJson).toFixed(2)}x JSON's CPU; ${(cDevalue / cOurs).toFixed(2)}x devalue's speed in CPU time`,
          ],
          ["import of JSON literal", tFloor, "1.00x (V8 floor)"],
          [
            "native import()",
            tImport,
            `${(tImport / tFloor).toFixed(2)}x the floor (goal <= 1.2x)`,
          ],
        ],
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

export async function run(): Promise<void> {
  await runShapes();
  const nodes = Number(process.env.PERSIST_BENCH_NODES ?? 100_000);
  const graph = makeGraph(nodes);
  const archive = new Archive();
  archive.insert({ graph });

  const tJson = await best(() => JSON.stringify(graph));
  const tOurs = await best(() => archive.toString());
  const tDevalue = await best(() => uneval(graph));

  const dir = await mkdtemp(join(tmpdir(), "persist-bench-"));
  try {
    const jsonText = JSON.stringify(graph);
    const modText = archive.toString();
    const file = join(dir, "g.mjs");
    await writeFile(file, modText);
    let n = 0;
    const tImport = await best(async () => {
      await import(`${pathToFileURL(file).href}?v=${n++}`);
    });
    const tParse = await best(() => JSON.parse(jsonText));
    // The floor for any readable literal archive: V8 importing the same data as one JSON literal.
    const literalFile = join(dir, "literal.mjs");
    await writeFile(literalFile, `export default ${jsonText};\n`);
    const tLiteral = await best(async () => {
      await import(`${pathToFileURL(literalFile).href}?v=${n++}`);
    });
    printTable(`Archive core: graph of ${nodes.toLocaleString()} objects/arrays, 10% shared`, [
      ["JSON.stringify", tJson, "1.00x (baseline)"],
      ["Archive.toString()", tOurs, `${(tOurs / tJson).toFixed(2)}x JSON (target <= 3x)`],
      [
        "devalue.uneval",
        tDevalue,
        `toString is ${(tDevalue / tOurs).toFixed(2)}x faster (target >= 2x)`,
      ],
      ["JSON.parse", tParse, "1.00x (baseline)"],
      ["native import()", tImport, `${(tImport / tParse).toFixed(2)}x JSON.parse (target <= 2x)`],
      [
        "import of JSON as a literal",
        tLiteral,
        `${(tImport / tLiteral).toFixed(2)}x: our module vs V8's literal floor`,
      ],
    ]);
    console.log(
      `  module text ${(modText.length / 1e6).toFixed(2)} MB, JSON ${(jsonText.length / 1e6).toFixed(2)} MB`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
