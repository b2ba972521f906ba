/**
 * The README's Archivable pattern, for real: a package `my-sim` (under a node_modules above the
 * archive) defines `class Run extends Archivable { static [persist.module] = "my-sim" }` with
 * persist-archive's built dist as its dependency; `new Run({ omega: 5, gamma: 0.1 })` keeps every
 * field through save → native import and load(), also for subclasses whose field initializers
 * (`omega = 0`) run after super().
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, symlink, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { Archivable, Archive, load, persist } from "../../src/index.js";
import { assertSameGraph } from "../helpers/same-graph.js";
import { tempDir } from "../helpers/tmp.js";

const REPO = resolve(import.meta.dirname, "../..");

const MY_SIM = `
import { Archivable, persist } from "persist-archive";
export class Run extends Archivable {
  static [persist.module] = "my-sim";
}
export class Tuned extends Run {
  omega = 0;
  gamma = 1;
  tags = ["default"];
  energy() { return this.omega * this.gamma; }
}
export class WithArgs extends Archivable {
  static [persist.module] = "my-sim";
  constructor(fields, label = "made") {
    super(fields);
    this.label = label;
  }
}
`;

async function mySim() {
  assert.ok(
    existsSync(join(REPO, "dist", "index.js")),
    "this test imports the built package: run `npm run build` first",
  );
  const root = await tempDir();
  await mkdir(join(root, "node_modules", "my-sim"), { recursive: true });
  await symlink(REPO, join(root, "node_modules", "persist-archive"), "dir");
  await writeFile(
    join(root, "node_modules", "my-sim", "package.json"),
    JSON.stringify({ name: "my-sim", type: "module", exports: "./index.js" }),
  );
  await writeFile(join(root, "node_modules", "my-sim", "index.js"), MY_SIM);
  const lib = (await import(
    pathToFileURL(join(root, "node_modules", "my-sim", "index.js")).href
  )) as Record<string, new (...a: unknown[]) => Record<string, unknown>>;
  return { root, lib };
}

test("README pattern: fields survive save → native import and load(), field initializers included", async () => {
  const { root, lib } = await mySim();
  const { Run, Tuned, WithArgs } = lib as Record<
    string,
    new (
      ...a: unknown[]
    ) => Record<string, unknown>
  >;
  const run = new Run!({ omega: 5, gamma: 0.1 });
  assert.deepEqual({ ...run }, { omega: 5, gamma: 0.1 }, "the constructor takes the fields");
  const tuned = new Tuned!();
  tuned.omega = 5;
  tuned.tags = ["a", "b"];
  const shared = { grid: [1, 2, 3] };
  const a = new Tuned!();
  a.omega = 2;
  a.cfg = shared;
  const b = new Run!({ cfg: shared, peer: a, ["__proto__"]: 1 });
  const withArgs = new WithArgs!({ x: 1 }, "custom");
  const items = { run, tuned, a, b, withArgs, list: [run, run] };

  const archive = new Archive();
  archive.insert(items);
  const text = archive.toString();
  assert.match(text, /export const run = _Run\.fromFields\(\{ omega: 5, gamma: 0\.1 \}\);/);
  const { entry } = await archive.save(join(root, "out"), { name: "sim" });
  const native = (await import(pathToFileURL(entry).href)) as Record<
    string,
    Record<string, unknown>
  >;
  const safe = (await load(entry, { modules: { "my-sim": lib } })) as Record<
    string,
    Record<string, unknown>
  >;
  for (const mod of [native, safe]) {
    for (const [name, v] of Object.entries(items)) {
      // Fields the constructor sets itself come first in the rebuilt instance (it runs first).
      if (name !== "withArgs") assertSameGraph(mod[name], v, name);
    }
    assert.ok(mod.run instanceof Run!);
    assert.ok(mod.tuned instanceof Tuned!);
    assert.equal(mod.tuned!.omega, 5, "field initializer omega = 0 does not clobber the value");
    assert.deepEqual(mod.tuned!.tags, ["a", "b"]);
    assert.equal((mod.tuned as unknown as { energy(): number }).energy(), 5, "methods work");
    assert.equal((mod.b as Record<string, unknown>).peer, mod.a, "sharing kept");
    assert.equal(Object.hasOwn(mod.b!, "__proto__"), true, "a __proto__ field stays a field");
    assert.deepEqual({ ...mod.withArgs }, { label: "custom", x: 1 });
  }
});

// Type-level: the README's `new Run({ ... })` compiles under strict TypeScript (this file is
// type-checked by `npm run typecheck`), with and without declared fields.
class TsRun extends Archivable {
  static [persist.module] = "my-sim";
}
class TsTyped extends Archivable {
  static [persist.module] = "my-sim";
  declare omega: number;
  gamma = 0.5;
}

test("strict TypeScript: new Run({ ... }) and Run.fromFields() type-check and set fields", () => {
  const r = new TsRun({ omega: 5, gamma: 0.1 });
  assert.deepEqual({ ...r }, { omega: 5, gamma: 0.1 });
  const t: TsTyped = TsTyped.fromFields({ omega: 3, gamma: 2 });
  assert.equal(t.omega, 3);
  assert.equal(t.gamma, 2, "fromFields sets fields after the initializer");
  assert.ok(t instanceof TsTyped);
});
