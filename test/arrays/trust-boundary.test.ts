/**
 * Issue 8's classes for data files, each against every reader that hands arrays out: `load()`
 * (safe and trusted), a native import of a saved archive (the runtime file beside it),
 * readArrayFiles (what the CLI uses), npy.decode/npy.read.
 *  - stale memory: every returned buffer holds exactly the array's bytes;
 *  - confinement: data files outside the archive's folder, non-regular files, HDF5 links,
 *    external storage and virtual datasets are refused;
 *  - memory bounded by file size (zip entries sharing a stream, lying sizes, unwritten HDF5
 *    chunks; maxExpansion raises the bound);
 *  - spoofed typed arrays;
 *  - zip CRC-32.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdir, readFile, rename, symlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { Archive } from "../../src/archive.js";
import { readArrayFiles, writeArrayFiles } from "../../src/arrays/containers.js";
import { ArchiveError, FormatError } from "../../src/errors.js";
import { npy } from "../../src/index.js";
import { load } from "../../src/load/index.js";
import { loadArrays, NDArray } from "../../src/runtime/persist-runtime.mjs";
import { requirePython } from "../helpers/python.js";
import { tempDir } from "../helpers/tmp.js";
import { craftZip } from "./zip-craft.js";

const SECRET = `persist-secret-${Math.random().toString(36).slice(2)}`;

/** Puts SECRET into Node's current Buffer pool slab (where a pooled result would also land). */
function plantSecret(): Buffer[] {
  const keep: Buffer[] = [];
  for (let i = 0; i < 32; i++) keep.push(Buffer.from(SECRET));
  return keep;
}

/** Every NDArray in `value` has a buffer of exactly its bytes, without SECRET. */
function assertExactBuffers(value: unknown, what: string): number {
  let seen = 0;
  const visit = (v: unknown) => {
    if (v instanceof NDArray || ArrayBuffer.isView(v)) {
      const data = v instanceof NDArray ? v.data : (v as Uint8Array);
      assert.equal(data.buffer.byteLength, data.byteLength, `${what}: buffer is not exact`);
      assert.ok(
        !Buffer.from(data.buffer).includes(SECRET),
        `${what}: the buffer holds unrelated process memory`,
      );
      seen++;
    } else if (v && typeof v === "object") for (const x of Object.values(v)) visit(x);
  };
  visit(value);
  return seen;
}

const small = () => new NDArray(Float64Array.from([1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5]), [8]);

/** Saves { a, b } with external arrays in `format`; returns the entry module path. */
async function saveArchive(format: "npy" | "npz" | "hdf5"): Promise<string> {
  const dir = await tempDir();
  const archive = new Archive({ arrayThreshold: 0 });
  archive.insert({ a: small(), b: new NDArray(new Int32Array([1, 2, 3, 4, 5, 6]), [2, 3]) });
  const { entry } = await archive.save(dir, { name: "run1", dataFormat: format });
  return entry;
}

/** The same archive with its npz entries deflated (like numpy.savez_compressed). */
async function deflatedNpzArchive(): Promise<string> {
  const entry = await saveArchive("npz");
  const npz = join(dirname(entry), "_arrays.npz");
  const arrays = await readArrayFiles(npz, "npz");
  const entries = Object.entries(arrays).map(([name, a]) => ({
    name: `${name}.npy`,
    data: npy.encode(a),
    deflate: true,
  }));
  await writeFile(npz, craftZip(entries));
  return entry;
}

async function readAllWays(entry: string, format: string): Promise<[string, unknown][]> {
  const out: [string, unknown][] = [];
  plantSecret();
  out.push(["load()", await load(entry)]);
  // Trusted and native imports of an hdf5 archive need h5wasm beside it (not in a temp dir).
  if (format === "hdf5") return out;
  plantSecret();
  out.push(["load(trusted)", await load(entry, { trusted: true })]);
  plantSecret();
  out.push(["native import", { ...(await import(pathToFileURL(entry).href)) }]);
  return out;
}

