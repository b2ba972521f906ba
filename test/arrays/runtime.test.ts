/**
 * The runtime file as saved archives use it: copied into a folder outside the repository and
 * imported by plain `node` (no tsx, no library).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFile, mkdir, readFile, stat, symlink, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { NDArray, writeArrayFiles } from "../../src/index.js";
import { tempDir } from "../helpers/tmp.js";
import { allSamples, cOrderHex, hexOf } from "./samples.js";

const RUNTIME = fileURLToPath(new URL("../../src/runtime/persist-runtime.mjs", import.meta.url));
const H5WASM = resolve(dirname(RUNTIME), "../../node_modules/h5wasm");

/** A temp "archive folder" holding a copy of the runtime (and h5wasm when asked). */
async function archiveFolder(withH5wasm: boolean): Promise<string> {
  const dir = await tempDir();
  await copyFile(RUNTIME, join(dir, "_persist_runtime.v1.mjs"));
  if (withH5wasm) {
    await mkdir(join(dir, "node_modules"));
    await symlink(H5WASM, join(dir, "node_modules", "h5wasm"), "dir");
  }
  return dir;
}

/** Runs `module` as an ES module with plain node (no tsx) in `dir`. */
function runNode(
  dir: string,
  module: string,
): { status: number | null; stdout: string; stderr: string } {
  const res = spawnSync(process.execPath, ["--input-type=module", "-e", module], {
    cwd: dir,
    encoding: "utf8",
    env: { ...process.env, NODE_OPTIONS: "" },
  });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

const DUMP = `
const out = {};
for (const [k, a] of Object.entries(arrays)) {
  const d = a.data;
  out[k] = { dtype: a.dtype, shape: a.shape, order: a.order, ctor: d.constructor.name,
    hex: Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString("hex"),
    ownBuffer: d.byteOffset % 64 === 0, nd: a instanceof NDArray };
}
console.log(JSON.stringify(out));`;

const LOCATIONS = { npy: "./_arrays", npz: "./run1_arrays.npz", hdf5: "./run1.h5" } as const;

for (const format of ["npy", "npz", "hdf5"] as const) {
  test(`runtime loadArrays (${format}) in a copied runtime, imported by plain node`, async () => {
    const dir = await archiveFolder(format === "hdf5");
    const arrays = allSamples().filter((s) => format !== "hdf5" || !s.name.startsWith("f2_"));
    await writeArrayFiles(join(dir, LOCATIONS[format]), format, arrays);
    const names = JSON.stringify(arrays.map((a) => a.name));
    const archive = `import { NDArray, loadArrays } from "./_persist_runtime.v1.mjs";
export const arrays = await loadArrays(import.meta.url, ${JSON.stringify(LOCATIONS[format])}, "${format}", ${names});\n`;
    await writeFile(join(dir, "archive.mjs"), archive);
    const res = runNode(
      dir,
      `import { arrays } from ${JSON.stringify(pathToFileURL(join(dir, "archive.mjs")).href)};
import { NDArray } from ${JSON.stringify(pathToFileURL(join(dir, "_persist_runtime.v1.mjs")).href)};${DUMP}`,
    );
    assert.equal(res.status, 0, res.stderr);
    const got = JSON.parse(res.stdout);
    for (const { name, array } of arrays) {
      const g = got[name];
      assert.ok(g, name);
      assert.equal(g.dtype, array.dtype, name);
      assert.deepEqual(g.shape, array.shape, name);
      assert.equal(g.order, array.order, name);
      assert.equal(g.ctor, array.data.constructor.name, name);
      assert.equal(g.hex, hexOf(array), name);
      assert.ok(g.nd, name);
    }
    // imported in this process too: the archive's NDArray is the library's NDArray
    const mod = await import(pathToFileURL(join(dir, "archive.mjs")).href);
    const first = mod.arrays[arrays[0]!.name];
    assert.ok(first instanceof NDArray);
    assert.equal(cOrderHex(first), cOrderHex(arrays[0]!.array));
  });
}

test("runtime npy loading reads the data into a buffer of exactly its size (no copy)", async () => {
  const dir = await archiveFolder(false);
  const big = new NDArray(
    Float64Array.from({ length: 1000 }, (_, i) => i),
    [10, 100],
  );
  await writeArrayFiles(join(dir, "_arrays"), "npy", [{ name: "big", array: big }]);
  const { loadArrays } = await import(pathToFileURL(join(dir, "_persist_runtime.v1.mjs")).href);
  const { big: back } = await loadArrays(
    pathToFileURL(join(dir, "a.mjs")).href,
    "./_arrays",
    "npy",
    ["big"],
  );
  // the data went straight from the file into a buffer of exactly its size
  assert.ok((await stat(join(dir, "_arrays", "big.npy"))).size > 8000);
  assert.equal(back.data.buffer.byteLength, 8000);
  assert.equal(back.data.byteOffset, 0);
  assert.deepEqual([...back.data], [...big.data]);
});

test("runtime errors: missing files and arrays, bad names, no h5wasm — named, with a code", async () => {
  const dir = await archiveFolder(false);
  await writeArrayFiles(join(dir, "_arrays"), "npy", [
    { name: "a", array: new NDArray(new Int8Array(2), [2]) },
  ]);
  await writeArrayFiles(join(dir, "x.npz"), "npz", [
    { name: "a", array: new NDArray(new Int8Array(2), [2]) },
  ]);
  await writeFile(join(dir, "x.h5"), "");
  const { loadArrays } = await import(pathToFileURL(join(dir, "_persist_runtime.v1.mjs")).href);
  const url = pathToFileURL(join(dir, "archive.mjs")).href;
  const expectError = async (args: unknown[], pattern: RegExp) => {
    await assert.rejects(loadArrays(url, ...args), (e: { code?: string; message: string }) => {
      assert.equal(e.code, "PERSIST_FORMAT", e.message);
      assert.match(e.message, pattern);
      return true;
    });
  };
  await expectError(
    ["./_arrays", "npy", ["b"]],
    /_arrays[/\\]b\.npy: data file of array "b" is missing/,
  );
  await expectError(
    ["./gone", "npz", ["a"]],
    /gone: data file is missing \(needed by .*archive\.mjs\)/,
  );
  await expectError(["./x.npz", "npz", ["b"]], /x\.npz: has no array "b"/);
  await expectError(["./_arrays", "npy", ["../x"]], /bad array name/);
  await expectError(["./_arrays", "zarr", ["a"]], /unknown array format "zarr"/);
  await expectError(["./x.h5", "hdf5", ["a"]], /not an HDF5 file/);
  // a real HDF5 file, but h5wasm is not resolvable from the archive folder
  const h5dir = await tempDir();
  await writeArrayFiles(join(h5dir, "y.h5"), "hdf5", [
    { name: "a", array: new NDArray(new Int8Array(2), [2]) },
  ]);
  await copyFile(join(h5dir, "y.h5"), join(dir, "y.h5"));
  const res = runNode(
    dir,
    `import { loadArrays } from "./_persist_runtime.v1.mjs";
try { await loadArrays(${JSON.stringify(url)}, "./y.h5", "hdf5", ["a"]); } catch (e) { console.log(e.code, e.message); }`,
  );
  assert.match(res.stdout, /PERSIST_FORMAT .*y\.h5: reading HDF5 needs the h5wasm package/);
});

test("the runtime imports only Node built-ins (and h5wasm, lazily), all dynamically", async () => {
  const source = await readFile(RUNTIME, "utf8");
  const specifiers = [
    ...source.matchAll(/\bimport\s*(?:[^"'()]*?from\s*)?\(?\s*["']([^"']+)["']/g),
  ].map((m) => m[1]);
  assert.ok(specifiers.length > 0);
  for (const s of specifiers) {
    assert.ok(s!.startsWith("node:") || s === "h5wasm/node" || s === "h5wasm", s);
  }
  // No static import (nor re-export) at all: the runtime must also import in a browser, where
  // node:* cannot be resolved; it imports the built-ins only where they exist.
  assert.doesNotMatch(source, /^\s*import\s*[^\s(]/m);
  assert.doesNotMatch(source, /^\s*export\s[^;]*\sfrom\s/m);
});
