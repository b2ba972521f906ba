/**
 * Min/max of float32/float64 runs with WebAssembly SIMD (wasm/minmax.wat): the viewer's envelope of
 * a 10^8-element array costs a fraction of the JavaScript loop's ~2.5 ns per element, which was
 * most of the time to a plot on screen. The data is read from its file straight into the module's
 * memory, so nothing is copied on the way.
 *
 * No library does this small kernel (plotting libraries reduce in the browser, from data already
 * sent); it is 100 lines of WebAssembly text, built into minmax-wasm.ts by scripts/build-wasm.mjs.
 */
import type { Scan } from "./reduce.js";
import { MINMAX_WASM } from "./wasm/minmax-wasm.js";

interface MinMaxExports {
  f32(p: number, n: number, min: number, max: number): number;
  f64(p: number, n: number, min: number, max: number): number;
  max: { value: number };
}

/** The part of the WebAssembly API used here (the compiler's libraries here do not declare it). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Memory: new (limits: { initial: number; maximum: number }) => { buffer: ArrayBuffer };
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;

let compiled: object | null | undefined;

/** The compiled module, or null where WebAssembly SIMD is unavailable (then: JavaScript loops). */
function minmaxModule(): object | null {
  if (compiled === undefined) {
    try {
      compiled = wasm ? new wasm.Module(Buffer.from(MINMAX_WASM, "base64")) : null;
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

const PAGE = 65_536;

/**
 * A buffer of at least `bytes` bytes in WebAssembly memory, and min/max over float32 or float64
 * elements in it. Read data into `buffer` (it never detaches: the memory does not grow), then
 * `scan` runs of it.
 */
export class SimdMinMax {
  readonly buffer: ArrayBuffer;
  private readonly exports: MinMaxExports;
  private readonly kernel: (p: number, n: number, min: number, max: number) => number;
  private readonly itemsize: number;

  private constructor(api: WasmApi, module: object, bytes: number, kind: "f32" | "f64") {
    const pages = Math.max(1, Math.ceil(bytes / PAGE));
    const memory = new api.Memory({ initial: pages, maximum: pages });
    const instance = new api.Instance(module, { env: { memory } });
    this.exports = instance.exports as unknown as MinMaxExports;
    this.kernel = kind === "f32" ? this.exports.f32 : this.exports.f64;
    this.itemsize = kind === "f32" ? 4 : 8;
    this.buffer = memory.buffer;
  }

  /**
   * One for little-endian float32 ("<f4") or float64 ("<f8") data; undefined for other dtypes,
   * buffers beyond WebAssembly's 32-bit memory, or where SIMD is unavailable.
   */
  static for(dtype: string, bytes: number): SimdMinMax | undefined {
    const kind = dtype === "<f4" ? "f32" : dtype === "<f8" ? "f64" : undefined;
    if (kind === undefined || bytes > 2 ** 31) return undefined;
    const module = minmaxModule();
    return module && wasm ? new SimdMinMax(wasm, module, bytes, kind) : undefined;
  }

  /**
   * Min/max of elements [lo, hi) of the data at the start of `buffer`, starting from
   * minmax = [min, max] and written back there; NaNs are skipped (a Scan, reduce.ts).
   */
  readonly scan: Scan = (lo, hi, minmax) => {
    minmax[0] = this.kernel(lo * this.itemsize, hi - lo, minmax[0]!, minmax[1]!);
    minmax[1] = this.exports.max.value;
  };
}