test("stale memory: arrays from load(), native import and readArrayFiles own exactly their bytes (npy, npz stored and deflated, hdf5)", async () => {
  const archives: [string, string][] = [
    ["npy", await saveArchive("npy")],
    ["npz", await saveArchive("npz")],
    ["npz deflated", await deflatedNpzArchive()],
    ["hdf5", await saveArchive("hdf5")],
  ];
  for (const [format, entry] of archives) {
    for (const [how, value] of await readAllWays(entry, format)) {
      assert.equal(assertExactBuffers(value, `${format} ${how}`) >= 2, true, `${format} ${how}`);
    }
  }
  const npz = join(dirname(archives[2]![1]), "_arrays.npz");
  plantSecret();
  assertExactBuffers(await readArrayFiles(npz, "npz"), "readArrayFiles deflated npz");
});

test("stale memory: npy.decode of a subarray copies instead of exposing the surrounding buffer", () => {
  const file = npy.encode(small());
  const big = new Uint8Array(file.length + 128);
  big.set(new TextEncoder().encode(SECRET), 0);
  big.set(file, 64);
  const a = npy.decode(big.subarray(64, 64 + file.length));
  assertExactBuffers(a, "npy.decode(subarray)");
  assert.deepEqual([...a.data], [...small().data]);
  // A buffer that is exactly the file may be viewed in place (that is the file's own data).
  const own = npy.decode(npy.encode(small()));
  assert.ok(!Buffer.from(own.data.buffer).includes(SECRET));
});

test("confinement: data files reached through symlinks out of the archive folder are refused", async () => {
  const outside = await tempDir();
  await npy.write(join(outside, "stolen.npy"), small());
  // a symlinked data file
  const entry = await saveArchive("npy");
  const arrays = join(dirname(entry), "_arrays");
  await rename(join(arrays, "array_0.npy"), join(arrays, "was.npy"));
  await symlink(join(outside, "stolen.npy"), join(arrays, "array_0.npy"));
  // a symlinked _arrays folder
  const entry2 = await saveArchive("npy");
  const arrays2 = join(dirname(entry2), "_arrays");
  await rename(arrays2, `${arrays2}.was`);
  await symlink(outside, arrays2);
  await writeFile(join(outside, "array_0.npy"), npy.encode(small()));
  await writeFile(join(outside, "array_1.npy"), npy.encode(small()));
  for (const e of [entry, entry2]) {
    await assert.rejects(load(e), (err: unknown) => {
      assert.ok(err instanceof FormatError, String(err));
      assert.match((err as Error).message, /outside/);
      return true;
    });
    await assert.rejects(import(pathToFileURL(e).href), /outside the archive folder/);
  }
});

test("confinement: a FIFO or a device as data file is a FormatError, never a hang", async (t) => {
  if (process.platform === "win32") return t.skip("no FIFOs");
  const entry = await saveArchive("npy");
  const arrays = join(dirname(entry), "_arrays");
  await rename(join(arrays, "array_0.npy"), join(arrays, "was.npy"));
  assert.equal(spawnSync("mkfifo", [join(arrays, "array_0.npy")]).status, 0);
  await assert.rejects(load(entry), /FIFO/);
  await assert.rejects(readArrayFiles(arrays, "npy", ["array_0"]), /FIFO/);
  const npzEntry = await saveArchive("npz");
  const npzPath = join(dirname(npzEntry), "_arrays.npz");
  await rename(npzPath, `${npzPath}.was`);
  await symlink("/dev/zero", npzPath);
  await assert.rejects(readArrayFiles(npzPath, "npz"), /device/);
  await assert.rejects(load(npzEntry), FormatError);
});

test("confinement: a module's array location cannot point outside its folder", async () => {
  const dir = await tempDir();
  const url = pathToFileURL(join(dir, "m.mjs")).href;
  await assert.rejects(loadArrays(url, "../elsewhere", "npy", ["a"]), /outside the archive/);
  await assert.rejects(loadArrays(url, "/etc", "npy", ["passwd"]), /outside the archive/);
  await assert.rejects(loadArrays(url, "./_arrays", "npy", ["../x"]), /bad array name/);
});

