/**
 * The WebAssembly SIMD min/max kernel (src/view/simd-minmax.ts) against the JavaScript loop it
 * replaces, and its committed bytes against the .wat source they are built from.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { Envelope, reduceTyped } from "../../src/view/reduce.js";
import { SimdMinMax } from "../../src/view/simd-minmax.js";

/** min/max of a[lo, hi) the way the JavaScript loop takes them (NaN skipped). */
function reference(a: ArrayLike<number>, lo: number, hi: number, min: number, max: number) {
  for (let i = lo; i < hi; i++) {
    const v = a[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return [min, max];
}

/** Awkward values: NaN runs, infinities, tiny and huge numbers, both zeros. */
function awkward(n: number, seed: number): number[] {
  let x = seed;
  const next = () => {
    x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
    return x / 2 ** 31;
  };
  return Array.from({ length: n }, () => {
    const r = next();
    if (r < 0.1) return Number.NaN;
    if (r < 0.12) return Number.POSITIVE_INFINITY;
    if (r < 0.14) return Number.NEGATIVE_INFINITY;
    if (r < 0.16) return 1e-40;
    return (next() - 0.5) * 10 ** Math.floor(next() * 60 - 30);
  });
}

for (const [dtype, Type] of [
  ["<f4", Float32Array],
  ["<f8", Float64Array],
] as const) {
  test(`${dtype}: every length, offset and start value gives the JavaScript loop's min and max`, () => {
    const n = 300;
    const kernel = SimdMinMax.for(dtype, n * Type.BYTES_PER_ELEMENT);
    assert.ok(kernel, "WebAssembly SIMD is available in Node >= 20");
    const data = new Type(kernel.buffer, 0, n);
    const minmax = new Float64Array(2);
    for (const seed of [1, 2, 3]) {
      data.set(awkward(n, seed));
      for (let lo = 0; lo < 9; lo++) {
        for (let hi = lo; hi <= Math.min(n, lo + 70); hi++) {
          for (const start of [
            [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY],
            [-0.5, 0.5],
          ] as const) {
            minmax.set(start);
            kernel.scan(lo, hi, minmax);
            const [min, max] = reference(data, lo, hi, start[0], start[1]);
            // ±0 may come out with either sign (lanes are combined out of order): compare as numbers
            assert.ok(minmax[0] === min, `${dtype} min of [${lo}, ${hi}) seed ${seed}`);
            assert.ok(minmax[1] === max, `${dtype} max of [${lo}, ${hi}) seed ${seed}`);
          }
        }
      }
    }
    // all NaN: the start values stay
    data.fill(Number.NaN);
    minmax.set([Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]);
    kernel.scan(0, n, minmax);
    assert.deepEqual([...minmax], [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]);
  });

  test(`${dtype}: an envelope scanned with the kernel equals the JavaScript envelope`, () => {
    const n = 100_003;
    const kernel = SimdMinMax.for(dtype, n * Type.BYTES_PER_ELEMENT)!;
    const data = new Type(kernel.buffer, 0, n);
    data.set(awkward(n, 7));
    for (const columns of [1, 7, 640, 49_999]) {
      const simd = new Envelope(0, n, columns);
      // in uneven pieces, as chunks arrive
      for (let a = 0; a < n; a += 30_011) {
        const end = Math.min(n, a + 30_011);
        simd.add(a, end - a, kernel.scan, a);
      }
      assert.deepEqual(simd.result(), reduceTyped(data, 0, n, columns), `${columns} columns`);
    }
  });
}

test("other dtypes get no kernel (the JavaScript loops read them)", () => {
  for (const dtype of ["<i4", "<f2", "<c8", ">f8", "|u1", "<i8"]) {
    assert.equal(SimdMinMax.for(dtype, 1024), undefined, dtype);
  }
});

test("the committed module is what minmax.wat compiles to (npm run build:wasm)", async () => {
  const { generate } = (await import("../../scripts/build-wasm.mjs")) as {
    generate(): Promise<string>;
  };
  const committed = await readFile(
    fileURLToPath(new URL("../../src/view/wasm/minmax-wasm.ts", import.meta.url)),
    "utf8",
  );
  assert.equal(committed, await generate(), "run npm run build:wasm and commit the result");
});
