/** Interop with real numpy 1.24 and h5py 3.7 through /usr/bin/python3. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { readHdf5File } from "../../src/arrays/hdf5.js";
import {
  FormatError,
  type NDArray,
  npy,
  readArrayFiles,
  writeArrayFiles,
} from "../../src/index.js";
import { requirePython, runPython } from "../helpers/python.js";
import { tempDir } from "../helpers/tmp.js";
import { allSamples, cOrderHex, hexOf } from "./samples.js";

interface Expected {
  descr: string;
  shape: number[];
  fortran: boolean;
  hex: string;
}

/** Python: values per kind, specials included; `expected(a)` describes an array the way we hold it. */
const PY_PRELUDE = `
import json, sys, os, zipfile
import numpy as np
rng = np.random.default_rng(7)
KINDS = ["b1","i1","u1","i2","u2","f2","i4","u4","f4","i8","u8","f8","c8","c16"]
def values(kind, shape):
    dt = np.dtype(kind if kind != "b1" else "?")
    n = int(np.prod(shape))
    if dt.kind == "b": a = rng.integers(0, 2, n).astype(bool)
    elif dt.kind in "iu":
        info = np.iinfo(dt); a = rng.integers(info.min, info.max, n, dtype=dt, endpoint=True)
        if n >= 2: a[0], a[1] = info.min, info.max
    elif dt.kind == "f":
        a = (rng.standard_normal(n) * 1000).astype(dt)
        for i, s in enumerate([np.nan, -0.0, np.inf, -np.inf, np.finfo(dt).tiny, np.finfo(dt).max]):
            if i < n: a[i] = s
    else:
        a = (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(dt)
        if n >= 1: a[0] = complex(np.nan, -0.0)
    return a.reshape(shape)
def native(a):
    return a.astype(a.dtype.newbyteorder("<")) if a.dtype.byteorder == ">" else a
def expected(a):
    fortran = bool(a.flags.f_contiguous and not a.flags.c_contiguous)
    n = native(a)
    return {"descr": n.dtype.str, "shape": list(a.shape), "fortran": fortran,
            "hex": n.tobytes(order="F" if fortran else "C").hex()}
`;

function assertMatches(got: NDArray | undefined, want: Expected, label: string): void {
  assert.ok(got, `${label}: missing`);
  assert.equal(got.dtype, want.descr, label);
  assert.deepEqual(got.shape, want.shape, label);
  assert.equal(got.order, want.fortran ? "F" : "C", label);
  assert.equal(hexOf(got), want.hex, label);
}

test("numpy writes npy (every dtype, big-endian, Fortran, v1/v2/v3) → npy.read reads it", async (t) => {
  if (!requirePython(t)) return;
  const dir = await tempDir();
  const manifest: Record<string, Expected> = JSON.parse(
    runPython(
      `${PY_PRELUDE}
out = {}
d = sys.argv[1]
for kind in KINDS:
    for shape in [(2, 3), (5,), (), (0, 3), (2, 3, 2)]:
        a = values(kind, shape)
        variants = {"c": a}
        if len(shape) >= 2: variants["f"] = np.asfortranarray(a)
        if a.dtype.itemsize > 1 and a.dtype.kind != "b":
            variants["be"] = a.astype(a.dtype.newbyteorder(">"))
            if len(shape) >= 2: variants["bef"] = np.asfortranarray(variants["be"])
        for vname, arr in variants.items():
            for version in [(1, 0), (2, 0), (3, 0)]:
                name = f"{kind}_{vname}_{'x'.join(map(str, shape)) or 'scalar'}_v{version[0]}"
                with open(os.path.join(d, name + ".npy"), "wb") as f:
                    np.lib.format.write_array(f, arr, version=version)
                out[name] = expected(arr)
p = values("f8", (4, 4))
np.save(os.path.join(d, "plain.npy"), p)
out["plain"] = expected(p)
print(json.dumps(out))`,
      [dir],
    ),
  );
  assert.ok(Object.keys(manifest).length > 300);
  for (const [name, want] of Object.entries(manifest)) {
    assertMatches(await npy.read(join(dir, `${name}.npy`)), want, name);
  }
});

test("numpy savez and savez_compressed (zip64 extras, deflate) → npz readers", async (t) => {
  if (!requirePython(t)) return;
  const dir = await tempDir();
  const manifest: Record<string, Record<string, Expected>> = JSON.parse(
    runPython(
      `${PY_PRELUDE}
d = sys.argv[1]
arrays = {k: values(k, (3, 4)) for k in KINDS}
arrays["fort"] = np.asfortranarray(values("f8", (3, 5)))
arrays["bigend"] = values("i4", (6,)).astype(">i4")
arrays["empty"] = values("f4", (0,))
np.savez(os.path.join(d, "plain.npz"), **arrays)
np.savez_compressed(os.path.join(d, "packed.npz"), **arrays)
with zipfile.ZipFile(os.path.join(d, "packed.npz")) as z:
    assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in z.infolist())
print(json.dumps({"plain": {k: expected(v) for k, v in arrays.items()}}))`,
      [dir],
    ),
  );
  for (const file of ["plain.npz", "packed.npz"]) {
    const got = await readArrayFiles(join(dir, file), "npz");
    assert.deepEqual(Object.keys(got).sort(), Object.keys(manifest.plain!).sort());
    for (const [name, want] of Object.entries(manifest.plain!)) {
      assertMatches(got[name], want, `${file}/${name}`);
    }
  }
});

