/**
 * Demo part 1: archive a realistic nested simulation result (class instances from a package,
 * a Map, shared sub-objects, a cycle, a big array in an .npy file), print the generated module,
 * import it back natively and check that the values match.
 */
import assert from "node:assert/strict";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Archive, NDArray } from "../src/index.js";

// A user's model library: it makes its classes archivable with the registered symbols alone.
const MODELS = `
const MODULE = Symbol.for("persist-archive.module");
const REP = Symbol.for("persist-archive.rep");
export class Model {
  static [MODULE] = "sim-models";
  constructor(kind, params) { this.kind = kind; this.params = params; }
  [REP]() { return [this.kind, this.params]; }
  energy(x) { return this.params.k * x * x / 2; }
}
`;

export async function archiveStory(root: string): Promise<void> {
  const pkg = join(root, "node_modules", "sim-models");
  await mkdir(pkg, { recursive: true });
  await writeFile(
    join(pkg, "package.json"),
    JSON.stringify({ name: "sim-models", type: "module", exports: "./index.js" }),
  );
  await writeFile(join(pkg, "index.js"), MODELS);
  const { Model } = (await import(pathToFileURL(join(pkg, "index.js")).href)) as {
    Model: new (kind: string, params: object) => { energy(x: number): number };
  };

  const grid = { dx: 0.01, n: 4096 };
  const model = new Model("harmonic", { k: 2.5 });
  const trajectory = new NDArray(
    Float64Array.from({ length: 3 * 4096 }, (_, i) => Math.sin(i / 100)),
    [3, 4096],
  );
  const runs = [0.1, 0.2].map((dt, i) => ({
    id: i,
    dt,
    grid,
    model,
    energies: [1.5, -0, Number.NaN],
  }));
  const results: Record<string, unknown> = {
    title: "harmonic oscillator sweep",
    created: new Date("2026-11-27T10:00:00Z"),
    runs,
    byDt: new Map(runs.map((r) => [r.dt, r])),
    trajectory,
  };
  results.self = results; // a cycle: persist (Python) cannot store this; we can

  const archive = new Archive({ arrayThreshold: 1000 });
  archive.insert({ results, grid });
  const { entry, files } = await archive.save(join(root, "archives"), { name: "sweep1" });

  console.log(`\n=== Archive saved: ${entry}`);
  for (const f of files) console.log(`    ${f.slice(root.length + 1)}`);
  console.log("\n=== The generated module (plain ES module, readable, editable):\n");
  console.log(await readFile(entry, "utf8"));

  const mod = (await import(pathToFileURL(entry).href)) as { results: any; grid: unknown };
  const back = mod.results;
  assert.equal(back.self, back, "the cycle is a cycle");
  assert.equal(back.runs[0].grid, mod.grid, "shared sub-objects are shared");
  assert.equal(back.byDt.get(0.2), back.runs[1], "Map values keep identity");
  assert.ok(back.runs[0].model instanceof Model, "rebuilt through Model's public constructor");
  assert.equal(back.runs[0].model.energy(2), 5);
  assert.ok(Object.is(back.runs[0].energies[1], -0));
  assert.deepEqual(back.trajectory.shape, [3, 4096]);
  assert.deepEqual(back.trajectory.data, trajectory.data);
  console.log(
    "=== Imported natively with `import()`: values, classes, sharing and the cycle all match.",
  );
}