test("confinement: HDF5 external links, soft links, external storage and virtual datasets are refused", async (t) => {
  if (!requirePython(t, "h5py")) return;
  const dir = await tempDir();
  const script = `
import h5py, numpy as np, sys, os
d = sys.argv[1]
with h5py.File(os.path.join(d, "other.h5"), "w") as f: f["x"] = np.arange(5.)
open(os.path.join(d, "raw.bin"), "wb").write(np.arange(4.).tobytes())
with h5py.File(os.path.join(d, "main.h5"), "w") as f:
    f["a"] = np.arange(3.)
    f["ext_abs"] = h5py.ExternalLink(os.path.join(d, "other.h5"), "/x")
    f["ext_rel"] = h5py.ExternalLink("../other.h5", "/x")
    f["soft"] = h5py.SoftLink("/ext_abs")
    f.create_dataset("efile", shape=(4,), dtype="f8", external=[(os.path.join(d, "raw.bin"), 0, 32)])
    f.create_dataset("efile_rel", shape=(4,), dtype="f8", external=[("raw.bin", 0, 32)])
    lay = h5py.VirtualLayout(shape=(5,), dtype="f8")
    lay[:] = h5py.VirtualSource(os.path.join(d, "other.h5"), "x", shape=(5,))
    f.create_virtual_dataset("virt", lay)
`;
  const py = spawnSync("/usr/bin/python3", ["-c", script, dir], { encoding: "utf8" });
  assert.equal(py.status, 0, py.stderr);
  const file = join(dir, "main.h5");
  assert.deepEqual([...(await readArrayFiles(file, "hdf5", ["a"])).a!.data], [0, 1, 2]);
  const why: Record<string, RegExp> = {
    ext_abs: /external link/,
    ext_rel: /external link/,
    soft: /soft link/,
    efile: /another file|external/,
    efile_rel: /another file|external/,
    virt: /virtual/,
  };
  for (const [name, pattern] of Object.entries(why)) {
    await assert.rejects(readArrayFiles(file, "hdf5", [name]), (err: unknown) => {
      assert.ok(err instanceof FormatError, `${name}: ${err}`);
      assert.match((err as Error).message, pattern, name);
      return true;
    });
  }
  // Reading everything refuses too (rather than skipping or following them).
  await assert.rejects(readArrayFiles(file, "hdf5"), FormatError);
});

test("memory bound: zip entries sharing one deflate stream, lying sizes and too much expansion are refused", async () => {
  const dir = await tempDir();
  const zeros = npy.encode(new NDArray(new Float64Array(1 << 20), [1 << 20])); // 8 MiB of zeros
  // 4 directory entries pointing at the same local header and stream
  const shared = craftZip(
    [{ name: "a.npy", data: zeros, deflate: true }],
    ["b", "c", "d"].map((n) => ({ name: `${n}.npy`, data: zeros, deflate: true })),
  );
  const sharedPath = join(dir, "shared.npz");
  await writeFile(sharedPath, shared);
  await assert.rejects(readArrayFiles(sharedPath, "npz"), /overlaps|share/);
  // a size the stream cannot produce
  const lying = craftZip([
    { name: "a.npy", data: npy.encode(small()), deflate: true, cd: { size: 2 ** 31 } },
  ]);
  const lyingPath = join(dir, "lying.npz");
  await writeFile(lyingPath, lying);
  await assert.rejects(readArrayFiles(lyingPath, "npz"), FormatError);
  // honest all-zeros data compresses ~1000x: loads by default, refused under a lower bound
  const zipped = join(dir, "zeros.npz");
  await writeFile(zipped, craftZip([{ name: "z.npy", data: zeros, deflate: true }]));
  const ok = await readArrayFiles(zipped, "npz");
  assert.equal(ok.z!.size, 1 << 20);
  await assert.rejects(readArrayFiles(zipped, "npz", undefined, { maxExpansion: 10 }), (err) => {
    assert.ok(err instanceof FormatError);
    assert.match((err as Error).message, /maxExpansion/);
    return true;
  });
  // the runtime beside archives applies the same bound (native imports: the default)
  await assert.rejects(
    loadArrays(pathToFileURL(join(dir, "m.mjs")).href, "./zeros.npz", "npz", ["z"], {
      maxExpansion: 10,
    }),
    /maxExpansion/,
  );
});