test("we write npy and npz (every dtype) → numpy reads exactly the same values", async (t) => {
  if (!requirePython(t)) return;
  const dir = await tempDir();
  const arrays = allSamples();
  await writeArrayFiles(join(dir, "npy"), "npy", arrays);
  await writeArrayFiles(join(dir, "a.npz"), "npz", arrays);
  const got: Record<string, Record<string, Expected>> = JSON.parse(
    runPython(
      `${PY_PRELUDE}
d = sys.argv[1]
npy = {f[:-4]: expected(np.load(os.path.join(d, "npy", f))) for f in os.listdir(os.path.join(d, "npy"))}
with np.load(os.path.join(d, "a.npz")) as z:
    npz = {k: expected(z[k]) for k in z.files}
with zipfile.ZipFile(os.path.join(d, "a.npz")) as z:
    assert all(i.compress_type == zipfile.ZIP_STORED and i.filename.endswith(".npy") for i in z.infolist())
    assert z.testzip() is None
print(json.dumps({"npy": npy, "npz": npz}))`,
      [dir],
    ),
  );
  for (const { name, array } of arrays) {
    for (const format of ["npy", "npz"]) {
      const want = got[format]![name];
      assert.ok(want, `${format} ${name}`);
      assert.equal(want.descr, array.dtype, `${format} ${name}`);
      assert.deepEqual(want.shape, array.shape, `${format} ${name}`);
      assert.equal(
        want.fortran,
        array.order === "F" && array.shape.filter((n) => n > 1).length > 1,
        `${format} ${name}`,
      );
      assert.equal(want.hex, want.fortran ? hexOf(array) : cOrderHex(array), `${format} ${name}`);
    }
  }
});

test("we write HDF5 (every dtype but f2, blocks, Fortran) → h5py reads the same arrays", async (t) => {
  if (!requirePython(t, "h5py")) return;
  const dir = await tempDir();
  const arrays = allSamples().filter((s) => !s.name.startsWith("f2_"));
  const { writeHdf5 } = await import("../../src/arrays/hdf5.js");
  await writeHdf5(join(dir, "a.h5"), arrays, { blockBytes: 100 });
  const got: Record<
    string,
    { descr: string; shape: number[]; hex: string; attrs: Record<string, string> }
  > = JSON.parse(
    runPython(
      `${PY_PRELUDE}
import h5py
out = {}
with h5py.File(sys.argv[1], "r") as f:
    for k in f:
        a = f[k][()]
        a = np.asarray(a)
        out[k] = {"descr": a.dtype.str, "shape": list(a.shape), "hex": np.ascontiguousarray(a).tobytes().hex(),
                  "attrs": {n: (v.decode() if isinstance(v, bytes) else str(v)) for n, v in f[k].attrs.items()}}
print(json.dumps(out))`,
      [join(dir, "a.h5")],
    ),
  );
  for (const { name, array } of arrays) {
    const want = got[name];
    assert.ok(want, name);
    const descr = array.dtype === "|b1" ? "|i1" : array.dtype;
    assert.equal(want.descr, descr, name);
    assert.deepEqual(want.shape, array.shape, name);
    assert.equal(want.hex, cOrderHex(array), name);
    if (array.dtype === "|b1") assert.equal(want.attrs.persist_dtype, "|b1");
  }
});

test("h5py writes HDF5 (every dtype, bool enum, big-endian, gzip+shuffle) → we read it; LZF is refused", async (t) => {
  if (!requirePython(t, "h5py")) return;
  const dir = await tempDir();
  const path = join(dir, "py.h5");
  const manifest: Record<string, Expected> = JSON.parse(
    runPython(
      `${PY_PRELUDE}
import h5py
out = {}
with h5py.File(sys.argv[1], "w") as f:
    for kind in KINDS:
        a = values(kind, (4, 5))
        f.create_dataset(kind, data=a)
        out[kind] = expected(a)
    s = values("f8", ())
    f.create_dataset("scalar", data=s); out["scalar"] = expected(s)
    be = values("f8", (3, 2)).astype(">f8")
    f.create_dataset("bigend", data=be); out["bigend"] = expected(be)
    z = values("i4", (40, 30))
    f.create_dataset("gz", data=z, compression="gzip", shuffle=True, chunks=(7, 9), fletcher32=True); out["gz"] = expected(z)
    e = values("f4", (0, 4))
    f.create_dataset("empty", data=e); out["empty"] = expected(e)
    f.create_dataset("lzf", data=values("f8", (50,)), compression="lzf")
    f.create_dataset("strings", data=np.array([b"ab", b"cd"]))
out["b1"]["descr"] = "|b1"
print(json.dumps(out))`,
      [path],
    ),
  );
  const names = Object.keys(manifest);
  const got = await readHdf5File(path, names, { blockBytes: 64 });
  for (const [name, want] of Object.entries(manifest)) assertMatches(got[name], want, name);
  await assert.rejects(readArrayFiles(path, "hdf5", ["lzf"]), (e: unknown) => {
    assert.ok(e instanceof FormatError);
    assert.match(e.message, /dataset lzf.*filter lzf \(id 32000\)/);
    return true;
  });
  await assert.rejects(
    readArrayFiles(path, "hdf5", ["strings"]),
    /strings.*does not map to a numpy number dtype/,
  );
});
