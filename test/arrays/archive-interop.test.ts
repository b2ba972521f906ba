/**
 * Archives with external arrays: numpy/h5py read the data files Archive.save wrote, and the saved
 * module imported by plain node gives the same values.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdir, symlink } from "node:fs/promises";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Archive, type NDArray } from "../../src/index.js";
import { requirePython, runPython } from "../helpers/python.js";
import { tempDir } from "../helpers/tmp.js";
import { cOrderHex, hexOf, sample } from "./samples.js";

const H5WASM = fileURLToPath(new URL("../../node_modules/h5wasm", import.meta.url));

/** Big enough to go external at arrayThreshold 4; one per dtype family and order. */
function items(format: string): Record<string, NDArray> {
  const out: Record<string, NDArray> = {
    f8: sample("f8", [3, 4]),
    f4F: sample("f4", [4, 3], "F"),
    i8: sample("i8", [6]),
    u2: sample("u2", [2, 2, 2]),
    i1: sample("i1", [5]),
    b1: sample("b1", [6]),
    c16: sample("c16", [5]),
    c8F: sample("c8", [2, 3], "F"),
  };
  if (format !== "hdf5") out.f2 = sample("f2", [2, 5]);
  return out;
}

const PY_DUMP = `
import json, sys, os
import numpy as np
def desc(a):
    a = np.asarray(a)
    return {"shape": list(a.shape), "hex": np.ascontiguousarray(a).tobytes().hex()}
fmt, path = sys.argv[1], sys.argv[2]
out = []
if fmt == "npy":
    for f in sorted(os.listdir(path)):
        out.append(desc(np.load(os.path.join(path, f))))
elif fmt == "npz":
    with np.load(path) as z:
        out = [desc(z[k]) for k in z.files]
else:
    import h5py
    with h5py.File(path, "r") as f:
        out = [desc(f[k][()]) for k in f]
print(json.dumps(out))`;

for (const format of ["npy", "npz", "hdf5"] as const) {
  test(`archive saved with ${format} data: numpy/h5py read the files, plain node imports the values`, async (t) => {
    if (!requirePython(t, format === "hdf5" ? "h5py" : "numpy")) return;
    const dir = await tempDir();
    if (format === "hdf5") {
      await mkdir(join(dir, "node_modules"));
      await symlink(H5WASM, join(dir, "node_modules", "h5wasm"), "dir");
    }
    const values = items(format);
    const archive = new Archive({ arrayThreshold: 4 });
    archive.insert(values);
    const res = await archive.save(dir, { name: "run1", dataFormat: format, package: false });
    const dataFile = resolve(
      dir,
      { npy: "run1_arrays", npz: "run1_arrays.npz", hdf5: "run1_arrays.h5" }[format],
    );

    // Python sees every array, with the same logical values (C-order bytes, same shape).
    const seen: { shape: number[]; hex: string }[] = JSON.parse(
      runPython(PY_DUMP, [format, dataFile]),
    );
    const expected = Object.values(values).map((a) => ({ shape: [...a.shape], hex: cOrderHex(a) }));
    const key = (x: { shape: number[]; hex: string }) => `${x.shape.join("x")}:${x.hex}`;
    assert.deepEqual(seen.map(key).sort(), expected.map(key).sort());

    // Plain node (no tsx, no library) imports the module and gets the same arrays.
    const script = `const m = await import(${JSON.stringify(pathToFileURL(res.entry).href)});
const out = {};
for (const [k, a] of Object.entries(m)) {
  const d = a.data;
  out[k] = { dtype: a.dtype, shape: a.shape, order: a.order,
    hex: Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString("hex") };
}
console.log(JSON.stringify(out));`;
    const run = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
      cwd: dir,
      encoding: "utf8",
      env: { ...process.env, NODE_OPTIONS: "" },
    });
    assert.equal(run.status, 0, run.stderr);
    const got = JSON.parse(run.stdout);
    for (const [name, a] of Object.entries(values)) {
      assert.deepEqual(
        got[name],
        { dtype: a.dtype, shape: [...a.shape], order: a.order, hex: hexOf(a) },
        name,
      );
    }
  });
}
