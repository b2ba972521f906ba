// Copied beside the archives that test/runtimes/browser.test.ts serves, and imported both by Node
// and by the page in Chromium: it imports archive modules and describes their exports in a
// JSON-able form (every byte of every typed array, NDArray dtype/shape/order, the class of each
// view), so that the two sides can be compared exactly. Import failures are described too.

/**
 * @param {any} v
 * @returns {any}
 */
export function show(v) {
  if (typeof v === "bigint") return { bigint: String(v) };
  if (v === undefined) return { undefined: true };
  if (typeof v === "number" && (!Number.isFinite(v) || Object.is(v, -0))) {
    return { number: String(v) };
  }
  if (v === null || typeof v !== "object") return v;
  if (v.constructor?.name === "NDArray") {
    return { NDArray: { dtype: v.dtype, shape: [...v.shape], order: v.order, data: show(v.data) } };
  }
  if (ArrayBuffer.isView(v)) {
    const bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    return {
      view: v.constructor.name,
      hex: Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(""),
      byteOffset: v.byteOffset,
      bufferBytes: v.buffer.byteLength,
    };
  }
  if (v instanceof ArrayBuffer) return show(new Uint8Array(v));
  if (v instanceof Date) return { Date: v.toISOString() };
  if (v instanceof Map) return { Map: [...v].map(show) };
  if (v instanceof Set) return { Set: [...v].map(show) };
  if (Array.isArray(v)) return v.map(show);
  return Object.fromEntries(Object.keys(v).map((k) => [k, show(v[k])]));
}

/**
 * Imports each module (specifiers relative to this file) and describes its exports, or the error
 * it failed with.
 * @param {string[]} specs
 */
export async function showModules(specs) {
  /** @type {Record<string, any>} */
  const out = {};
  for (const spec of specs) {
    try {
      const ns = await import(spec);
      out[spec] = Object.fromEntries(
        Object.keys(ns)
          .sort()
          .map((k) => [k, show(ns[k])]),
      );
    } catch (err) {
      const e = /** @type {any} */ (err);
      out[spec] = { error: { name: e?.name, code: e?.code, message: String(e?.message ?? e) } };
    }
  }
  return out;
}
