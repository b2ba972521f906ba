/**
 * arrayThreshold moves large arrays into npy / npz / HDF5 files beside the module; the module loads
 * them once on import, and identity holds across the boundary.
 */
import assert from "node:assert/strict";
import { mkdir, readdir, symlink } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { Archive, NDArray } from "../../src/index.js";
import { assertSameGraph } from "../helpers/same-graph.js";
import { tempDir } from "../helpers/tmp.js";

function sample() {
  const M = new NDArray(
    Float64Array.from({ length: 12 }, (_, i) => i / 7),
    [3, 4],
  );
  const N = new NDArray(
    Int32Array.from({ length: 6 }, (_, i) => -i),
    [2, 3],
    { order: "F" },
  );
  const shared = new ArrayBuffer(64);
  return {
    M,
    x: [M, N],
    t: Float32Array.from({ length: 10 }, (_, i) => i + 0.5),
    clamped: Uint8ClampedArray.from({ length: 20 }, (_, i) => i * 10),
    big: BigInt64Array.from({ length: 8 }, (_, i) => BigInt(i) * -(10n ** 15n)),
    complex: new NDArray(new Float64Array(16), [8], { dtype: "<c16" }),
    small: new Float64Array([1, 2]),
    buf: new Uint8Array(40).fill(7).buffer,
    views: { a: new Float64Array(shared, 0, 4), b: new Uint8Array(shared, 32, 32) },
    ndData: { nd: new NDArray(new Uint16Array(9), [3, 3]) },
  };
}

async function saveAndImport(format: "npy" | "npz" | "hdf5", asPackage: boolean) {
  const dir = await tempDir();
  if (format === "hdf5") {
    // An hdf5 archive imports h5wasm, which must resolve from the archive's folder.
    await mkdir(join(dir, "node_modules"));
    await symlink(
      join(process.cwd(), "node_modules", "h5wasm"),
      join(dir, "node_modules", "h5wasm"),
    );
  }
  const items = sample();
  (items.ndData as Record<string, unknown>).alsoData = items.ndData.nd.data;
  const archive = new Archive({ arrayThreshold: 5 });
  archive.insert(items);
  const res = await archive.save(dir, { name: "run1", dataFormat: format, package: asPackage });
  const mod = (await import(pathToFileURL(res.entry).href)) as Record<string, unknown>;
  return { dir, res, items, mod, text: archive.toString() };
}

for (const format of ["npy", "npz", "hdf5"] as const) {
  for (const asPackage of [true, false]) {
    test(`external arrays in ${format} (${asPackage ? "package" : "module"} layout) round-trip with identity`, async () => {
      const { mod, items, dir, res } = await saveAndImport(format, asPackage);
      for (const [name, value] of Object.entries(items)) assertSameGraph(mod[name], value, name);
      const x = mod.x as unknown[];
      assert.equal(x[0], mod.M, "x[0] === M after import");
      const views = mod.views as { a: Float64Array; b: Uint8Array };
      assert.equal(views.a.buffer, views.b.buffer, "views still share their buffer");
      const nd = mod.ndData as { nd: NDArray; alsoData: unknown };
      assert.equal(
        nd.alsoData,
        nd.nd.data,
        "NDArray data referenced elsewhere stays the same object",
      );
      assert.ok(mod.clamped instanceof Uint8ClampedArray);
      assert.ok(mod.M instanceof NDArray, "an imported NDArray is an NDArray for the library");
      const home = asPackage ? join(dir, "run1") : dir;
      const listing = await readdir(home);
      const data = {
        npy: asPackage ? "_arrays" : "run1_arrays",
        npz: asPackage ? "_arrays.npz" : "run1_arrays.npz",
        hdf5: asPackage ? "_arrays.h5" : "run1_arrays.h5",
      }[format];
      assert.ok(listing.includes(data), `${data} in ${listing.join(", ")}`);
      assert.ok(listing.includes("_persist_runtime.v1.mjs"));
      assert.ok(res.files.some((f) => f.endsWith(data)));
    });
  }
}

test("small arrays stay inline; the module names its data files and loads them once", async () => {
  const { text } = await saveAndImport("npy", true);
  assert.match(
    text,
    /const _arrays = await _loadArrays\(import\.meta\.url, "\.\/_arrays", "npy", \[/,
  );
  assert.match(text, /small: |export const small = new Float64Array\(\[1, 2\]\)/);
  assert.equal(text.match(/_loadArrays\(/g)?.length, 1);
});

test("the runtime is saved beside a module exactly when the module imports it", async () => {
  const dir = await tempDir();
  const runtimeIn = async (folder: string) =>
    (await readdir(folder)).includes("_persist_runtime.v1.mjs");
  const save = async (name: string, value: unknown, packaged: boolean) => {
    const archive = new Archive({ arrayThreshold: 4 });
    archive.insert({ value });
    await archive.save(dir, { name, package: packaged });
    return packaged ? join(dir, name) : dir;
  };
  // Plain data, even data that spells the runtime's specifier, needs no runtime.
  const spelled = { note: "./_persist_runtime.v1.mjs", from: 'import "./_persist_runtime.v1.mjs"' };
  assert.equal(await runtimeIn(await save("plain", spelled, true)), false);
  assert.equal(await runtimeIn(await save("plainModule", spelled, false)), false);
  // An NDArray, or arrays in data files, import it.
  const grid = new NDArray(new Float64Array(6), [2, 3]);
  assert.equal(await runtimeIn(await save("grid", { grid }, true)), true);
  assert.equal(await runtimeIn(await save("big", new Float64Array(100), true)), true);
  const other = await tempDir();
  const moduleArchive = new Archive();
  moduleArchive.insert({ grid });
  await moduleArchive.save(other, { name: "gridModule", package: false });
  assert.equal(await runtimeIn(other), true);
  const loaded = (await import(pathToFileURL(join(dir, "plain", "index.mjs")).href)) as {
    value: typeof spelled;
  };
  assert.deepEqual(loaded.value, spelled);
});