test("memory bound: an HDF5 dataset with unwritten chunks is refused unless maxExpansion allows it", async (t) => {
  if (!requirePython(t, "h5py")) return;
  const dir = await tempDir();
  const file = join(dir, "unwritten.h5");
  const py = spawnSync(
    "/usr/bin/python3",
    [
      "-c",
      "import h5py, sys\nwith h5py.File(sys.argv[1], 'w') as f:\n  f.create_dataset('u', shape=(2_000_000,), chunks=(1000,), dtype='f8')\n  f.create_dataset('g', shape=(1000,), chunks=(100,), dtype='f8', compression='gzip')",
      file,
    ],
    { encoding: "utf8" },
  );
  assert.equal(py.status, 0, py.stderr);
  await assert.rejects(readArrayFiles(file, "hdf5", ["u"]), /maxExpansion/);
  const raised = await readArrayFiles(file, "hdf5", ["u"], { maxExpansion: 1e6 });
  assert.equal(raised.u!.size, 2_000_000);
  // compressed datasets are bounded by the ratio alone
  assert.equal((await readArrayFiles(file, "hdf5", ["g"])).g!.size, 1000);
});

test("spoofed dtype: typed arrays are classified by their internal type, never by constructor or own properties", async () => {
  const fake = Object.assign(new Uint8Array(160), { constructor: { name: "Float64Array" } });
  assert.throws(() => new NDArray(fake, [160], { dtype: "<f8" }), ArchiveError);
  assert.throws(() => new NDArray(fake, [20], { dtype: "<f8" }), ArchiveError);
  const short = new Uint8Array(160);
  Object.defineProperty(short, "length", { value: 20 });
  assert.throws(() => new NDArray(short, [20], { dtype: "<u1" }), ArchiveError);
  // A forged "NDArray" (the brand only) and a real one whose fields were reassigned.
  const forged = {
    [Symbol.for("persist-archive.ndarray")]: true,
    data: new Uint8Array(160),
    shape: [160],
    order: "C",
    dtype: "<f8",
    size: 160,
  } as unknown as NDArray;
  const reassigned = new NDArray(new Float64Array(160), [160]);
  (reassigned as { data: unknown }).data = new Uint8Array(160);
  const dir = await tempDir();
  for (const [i, bad] of [forged, reassigned].entries()) {
    assert.ok(bad instanceof NDArray);
    assert.throws(() => npy.encode(bad), ArchiveError);
    for (const format of ["npy", "npz", "hdf5"] as const) {
      await assert.rejects(
        writeArrayFiles(join(dir, `${format}${i}${format === "npy" ? "" : `.${format}`}`), format, [
          { name: "x", array: bad },
        ]),
        ArchiveError,
        format,
      );
    }
  }
});

test("zip CRC-32: one flipped byte in a stored npz entry is a FormatError for every reader", async () => {
  const entry = await saveArchive("npz");
  const npzPath = join(dirname(entry), "_arrays.npz");
  const bytes = new Uint8Array(await readFile(npzPath));
  // the last data byte of the first entry: find 1.5 (the first float of `a`) and flip a bit
  const at = Buffer.from(bytes).indexOf(Buffer.from(new Float64Array([1.5]).buffer));
  assert.ok(at > 0);
  bytes[at] = (bytes[at] as number) ^ 1;
  await writeFile(npzPath, bytes);
  await assert.rejects(readArrayFiles(npzPath, "npz"), /CRC/);
  await assert.rejects(load(entry), /CRC/);
  await assert.rejects(import(pathToFileURL(entry).href), /CRC/);
  // deflated: a flipped byte breaks the stream or the CRC
  const d = await deflatedNpzArchive();
  const dPath = join(dirname(d), "_arrays.npz");
  const dBytes = new Uint8Array(await readFile(dPath));
  dBytes[40] = (dBytes[40] as number) ^ 0x10;
  await writeFile(dPath, dBytes);
  await assert.rejects(readArrayFiles(dPath, "npz"), FormatError);
});

test("a directory of data files with a nested folder named like an array is a FormatError", async () => {
  const dir = await tempDir();
  await mkdir(join(dir, "x.npy"));
  await assert.rejects(readArrayFiles(dir, "npy", ["x"]), /directory/);
});
