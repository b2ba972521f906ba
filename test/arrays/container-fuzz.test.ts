/**
 * Property-based fuzzing of the container formats, next to the npy-header and archive-text
 * fuzzing: mutated bytes of real small npz files (central directory, local headers, the end
 * records) and HDF5 files (superblock, object headers, B-trees) must either read or give a
 * FormatError — never another error, a hang or a big allocation. Whatever reads must hand out
 * buffers of exactly the array's bytes. Runs are bounded so each property takes seconds.
 */
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import fc from "fast-check";
import { readArrayFiles, writeArrayFiles } from "../../src/arrays/containers.js";
import { FormatError } from "../../src/errors.js";
import { npy } from "../../src/index.js";
import { NDArray } from "../../src/runtime/persist-runtime.mjs";
import { tempDir } from "../helpers/tmp.js";
import { craftZip } from "./zip-craft.js";

const arrays = [
  {
    name: "a",
    array: new NDArray(
      Float64Array.from({ length: 24 }, (_, i) => i / 3),
      [4, 6],
    ),
  },
  { name: "b", array: new NDArray(new Int16Array([1, -2, 3, -4, 5, -6]), [3, 2], { order: "F" }) },
];

/** Mutations: set bytes (positions drawn from `hot` regions half the time), or cut the file. */
function mutation(length: number, hot: [number, number][]) {
  const position = fc.oneof(
    fc.integer({ min: 0, max: length - 1 }),
    fc
      .tuple(fc.constantFrom(...hot), fc.nat())
      .map(([[from, to], n]) => Math.min(length - 1, from + (n % Math.max(1, to - from)))),
  );
  const edit = fc.oneof(
    fc.record({ at: position, value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ at: position, value: fc.constantFrom(0, 0xff, 0x7f, 0x80, 1) }),
  );
  return fc.record({
    edits: fc.array(edit, { minLength: 1, maxLength: 6 }),
    cut: fc.option(fc.integer({ min: 0, max: length }), { freq: 5 }),
  });
}

function apply(
  bytes: Uint8Array,
  m: { edits: { at: number; value: number }[]; cut: number | null },
) {
  const out = new Uint8Array(bytes);
  for (const { at, value } of m.edits) out[at] = value;
  return m.cut === null ? out : out.subarray(0, m.cut);
}

async function readsOrFormatError(path: string, format: "npz" | "hdf5"): Promise<void> {
  try {
    const read = await readArrayFiles(path, format);
    for (const a of Object.values(read)) {
      assert.equal(a.data.buffer.byteLength, a.data.byteLength, "buffer is exactly the array");
    }
  } catch (err) {
    if (!(err instanceof FormatError)) {
      throw new Error(`not a FormatError: ${(err as Error)?.stack ?? err}`);
    }
  }
}

/** Where zip structures are: local headers, the central directory and end records. */
function zipHotSpots(bytes: Uint8Array): [number, number][] {
  const b = Buffer.from(bytes);
  const spots: [number, number][] = [];
  for (const sig of [0x04034b50, 0x02014b50, 0x06054b50, 0x06064b50, 0x07064b50]) {
    const needle = Buffer.alloc(4);
    needle.writeUInt32LE(sig);
    for (let at = b.indexOf(needle); at >= 0; at = b.indexOf(needle, at + 1))
      spots.push([at, at + 60]);
  }
  return spots;
}

test("fuzz: mutated npz files (stored and deflated; directory, local headers, end records) read or give FormatError", async () => {
  const dir = await tempDir();
  const stored = join(dir, "stored.npz");
  await writeArrayFiles(stored, "npz", arrays);
  const deflated = craftZip(
    arrays.map(({ name, array }) => ({
      name: `${name}.npy`,
      data: npy.encode(array),
      deflate: true,
    })),
  );
  const { readFile } = await import("node:fs/promises");
  const corpus = [new Uint8Array(await readFile(stored)), deflated];
  let n = 0;
  for (const original of corpus) {
    await fc.assert(
      fc.asyncProperty(mutation(original.length, zipHotSpots(original)), async (m) => {
        const path = join(dir, `m${n++}.npz`);
        await writeFile(path, apply(original, m));
        await readsOrFormatError(path, "npz");
      }),
      { numRuns: 150 },
    );
  }
});

test("fuzz: mutated HDF5 metadata (superblock, object headers, B-trees, heaps) reads or gives FormatError", async () => {
  const dir = await tempDir();
  const file = join(dir, "small.h5");
  await writeArrayFiles(file, "hdf5", arrays);
  const { readFile } = await import("node:fs/promises");
  const original = new Uint8Array(await readFile(file));
  // Metadata sits before and between the raw data; the data itself (192 + 12 bytes) is not
  // interesting. Find the array bytes to leave them mostly alone.
  const dataAt = Buffer.from(original).indexOf(Buffer.from(arrays[0]!.array.data.buffer));
  const hot: [number, number][] = [
    [0, 96], // superblock
    [96, dataAt > 0 ? dataAt : original.length],
  ];
  let n = 0;
  await fc.assert(
    fc.asyncProperty(mutation(original.length, hot), async (m) => {
      const path = join(dir, `m${n++}.h5`);
      await writeFile(path, apply(original, m));
      await readsOrFormatError(path, "hdf5");
    }),
    { numRuns: 120 },
  );
});
