/**
 * Saved archives import unchanged in Deno and Bun (the `deno` and `bun` npm packages, pinned
 * devDependencies, ship the binaries): npy and npz packages, a module-layout archive, and a
 * DataSet's index and item. Each runtime runs a small script in the temp folder, outside this
 * repository, and prints what it imported as JSON; we compare it with what Node imports.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Archive, DataSet, NDArray } from "../../src/index.js";
import { tempDir } from "../helpers/tmp.js";

const bin = (name: string) =>
  fileURLToPath(new URL(`../../node_modules/.bin/${name}`, import.meta.url));

/** The same checks in every runtime: what each archive imports as, in a JSON-able form. */
const SCRIPT = `
const out = {};
const show = (v) => v instanceof Uint8Array && v.constructor.name !== "Uint8Array"
  ? { type: v.constructor.name, data: Array.from(v) }
  : v instanceof Float64Array || v instanceof Int32Array || v instanceof Uint8Array
  ? { type: v.constructor.name, data: Array.from(v) }
  : v && v.constructor && v.constructor.name === "NDArray"
    ? { type: "NDArray", dtype: v.dtype, shape: v.shape, order: v.order, data: Array.from(v.data) }
    : v;
for (const [label, spec] of [["npy", "./npy/run1/index.mjs"], ["npz", "./npz/run1/index.mjs"], ["module", "./run2.mjs"]]) {
  const m = await import(spec);
  out[label] = {
    results: { ...m.results, big: show(m.results.big), buf: show(m.results.buf) },
    grid: show(m.grid),
  };
}
const index = await import("./ds/index.mjs");
out.info = index.info;
const item = await import("./ds/x_1.mjs");
out.item = { ...item.default, data: show(item.default.data) };
console.log(JSON.stringify(out));
`;

async function fixtures(): Promise<string> {
  const dir = await tempDir("persist-runtimes-");
  const make = () => {
    const archive = new Archive({ arrayThreshold: 10 });
    archive.insert({
      results: {
        mu: 0.5,
        label: "é",
        big: new Float64Array(40).map((_, i) => i / 4),
        buf: Buffer.from("a Buffer"),
      },
      grid: new NDArray(
        new Int32Array(24).map((_, i) => i * 3),
        [2, 3, 4],
        { order: "F" },
      ),
    });
    return archive;
  };
  await make().save(join(dir, "npy"), { name: "run1", dataFormat: "npy" });
  await make().save(join(dir, "npz"), { name: "run1", dataFormat: "npz" });
  await make().save(dir, { name: "run2", package: false });
  const ds = await DataSet.open(join(dir, "ds"), { mode: "w", arrayThreshold: 10 });
  await ds.insert({ n: 0 }, { info: { mu: 0 } });
  await ds.insert({ n: 1, data: new Uint8Array(30).fill(7) }, { info: { mu: 1, tags: ["a"] } });
  await ds.close();
  await writeFile(join(dir, "check.mjs"), SCRIPT);
  return dir;
}

function run(cmd: string, args: string[], cwd: string): unknown {
  const res = spawnSync(cmd, args, {
    cwd,
    encoding: "utf8",
    env: { ...process.env, DENO_DIR: join(cwd, ".deno"), DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
    timeout: 120_000,
  });
  assert.equal(res.status, 0, `${cmd} ${args.join(" ")}: ${res.stderr}${res.error ?? ""}`);
  return JSON.parse(res.stdout.trim().split("\n").at(-1) as string);
}

describe("archives import unchanged in other runtimes", async () => {
  const dir = await fixtures();
  const expected = run(process.execPath, ["check.mjs"], dir);

  test("node (the reference) sees what was saved", () => {
    const e = expected as { npy: { results: { mu: number } }; info: Record<string, unknown> };
    assert.equal(e.npy.results.mu, 0.5);
    // README: Buffers come back as Buffers where the platform has them (Deno, Bun: compared below).
    assert.equal((e.npy.results as unknown as { buf: { type: string } }).buf.type, "Buffer");
    assert.deepEqual(e.info, { x_0: { mu: 0 }, x_1: { mu: 1, tags: ["a"] } });
  });

  for (const [runtime, args] of [
    ["deno", ["run", "--allow-read", "--no-prompt", "check.mjs"]],
    ["bun", ["check.mjs"]],
  ] as const) {
    test(`${runtime}: npy and npz packages, module layout, DataSet index and item`, (t) => {
      const path = bin(runtime);
      if (!existsSync(path)) {
        const msg = `${path} missing: npm ci installs the ${runtime} devDependency`;
        if (process.env.CI) throw new Error(msg);
        t.skip(msg);
        return;
      }
      assert.deepEqual(run(path, [...args], dir), expected);
    });
  }
});
