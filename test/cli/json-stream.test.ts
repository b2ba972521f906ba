/**
 * get --json's writer: streams, keeps output proportional to what exists (sparse arrays), never
 * recurses (deep chains), marks cycles with paths, one line per row of an array.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { Archive } from "../../src/archive.js";
import { jsonText, type RowSource, writeJson } from "../../src/cli/json-stream.js";
import { NDArray } from "../../src/runtime/persist-runtime.mjs";
import { tempDir } from "../helpers/tmp.js";
import { runInProcess } from "./helpers.js";

test("sparse arrays: only the elements present, whatever the length", async () => {
  const huge = Object.assign([], { 7: 1, length: 2 ** 32 - 1 });
  const text = await jsonText(huge);
  assert.ok(text.length < 200, text);
  assert.deepEqual(JSON.parse(text), {
    $type: "SparseArray",
    length: 2 ** 32 - 1,
    entries: [[7, 1]],
  });
  // one hole in a short array; objects inside; the hole is not null
  // biome-ignore lint/suspicious/noSparseArray: a hole is the case under test
  const small = [1, , { a: [2, , 3] }];
  assert.deepEqual(JSON.parse(await jsonText(small)), {
    $type: "SparseArray",
    length: 3,
    entries: [
      [0, 1],
      [
        2,
        {
          a: {
            $type: "SparseArray",
            length: 3,
            entries: [
              [0, 2],
              [2, 3],
            ],
          },
        },
      ],
    ],
  });
  // a long array with a hole at the end, found without walking the length
  const long = new Array(100_000).fill(0);
  delete long[99_999];
  assert.equal(JSON.parse(await jsonText(long)).entries.length, 99_999);
  // dense arrays stay arrays; undefined elements are null
  assert.deepEqual(JSON.parse(await jsonText([1, undefined, "x"])), [1, null, "x"]);
});

test("deep chains are written without recursion; indentation stops growing", async () => {
  let chain: unknown = { end: true };
  for (let i = 0; i < 100_000; i++) chain = { next: chain };
  const text = await jsonText(chain);
  const lines = text.split("\n");
  assert.ok(
    lines.every((l) => l.length < 120),
    "indentation is capped",
  );
  assert.ok(text.length < 100_000 * 2 * 64, "output proportional to the chain");
  let arrays: unknown = [1];
  for (let i = 0; i < 100_000; i++) arrays = [arrays, 2];
  assert.ok((await jsonText(arrays)).length > 0);
  // a deep Map/Set chain too
  let maps: unknown = 0;
  for (let i = 0; i < 50_000; i++) maps = new Map([["k", new Set([maps])]]);
  assert.ok((await jsonText(maps)).endsWith("}\n"));
});

test("cycles point to the enclosing value by path; shared values are written out", async () => {
  const root: Record<string, unknown> = { name: "r" };
  const child: Record<string, unknown> = { up: root };
  root.child = child;
  root.list = [child, new Map<unknown, unknown>([["self", root]])];
  const shared = { s: 1 };
  root.a = shared;
  root.b = shared;
  const parsed = JSON.parse(await jsonText(root, "cfg"));
  assert.deepEqual(parsed.child, { up: { $cycle: "cfg" } });
  assert.deepEqual(parsed.list[0], { up: { $cycle: "cfg" } });
  assert.deepEqual(parsed.list[1], { $type: "Map", entries: [["self", { $cycle: "cfg" }]] });
  assert.deepEqual([parsed.a, parsed.b], [{ s: 1 }, { s: 1 }]);
  const inner: Record<string, unknown> = {};
  inner.me = inner;
  assert.deepEqual(JSON.parse(await jsonText({ x: { "odd key": inner } }, "v")), {
    x: { "odd key": { me: { $cycle: 'v.x["odd key"]' } } },
  });
});

test("arrays: one line per row of the last axis, C order, long rows wrapped", async () => {
  const grid = new NDArray(
    Float64Array.from({ length: 12 }, (_, i) => i),
    [3, 4],
  );
  const text = await jsonText({ grid });
  assert.match(text, /\n {6}0, 1, 2, 3,\n {6}4, 5, 6, 7,\n {6}8, 9, 10, 11\n/);
  const f = new NDArray(Int32Array.from([1, 2, 3, 4, 5, 6]), [2, 3], { order: "F" });
  assert.deepEqual(JSON.parse(await jsonText(f)).data, [1, 3, 5, 2, 4, 6]);
  const long = await jsonText(new Float32Array(3000));
  const dataLines = long.split("\n").filter((l) => /^\s+0(, 0)*,?$/.test(l));
  assert.deepEqual(
    dataLines.map((l) => l.split(",").filter((x) => x.trim()).length),
    [1024, 1024, 952],
  );
  const complex = new NDArray(Float64Array.from([1, -1, 0, 2]), [2], { dtype: "<c16" });
  assert.deepEqual(JSON.parse(await jsonText(complex)).data, [
    [1, -1],
    [0, 2],
  ]);
  const empty = JSON.parse(await jsonText(new NDArray(new Float64Array(0), [0, 3])));
  assert.deepEqual(empty, { dtype: "<f8", shape: [0, 3], data: [] });
});

test("a lazily read array streams in bounded row slices, never whole", async () => {
  const rows = 3_000;
  const perRow = 1_000; // 3e6 elements
  const reads: number[] = [];
  const lazy: RowSource = {
    dtype: "<f4",
    shape: [rows, perRow],
    size: rows * perRow,
    async rows(start, stop) {
      reads.push(stop - start);
      return new NDArray(new Float32Array((stop - start) * perRow).fill(start), [
        stop - start,
        perRow,
      ]);
    },
  };
  let chunks = 0;
  let lines = 0;
  let largest = 0;
  await writeJson({ lazy }, "v", {
    json(text) {
      chunks++;
      largest = Math.max(largest, text.length);
      for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) lines++;
    },
    async drained() {},
  });
  assert.ok(Math.max(...reads) * perRow <= 1 << 20, "each read is at most 2^20 elements");
  assert.equal(
    reads.reduce((a, b) => a + b, 0),
    rows,
  );
  assert.ok(chunks > 100, "written in many chunks");
  assert.ok(largest < 1 << 18, `chunks stay small (${largest})`);
  assert.equal(lines, rows + 8); // 3000 rows and the 8 lines around them
});

test("persist get --json on a saved sparse array and a deep chain", async () => {
  const dir = await tempDir();
  const archive = new Archive();
  let chain: Record<string, unknown> = { end: 1 };
  for (let i = 0; i < 20_000; i++) chain = { next: chain };
  archive.insert({ sparse: Object.assign([], { 7: 1, length: 4294967295 }), chain });
  const { entry } = await archive.save(dir, { name: "s" });
  const sparse = await runInProcess(["get", entry, "sparse", "--json"]);
  assert.equal(sparse.code, 0, sparse.stderr);
  assert.ok(sparse.stdout.length < 200);
  assert.deepEqual(JSON.parse(sparse.stdout).entries, [[7, 1]]);
  const deep = await runInProcess(["get", join(dir, "s"), "chain", "--json"]);
  assert.equal(deep.code, 0, deep.stderr);
  let node = JSON.parse(deep.stdout);
  let depth = 0;
  while (node.next) {
    node = node.next;
    depth++;
  }
  assert.equal(depth, 20_000);
  const shown = await runInProcess(["show", entry]);
  assert.match(shown.stdout, /sparse +array 1 entry/);
});
