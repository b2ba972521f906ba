import assert from "node:assert/strict";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { FormatError, NDArray, npy } from "../../src/index.js";
import { tempDir } from "../helpers/tmp.js";
import { allSamples, handMade, hexOf, sample } from "./samples.js";

function headerText(bytes: Uint8Array): string {
  const len = new DataView(bytes.buffer, bytes.byteOffset).getUint16(8, true);
  return new TextDecoder().decode(bytes.subarray(10, 10 + len));
}

test("npy round trips every dtype, order and shape exactly", () => {
  for (const { name, array } of allSamples()) {
    const back = npy.decode(npy.encode(array));
    assert.equal(back.dtype, array.dtype, name);
    assert.deepEqual(back.shape, array.shape, name);
    assert.equal(back.order, array.order, name);
    assert.equal(back.data.constructor, array.data.constructor, name);
    assert.equal(hexOf(back), hexOf(array), name);
  }
});

test("npy header: numpy's dict, version 1.0, data offset a multiple of 64", () => {
  for (const { name, array } of allSamples()) {
    const bytes = npy.encode(array);
    assert.equal(bytes[6], 1, name);
    const len = new DataView(bytes.buffer).getUint16(8, true);
    assert.equal((10 + len) % 64, 0, name);
    assert.equal(bytes.length, 10 + len + array.data.byteLength);
  }
  assert.equal(
    headerText(npy.encode(sample("f8", [2, 3], "F"))).trimEnd(),
    "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }",
  );
  assert.match(headerText(npy.encode(new Int16Array(5))), /'shape': \(5,\), }\s*\n$/);
  assert.match(headerText(npy.encode(sample("b1", []))), /'descr': '\|b1'.*'shape': \(\), }/);
});

test("npy.encode takes a 1-D TypedArray; npy.decode gives its class back", () => {
  const back = npy.decode(npy.encode(new BigInt64Array([1n, -2n])));
  assert.ok(back instanceof NDArray);
  assert.ok(back.data instanceof BigInt64Array);
  assert.deepEqual(back.shape, [2]);
  assert.deepEqual([...back.data], [1n, -2n]);
  assert.throws(() => npy.encode([1, 2] as unknown as Float64Array), /TypedArray or an NDArray/);
});

test("npy.decode views the input buffer without copying when aligned", () => {
  for (const kind of ["f8", "c16", "i2", "u1", "f2"]) {
    const bytes = npy.encode(sample(kind, [3, 4]));
    const back = npy.decode(bytes);
    assert.equal(back.data.buffer, bytes.buffer, kind);
    assert.equal(back.data.byteOffset % 64, 0);
  }
  // misaligned for 8-byte elements: still decodes (copied)
  const bytes = npy.encode(sample("f8", [5]));
  const shifted = new Uint8Array(bytes.length + 1).subarray(1);
  shifted.set(bytes);
  const back = npy.decode(shifted);
  assert.notEqual(back.data.buffer, shifted.buffer);
  assert.equal(hexOf(back), hexOf(sample("f8", [5])));
});

test("npy.decode converts big-endian data to native little-endian", () => {
  const values = [1.5, -2, Number.POSITIVE_INFINITY];
  const be = new Uint8Array(24);
  for (const [i, v] of values.entries()) new DataView(be.buffer).setFloat64(i * 8, v, false);
  const a = npy.decode(
    handMade(1, "{'descr': '>f8', 'fortran_order': False, 'shape': (3,), }\n", be),
  );
  assert.equal(a.dtype, "<f8");
  assert.deepEqual([...a.data], values);
  const c = new Uint8Array(16);
  new DataView(c.buffer).setFloat64(0, 3, false);
  new DataView(c.buffer).setFloat64(8, -4, false);
  const z = npy.decode(handMade(1, "{'descr': '>c16', 'fortran_order': False, 'shape': (), }", c));
  assert.equal(z.dtype, "<c16");
  assert.deepEqual([...z.data], [3, -4]);
  const i = new Uint8Array([0x12, 0x34, 0xff, 0xfe]);
  const s = npy.decode(handMade(1, "{'descr': '>i2', 'fortran_order': False, 'shape': (2,), }", i));
  assert.deepEqual([...s.data], [0x1234, -2]);
});

test("npy.decode reads version 2.0 and 3.0 headers and Python-literal variants", () => {
  const data = new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer);
  const v2 = npy.decode(
    handMade(2, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2)}", data),
  );
  assert.equal(v2.order, "F");
  assert.deepEqual(v2.shape, [2, 2]);
  // v3 headers are utf-8; extra whitespace, double quotes, key order, Python 2 "L" ints
  const v3 = npy.decode(
    handMade(3, '{ "shape" : (4L,) ,"fortran_order":False, "descr":"<f4" }  \n', data),
  );
  assert.deepEqual([...v3.data], [1, 2, 3, 4]);
  const bool = npy.decode(
    handMade(
      1,
      "{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }",
      new Uint8Array([1, 0]),
    ),
  );
  assert.equal(bool.dtype, "|b1");
  assert.ok(bool.data instanceof Uint8Array);
});

test("npy.write is atomic and npy.read reads it back; no temp files left", async () => {
  const dir = await tempDir();
  const path = join(dir, "a.npy");
  const a = sample("c8", [3, 2], "F");
  await npy.write(path, a);
  assert.equal(hexOf(await npy.read(path)), hexOf(a));
  assert.deepEqual(new Uint8Array(await readFile(path)), npy.encode(a));
  await npy.write(path, new Int8Array([1, 2, 3])); // replaces
  assert.deepEqual([...(await npy.read(path)).data], [1, 2, 3]);
  assert.deepEqual(await readdir(dir), ["a.npy"]);
  await writeFile(join(dir, "bad.npy"), "nonsense");
  await assert.rejects(npy.read(join(dir, "bad.npy")), (e: unknown) => {
    assert.ok(e instanceof FormatError);
    assert.match(e.message, /bad\.npy/);
    assert.equal(e.file, join(dir, "bad.npy"));
    return true;
  });
});

test("npy.encode refuses a header larger than readers accept", () => {
  const shape = new Array(30000).fill(1);
  assert.throws(() => npy.encode(new NDArray(new Float64Array(1), shape)), /header over 65536/);
});
