/**
 * The viewer loads external arrays lazily (headers only): its trees and plots must show them as a
 * whole load would: typed arrays and NDArrays with a plot, raw bytes (ArrayBuffer, DataView) without.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Archive } from "../../src/archive.js";
import { LazyArray } from "../../src/arrays/lazy.js";
import { buildTree, ViewModel } from "../../src/view/model.js";
import { tempDir } from "../helpers/tmp.js";

test("lazily loaded arrays: typed arrays plot, raw bytes do not, as when loaded whole", async () => {
  const dir = await tempDir();
  const archive = new Archive({ arrayThreshold: 16 });
  const bytes = new ArrayBuffer(400);
  new Uint8Array(bytes).fill(7);
  archive.insert({
    xs: Float64Array.from({ length: 300 }, (_, i) => i),
    buf: bytes,
    view: new DataView(new ArrayBuffer(64)),
  });
  const { entry } = await archive.save(dir, { name: "run" });
  const model = await ViewModel.open(entry);
  try {
    const value = (await model.value("")) as Record<string, unknown>;
    assert.ok(value.xs instanceof LazyArray, "arrays are not read whole");
    const tree = buildTree(value, []);
    const nodes = Object.fromEntries(tree.c!.map((n) => [n.k, n]));
    assert.equal(nodes.xs!.type, "Float64Array");
    assert.equal(nodes.xs!.plot, "line");
    for (const raw of ["buf", "view"]) {
      assert.equal(nodes[raw]!.plot, undefined, raw);
      assert.equal(nodes[raw]!.type, raw === "buf" ? "ArrayBuffer" : "DataView");
    }
  } finally {
    await model.close();
  }
});
