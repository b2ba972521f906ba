/** zip64 fields as numpy and yazl write them, including offsets past 4 GiB (sparse files). */
import assert from "node:assert/strict";
import { createWriteStream } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { test } from "node:test";
import { crc32 } from "node:zlib";
import yazl from "yazl";
import { npy, readArrayFiles } from "../../src/index.js";
import { readExactly } from "../../src/runtime/persist-runtime.mjs";
import { requirePython, runPython } from "../helpers/python.js";
import { tempDir } from "../helpers/tmp.js";
import { hexOf, sample } from "./samples.js";

/** A zip whose only entry (stored) starts `hole` bytes into the file; zip64 everywhere. */
async function sparseZip64(
  path: string,
  hole: number,
  name: string,
  body: Uint8Array,
): Promise<void> {
  const nameBytes = Buffer.from(name);
  const local = Buffer.alloc(30 + nameBytes.length + 20);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(45, 4);
  local.writeUInt16LE(0x21, 12); // 1980-01-01
  local.writeUInt32LE(crc32(body), 14);
  local.writeUInt32LE(0xffffffff, 18);
  local.writeUInt32LE(0xffffffff, 22);
  local.writeUInt16LE(nameBytes.length, 26);
  local.writeUInt16LE(20, 28);
  nameBytes.copy(local, 30);
  let p = 30 + nameBytes.length;
  local.writeUInt16LE(1, p);
  local.writeUInt16LE(16, p + 2);
  local.writeBigUInt64LE(BigInt(body.length), p + 4);
  local.writeBigUInt64LE(BigInt(body.length), p + 12);
  const cd = Buffer.alloc(46 + nameBytes.length + 28);
  cd.writeUInt32LE(0x02014b50, 0);
  cd.writeUInt16LE(45, 4);
  cd.writeUInt16LE(45, 6);
  cd.writeUInt16LE(0x21, 14);
  cd.writeUInt32LE(crc32(body), 16);
  cd.writeUInt32LE(0xffffffff, 20);
  cd.writeUInt32LE(0xffffffff, 24);
  cd.writeUInt16LE(nameBytes.length, 28);
  cd.writeUInt16LE(28, 30);
  cd.writeUInt32LE(0xffffffff, 42);
  nameBytes.copy(cd, 46);
  p = 46 + nameBytes.length;
  cd.writeUInt16LE(1, p);
  cd.writeUInt16LE(24, p + 2);
  cd.writeBigUInt64LE(BigInt(body.length), p + 4);
  cd.writeBigUInt64LE(BigInt(body.length), p + 12);
  cd.writeBigUInt64LE(BigInt(hole), p + 20);
  const cdOffset = hole + local.length + body.length;
  const end = Buffer.alloc(56 + 20 + 22);
  end.writeUInt32LE(0x06064b50, 0);
  end.writeBigUInt64LE(44n, 4);
  end.writeUInt16LE(45, 12);
  end.writeUInt16LE(45, 14);
  end.writeBigUInt64LE(1n, 24);
  end.writeBigUInt64LE(1n, 32);
  end.writeBigUInt64LE(BigInt(cd.length), 40);
  end.writeBigUInt64LE(BigInt(cdOffset), 48);
  end.writeUInt32LE(0x07064b50, 56);
  end.writeBigUInt64LE(BigInt(cdOffset + cd.length), 64);
  end.writeUInt32LE(1, 72);
  end.writeUInt32LE(0x06054b50, 76);
  end.writeUInt16LE(0xffff, 84);
  end.writeUInt16LE(0xffff, 86);
  end.writeUInt32LE(0xffffffff, 88);
  end.writeUInt32LE(0xffffffff, 92);
  const h = await open(path, "w");
  try {
    await h.write(local, 0, local.length, hole);
    await h.write(body, 0, body.length, hole + local.length);
    await h.write(cd, 0, cd.length, cdOffset);
    await h.write(end, 0, end.length, cdOffset + cd.length);
  } finally {
    await h.close();
  }
}

test("npz: an entry past 4 GiB (zip64 offset, sizes, end records) is found and read", async (t) => {
  const dir = await tempDir();
  const path = join(dir, "far.npz");
  const a = sample("c16", [3, 4], "F");
  await sparseZip64(path, 2 ** 32 + 2 ** 20, "far.npy", npy.encode(a));
  const back = await readArrayFiles(path, "npz");
  assert.equal(hexOf(back.far!), hexOf(a));
  assert.equal(back.far!.order, "F");
  // numpy agrees that this hand-made file is a valid npz with that array
  if (!requirePython(t)) return;
  const hex = runPython(
    // np.load sniffs "PK" at offset 0, which a file starting with a hole lacks: use zipfile.
    "import sys, zipfile, numpy as np\nwith zipfile.ZipFile(sys.argv[1]) as z:\n  a = np.lib.format.read_array(z.open('far.npy'))\nprint(a.tobytes(order='F').hex())",
    [path],
  ).trim();
  assert.equal(hex, hexOf(a));
});

test("npz: yazl's forced zip64 central directory and end records are read", async () => {
  const dir = await tempDir();
  const path = join(dir, "z64.npz");
  const zip = new yazl.ZipFile();
  const arrays = { a: sample("i8", [4, 2]), b: sample("f2", [3]) };
  for (const [name, a] of Object.entries(arrays)) {
    zip.addBuffer(Buffer.from(npy.encode(a)), `${name}.npy`, {
      forceZip64Format: true,
      compress: name === "b",
    });
  }
  zip.end({ forceZip64Format: true, comment: "" });
  await pipeline(zip.outputStream, createWriteStream(path));
  const back = await readArrayFiles(path, "npz");
  for (const [name, a] of Object.entries(arrays)) assert.equal(hexOf(back[name]!), hexOf(a), name);
});

test("readExactly assembles a file from many read calls", async () => {
  const dir = await tempDir();
  const path = join(dir, "x.npy");
  const a = sample("f8", [13, 7]);
  await npy.write(path, a);
  const h = await open(path, "r");
  try {
    const { size } = await h.stat();
    const bytes = await readExactly(h, 0, size, path, 7);
    assert.equal(hexOf(npy.decode(bytes)), hexOf(a));
    await assert.rejects(readExactly(h, 0, size + 5, path, 64), /file ended early/);
  } finally {
    await h.close();
  }
});

test("npy.encode writes only a view's own bytes", () => {
  const big = Float64Array.from({ length: 10 }, (_, i) => i);
  const view = big.subarray(3, 6);
  assert.deepEqual([...npy.decode(npy.encode(view)).data], [3, 4, 5]);
});

test("dataChunks covers the data exactly, in views of the given size", async () => {
  const { dataChunks } = await import("../../src/arrays/npy.js");
  const a = sample("c16", [5, 3]);
  const chunks = [...dataChunks(a, 24)];
  assert.ok(chunks.every((c) => c.length <= 24 && c.buffer === a.data.buffer));
  assert.equal(Buffer.concat(chunks).toString("hex"), hexOf(a));
  assert.deepEqual([...dataChunks(sample("f8", [0]))], []);
});
