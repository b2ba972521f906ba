/**
 * Saved archives and DataSets are typed when imported by path, without the library: every
 * supported TypeScript major (5.9, 6.0, 7.0, installed as aliased devDependencies) × every
 * module resolution that understands `.mjs` (node16, nodenext, bundler) compiles a strict consumer
 * in a temp dir outside the repository. `@ts-expect-error` lines prove the imports are not `any`
 * (an untyped import would make them unused, which is itself an error).
 */
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { Archive, DataSet, NDArray } from "../../src/index.js";
import { tempDir } from "../helpers/tmp.js";
import { COMPILERS, compile, compileMatrix, RESOLUTIONS } from "./compile.js";

const ROOT = process.cwd();
/** Saves a package archive, a module archive and a DataSet; returns the consumer's directory. */
async function saveEverything(): Promise<string> {
  const dir = await tempDir("persist-types-");
  const out = join(dir, "out");
  const results = {
    n: 4096,
    label: "sweep",
    runs: [{ dt: 0.1 }],
    field: new NDArray(new Float64Array(6), [2, 3]),
    when: new Date(0),
    table: new Map([["a", 1]]),
  };
  const a = new Archive({ arrayThreshold: 2 });
  a.insert({ results, count: 3 });
  await a.save(out, { name: "run1" });
  const m = new Archive();
  m.insert({ params: { omega: 2, gamma: 0.1 }, tags: ["x", "y"] });
  await m.save(out, { name: "run2", package: false });
  const ds = await DataSet.open(join(dir, "sweep.ds"), { mode: "w" });
  try {
    await ds.insert({ omega: 2, trajectory: new Float64Array(3) }, { info: { omega: 2 } });
  } finally {
    await ds.close();
  }
  return dir;
}

const CONSUMER = `import { results, count } from "./out/run1/index.mjs";
import { params, tags } from "./out/run2.mjs";
import { info } from "./sweep.ds/index.mjs";
import x0 from "./sweep.ds/x_0.mjs";
import { x_0 } from "./sweep.ds/x_0.mjs";

const n: number = results.n + count;
const label: string = results.label;
const dt: number = results.runs[0]!.dt;
const shape: readonly number[] = results.field.shape;
const data: Float64Array = results.field.data;
const when: Date = results.when;
const a: number | undefined = results.table.get("a");
const omega: number = params.omega;
const tag: string = tags[0]!;
const infoOf: unknown = info["x_0"];
const names: string[] = Object.keys(info);
const traj: Float64Array = x0.trajectory;
const same: number = x_0.omega;

// Each of these must be a type error: the imports are typed, not any.
// @ts-expect-error results.n is a number
const notString: string = results.n;
// @ts-expect-error results has no field missing
results.missing;
// @ts-expect-error params.omega is a number
const omegaText: string = params.omega;
// @ts-expect-error an info is unknown until narrowed
const infoNumber: number = info["x_0"];
// @ts-expect-error an item's field keeps its type
const trajText: string = x0.trajectory;
// @ts-expect-error count is a number
count.toUpperCase();

export { n, label, dt, shape, data, when, a, omega, tag, infoOf, names, traj, same };
export { notString, omegaText, infoNumber, trajText };
`;

/** A directory import through the archive's package.json: only bundler resolution allows it. */
const BUNDLER_CONSUMER = `import { results } from "./out/run1";
const n: number = results.n;
// @ts-expect-error results.n is a number
const s: string = results.n;
export { n, s };
`;

test("the test compilers are the versions they are named after", async () => {
  for (const compiler of COMPILERS) {
    const pkg = JSON.parse(
      await readFile(join(ROOT, "node_modules", compiler, "package.json"), "utf8"),
    );
    assert.equal(pkg.name, "typescript");
    assert.ok(pkg.version.startsWith(`${compiler.slice("typescript-".length)}.`), pkg.version);
  }
});

test("archives and DataSets are typed by path: TypeScript 5.9/6.0/7.0 × node16/nodenext/bundler", async () => {
  const dir = await saveEverything();
  await writeFile(join(dir, "consumer.mts"), CONSUMER);
  await writeFile(join(dir, "bundler.mts"), BUNDLER_CONSUMER);
  // The declarations the consumer relies on are really there, beside each module.
  for (const file of ["out/run1/index.d.mts", "out/run2.d.mts", "sweep.ds/index.d.mts"]) {
    assert.match(await readFile(join(dir, file), "utf8"), /export declare const/, file);
  }
  const failures = await compileMatrix(dir, (r) =>
    r.moduleResolution === "bundler" ? ["consumer.mts", "bundler.mts"] : ["consumer.mts"],
  );
  assert.deepEqual(failures, []);
});

test("a consumer that misuses an archive's types fails to compile (the check has teeth)", async () => {
  const dir = await saveEverything();
  await writeFile(
    join(dir, "bad.mts"),
    'import { results } from "./out/run1/index.mjs";\nconst s: string = results.n;\nexport { s };\n',
  );
  for (const compiler of COMPILERS) {
    const res = await compile(compiler, dir, "bad.mts", RESOLUTIONS[1]!);
    assert.equal(res.ok, false, compiler);
    assert.match(res.output, /TS2322/, compiler);
  }
});
