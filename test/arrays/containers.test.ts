import assert from "node:assert/strict";
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { readHdf5File, writeHdf5 } from "../../src/arrays/hdf5.js";
import {
  ArchiveError,
  FormatError,
  NDArray,
  readArrayFiles,
  writeArrayFiles,
} from "../../src/index.js";
import { tempDir } from "../helpers/tmp.js";
import { allSamples, hexOf, sample } from "./samples.js";

const FORMATS = ["npy", "npz", "hdf5"] as const;
const where = (dir: string, format: string) =>
  join(dir, format === "npy" ? "arrays" : `arrays.${format === "npz" ? "npz" : "h5"}`);

function assertSame(back: NDArray | undefined, array: NDArray, label: string): void {
  assert.ok(back instanceof NDArray, label);
  assert.equal(back.dtype, array.dtype, label);
  assert.deepEqual(back.shape, array.shape, label);
  assert.equal(back.order, array.order, label);
  assert.equal(back.data.constructor, array.data.constructor, label);
  assert.equal(hexOf(back), hexOf(array), label);
}

for (const format of FORMATS) {
  test(`${format}: writeArrayFiles/readArrayFiles round trip every dtype, order, shape`, async () => {
    const dir = await tempDir();
    const location = where(dir, format);
    const arrays = allSamples().filter((s) => format !== "hdf5" || !s.name.startsWith("f2_"));
    const paths = await writeArrayFiles(location, format, arrays);
    if (format === "npy") {
      assert.deepEqual(
        paths,
        arrays.map((a) => join(location, `${a.name}.npy`)),
      );
      assert.deepEqual((await readdir(location)).sort(), arrays.map((a) => `${a.name}.npy`).sort());
    } else {
      assert.deepEqual(paths, [location]);
      assert.ok((await stat(location)).isFile());
    }
    const back = await readArrayFiles(location, format);
    assert.deepEqual(Object.keys(back).sort(), arrays.map((a) => a.name).sort());
    for (const { name, array } of arrays) assertSame(back[name], array, `${format} ${name}`);
    // only some names
    const some = await readArrayFiles(location, format, ["f8_F_2x3", "c16_C_7"]);
    assert.deepEqual(Object.keys(some), ["f8_F_2x3", "c16_C_7"]);
    assertSame(some.c16_C_7, sample("c16", [7]), "subset");
  });

  test(`${format}: a missing array or data file is a FormatError naming it`, async () => {
    const dir = await tempDir();
    const location = where(dir, format);
    await writeArrayFiles(location, format, [{ name: "a", array: sample("f8", [2]) }]);
    await assert.rejects(readArrayFiles(location, format, ["nope"]), (e: unknown) => {
      assert.ok(e instanceof FormatError, String(e));
      assert.match(e.message, /nope/);
      assert.ok(e.message.includes(location));
      return true;
    });
    await assert.rejects(readArrayFiles(join(dir, "missing"), format, ["a"]), ArchiveError);
  });
}

test("writeArrayFiles rejects bad or duplicate names and unknown formats", async () => {
  const dir = await tempDir();
  const a = sample("f8", [2]);
  for (const name of ["../x", "a/b", ".hidden", "", "a b"]) {
    await assert.rejects(
      writeArrayFiles(join(dir, "x"), "npy", [{ name, array: a }]),
      ArchiveError,
    );
  }
  await assert.rejects(
    writeArrayFiles(join(dir, "y.npz"), "npz", [
      { name: "a", array: a },
      { name: "a", array: a },
    ]),
    /used twice/,
  );
  await assert.rejects(
    writeArrayFiles(join(dir, "z"), "zarr" as "npy", [{ name: "a", array: a }]),
    /unknown array format/,
  );
});

test("hdf5: float16 is refused with a hint to use npy", async () => {
  const dir = await tempDir();
  await assert.rejects(
    writeArrayFiles(join(dir, "h.h5"), "hdf5", [{ name: "half", array: sample("f2", [3]) }]),
    (e: unknown) => {
      assert.ok(e instanceof FormatError);
      assert.match(e.message, /half.*<f2.*npy/);
      return true;
    },
  );
});

test("hdf5: big arrays are written and read in row blocks through the wasm heap", async () => {
  const dir = await tempDir();
  const path = join(dir, "blocks.h5");
  const f8 = new NDArray(
    Float64Array.from({ length: 101 * 37 }, (_, i) => i * 0.5),
    [101, 37],
  );
  const c16 = sample("c16", [53, 3, 2]);
  const fo = sample("i4", [41, 5], "F");
  const arrays = [
    { name: "f8", array: f8 },
    { name: "c16", array: c16 },
    { name: "fo", array: fo },
  ];
  await writeHdf5(path, arrays, { blockBytes: 1000 });
  for (const blockBytes of [1000, 1 << 20]) {
    const back = await readHdf5File(path, undefined, { blockBytes });
    for (const { name, array } of arrays) assertSame(back[name], array, `${name}/${blockBytes}`);
  }
});

test("npz and hdf5 writers do not overwrite an existing file", async () => {
  const dir = await tempDir();
  for (const format of ["npz", "hdf5"] as const) {
    const path = join(dir, `exists.${format}`);
    await writeFile(path, "keep");
    await assert.rejects(
      writeArrayFiles(path, format, [{ name: "a", array: sample("f8", [1]) }]),
      /EEXIST/,
    );
    assert.equal(await readFile(path, "utf8"), "keep");
  }
});

test("corrupt npz and hdf5 files give FormatError", async () => {
  const dir = await tempDir();
  const npz = join(dir, "a.npz");
  await writeArrayFiles(npz, "npz", [{ name: "a", array: sample("f8", [100]) }]);
  const bytes = await readFile(npz);
  const cases: [string, Uint8Array, RegExp][] = [
    ["garbage.npz", new TextEncoder().encode("not a zip at all"), /no end of central directory/],
    ["cut.npz", bytes.subarray(0, bytes.length - 30), /no end of central directory|beyond/],
    ["body.npz", bytes.subarray(0, 200), /no end of central directory|beyond/],
  ];
  // central directory offset pointing past the end
  const moved = Buffer.from(bytes);
  const eocd = moved.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (moved.readUInt32LE(eocd + 16) !== 0xffffffff) {
    moved.writeUInt32LE(0x7ffffff0, eocd + 16);
    cases.push(["moved.npz", moved, /beyond the end/]);
  }
  for (const [name, data, pattern] of cases) {
    const path = join(dir, name);
    await writeFile(path, data);
    await assert.rejects(readArrayFiles(path, "npz", ["a"]), (e: unknown) => {
      assert.ok(e instanceof FormatError, `${name}: ${e}`);
      assert.match(e.message, pattern, name);
      return true;
    });
  }
  const h5 = join(dir, "bad.h5");
  await writeFile(h5, "definitely not hdf5");
  await assert.rejects(readArrayFiles(h5, "hdf5"), /not an HDF5 file/);
});
