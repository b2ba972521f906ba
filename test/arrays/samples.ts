/** Sample arrays of every dtype with edge values, shared by the array tests. */
import { DTYPES, NDArray, reorder, type TypedArray } from "../../src/runtime/persist-runtime.mjs";

/** Edge values per kind, cycled to fill an array. */
const VALUES: Record<string, readonly (number | bigint)[]> = {
  b1: [1, 0, 1, 1, 0, 0],
  i1: [-128, 127, 0, -1, 5, 100],
  u1: [0, 255, 1, 2, 128, 7],
  i2: [-32768, 32767, 0, -1, 300, 12345],
  u2: [0, 65535, 1, 256, 40000, 9],
  f2: [0x3c00, 0xc000, 0x7c00, 0x0001, 0x8000, 0x7e00], // 1, -2, inf, subnormal, -0, nan
  i4: [-2147483648, 2147483647, 0, -1, 65536, 7],
  u4: [0, 4294967295, 1, 65536, 3000000000, 5],
  f4: [1.5, -0, Number.POSITIVE_INFINITY, Number.NaN, 3.4028234663852886e38, 1.401298464324817e-45],
  i8: [-(2n ** 63n), 2n ** 63n - 1n, 0n, -1n, 2n ** 53n + 1n, 42n],
  u8: [0n, 2n ** 64n - 1n, 1n, 2n ** 53n + 1n, 2n ** 63n, 9n],
  f8: [Math.PI, -0, Number.NEGATIVE_INFINITY, Number.NaN, 1e308, 5e-324],
  c8: [1, -2, 0.5, Number.POSITIVE_INFINITY, -0, 3.25],
  c16: [Math.E, -1e-300, Number.NaN, 2, -0, 1e300],
};

export const KINDS = Object.keys(DTYPES);

/** The canonical descr for a kind: "|u1", "<f8". */
export function descrOf(kind: string): string {
  const info = DTYPES[kind]!;
  return `${info.itemsize / info.lanes === 1 ? "|" : "<"}${kind}`;
}

/**
 * An array of `kind` and `shape` whose logical C-order elements are the edge values cycled;
 * with order "F" the data is laid out in Fortran order (same logical array).
 */
export function sample(kind: string, shape: number[], order: "C" | "F" = "C"): NDArray {
  const info = DTYPES[kind]!;
  const size = shape.reduce((a, b) => a * b, 1);
  const Ctor = (globalThis as unknown as Record<string, new (n: number) => TypedArray>)[info.ctor]!;
  const data = new Ctor(size * info.lanes) as TypedArray & { [i: number]: number | bigint };
  const values = VALUES[kind]!;
  for (let i = 0; i < data.length; i++) data[i] = values[i % values.length]!;
  const laid = order === "F" ? reorder(data, shape, info.lanes, true) : data;
  return new NDArray(laid, shape, { order, dtype: descrOf(kind) });
}

/** Hex of the raw bytes of an array's data (exact comparison, NaN payloads and -0 included). */
export function hexOf(array: NDArray | TypedArray): string {
  const d = array instanceof NDArray ? array.data : array;
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString("hex");
}

/** Hex of the data in C order whatever the array's order. */
export function cOrderHex(array: NDArray): string {
  if (array.order === "C" || array.shape.length < 2) return hexOf(array);
  const info = DTYPES[array.dtype.slice(1)]!;
  return hexOf(reorder(array.data, array.shape, info.lanes, false));
}

/** Every kind × C/F order × a few shapes, named `<kind>_<order>_<shape>`. */
export function allSamples(): { name: string; array: NDArray }[] {
  const out: { name: string; array: NDArray }[] = [];
  for (const kind of KINDS) {
    for (const shape of [[2, 3], [7], [], [0, 3], [2, 3, 4]]) {
      for (const order of ["C", "F"] as const) {
        if (order === "F" && shape.length < 2) continue;
        out.push({
          name: `${kind}_${order}_${shape.join("x") || "scalar"}`,
          array: sample(kind, shape, order),
        });
      }
    }
  }
  return out;
}

/** Builds an npy file by hand (any version, any header text, raw data bytes). */
export function handMade(version: 1 | 2 | 3, header: string, data: Uint8Array): Uint8Array {
  const text = new TextEncoder().encode(header);
  const prefix = version === 1 ? 10 : 12;
  const out = new Uint8Array(prefix + text.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, text.length, true);
  else view.setUint32(8, text.length, true);
  out.set(text, prefix);
  out.set(data, prefix + text.length);
  return out;
}
