/**
 * `persist show` reads headers only (npy header, zip central directory, HDF5 metadata): an archive
 * or DataSet item whose array data is corrupt (a stored npz entry failing its CRC, which any full
 * read checks) is still shown with every kind, dtype and shape; `get` still refuses it.
 */
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { Archive } from "../../src/archive.js";
import { DataSet } from "../../src/dataset/dataset.js";
import { NDArray } from "../../src/runtime/persist-runtime.mjs";
import { tempDir } from "../helpers/tmp.js";
import { runInProcess } from "./helpers.js";

/** Flips bytes in the middle of an npz's largest stored entry's data (its CRC then fails). */
async function corruptNpz(path: string): Promise<void> {
  const bytes = await readFile(path);
  // The data of the big array is the long run of 8-byte floats near the middle of the file.
  const at = Math.floor(bytes.length / 2);
  for (let i = at; i < at + 64; i++) bytes[i] = bytes[i]! ^ 0xff;
  await writeFile(path, bytes);
}

function values() {
  const xs = Float64Array.from({ length: 4096 }, (_, i) => i / 7);
  return {
    xs,
    view: new Float32Array(Float32Array.from({ length: 2048 }, (_, i) => i).buffer, 64, 100),
    grid: new NDArray(
      Int32Array.from({ length: 4096 }, (_, i) => i),
      [64, 64],
    ),
    nested: {
      field: new NDArray(
        Float64Array.from({ length: 3 * 512 }, (_, i) => i),
        [3, 512],
      ),
    },
  };
}

test("show on an archive with corrupt array data lists kinds, dtypes and shapes (headers only)", async () => {
  const dir = await tempDir();
  const archive = new Archive({ arrayThreshold: 16 });
  archive.insert(values());
  const { entry } = await archive.save(dir, { name: "run1", dataFormat: "npz" });
  const before = await runInProcess(["show", join(dir, "run1"), "--json"]);
  assert.equal(before.code, 0, before.stderr);
  await corruptNpz(join(dir, "run1", "_arrays.npz"));
  const broken = await runInProcess(["get", entry, "grid", "--json"]);
  assert.notEqual(broken.code, 0, "a full read checks the CRC");
  const after = await runInProcess(["show", join(dir, "run1"), "--json"]);
  assert.equal(after.stderr, "");
  assert.equal(after.code, 0);
  const shown = JSON.parse(after.stdout);
  assert.deepEqual(shown, JSON.parse(before.stdout), "the same listing as before the damage");
  assert.deepEqual(
    shown.items.map((i: { name: string; kind: string; shape?: number[] }) => [
      i.name,
      i.kind,
      i.shape,
    ]),
    [
      ["xs", "Float64Array", [4096]],
      ["view", "Float32Array", [100]],
      ["grid", "NDArray", [64, 64]],
      ["nested", "object", undefined],
    ],
  );
  assert.deepEqual(shown.arrays, [
    { path: "nested.field", kind: "NDArray", dtype: "<f8", shape: [3, 512] },
  ]);
});

test("show on a DataSet reads item headers only: an item with corrupt array data is still listed", async () => {
  const dir = await tempDir();
  const path = join(dir, "ds");
  const ds = await DataSet.open(path, { mode: "w", arrayThreshold: 16, dataFormat: "npz" });
  await ds.set("a", values().grid, { info: { k: 1 } });
  const before = await runInProcess(["show", path, "--json"]);
  assert.equal(before.code, 0, before.stderr);
  const npz = (await import("node:fs/promises")).readdir(path);
  const file = (await npz).find((f) => f.startsWith("a") && f.endsWith(".npz"));
  assert.ok(file, "the item's npz");
  await corruptNpz(join(path, file));
  await assert.rejects(ds.get("a"), /CRC/);
  const after = await runInProcess(["show", path, "--json"]);
  assert.equal(after.stderr, "");
  assert.equal(after.code, 0);
  const item = JSON.parse(after.stdout).items[0];
  assert.deepEqual(
    [item.name, item.kind, item.dtype, item.shape],
    ["a", "NDArray", "<i4", [64, 64]],
  );
  assert.deepEqual(JSON.parse(after.stdout), JSON.parse(before.stdout));
});
