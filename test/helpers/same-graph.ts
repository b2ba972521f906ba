/**
 * Deep equality that is stricter than assert.deepStrictEqual where archives need it: prototypes
 * (classes) must match by name, `-0` and `NaN` are distinguished, holes stay holes, and the identity
 * structure must match (a shared value is shared in the copy too; a cycle is a cycle). Values
 * imported from a saved archive come from other module instances, so classes are compared by
 * constructor name, NDArrays by brand.
 */
import assert from "node:assert/strict";

function protoName(v: object): string {
  const proto = Object.getPrototypeOf(v);
  if (proto === null) return "null";
  return proto.constructor?.name ?? "?";
}

function show(v: unknown): string {
  try {
    return typeof v === "object" && v !== null ? `[${protoName(v)}]` : String(v);
  } catch {
    return "<unprintable>";
  }
}

export function assertSameGraph(actual: unknown, expected: unknown, path = "value"): void {
  const seen = new Map<object, object>(); // expected → actual
  const seenActual = new Map<object, object>();
  const walk = (a: unknown, e: unknown, p: string): void => {
    if (e === null || (typeof e !== "object" && typeof e !== "function")) {
      assert.ok(
        Object.is(a, e),
        `${p}: expected ${show(e)} (${typeof e}), got ${show(a)} (${typeof a})`,
      );
      return;
    }
    assert.ok(
      a !== null && (typeof a === "object" || typeof a === "function"),
      `${p}: expected an object, got ${show(a)}`,
    );
    const ao = a as object;
    const eo = e as object;
    const prior = seen.get(eo);
    if (prior !== undefined) {
      assert.ok(
        prior === ao,
        `${p}: expected the same object as before (shared/cycle), got a copy`,
      );
      return;
    }
    assert.ok(!seenActual.has(ao), `${p}: two different expected values became one object`);
    seen.set(eo, ao);
    seenActual.set(ao, eo);
    if (typeof e === "function") {
      assert.equal(a, e, `${p}: function differs`);
      return;
    }
    assert.equal(protoName(ao), protoName(eo), `${p}: class differs`);
    if (e instanceof Map) {
      const ae = [...(a as Map<unknown, unknown>)];
      const ee = [...e];
      assert.equal(ae.length, ee.length, `${p}: Map size`);
      ee.forEach(([k, v], i) => {
        walk(ae[i]![0], k, `${p}<key ${i}>`);
        walk(ae[i]![1], v, `${p}.get(${show(k)})`);
      });
      return;
    }
    if (e instanceof Set) {
      const ae = [...(a as Set<unknown>)];
      const ee = [...e];
      assert.equal(ae.length, ee.length, `${p}: Set size`);
      for (let i = 0; i < ee.length; i++) walk(ae[i], ee[i], `${p}<item ${i}>`);
      return;
    }
    if (e instanceof Date) {
      assert.ok(Object.is((a as Date).getTime(), e.getTime()), `${p}: Date differs`);
      return;
    }
    if (e instanceof RegExp) {
      const ar = a as RegExp;
      assert.equal(ar.source, e.source, `${p}: RegExp source`);
      assert.equal(ar.flags, e.flags, `${p}: RegExp flags`);
      assert.equal(ar.lastIndex, e.lastIndex, `${p}: RegExp lastIndex`);
      return;
    }
    if (e instanceof Error) {
      assert.equal((a as Error).message, e.message, `${p}: message`);
      assert.equal(
        Object.hasOwn(a as object, "cause"),
        Object.hasOwn(e, "cause"),
        `${p}: has cause`,
      );
      if (Object.hasOwn(e, "cause")) walk((a as Error).cause, e.cause, `${p}.cause`);
      if (e instanceof AggregateError) walk((a as AggregateError).errors, e.errors, `${p}.errors`);
    }
    if (
      e instanceof Number ||
      e instanceof String ||
      e instanceof Boolean ||
      e instanceof BigInt ||
      e instanceof Symbol
    ) {
      assert.ok(Object.is((a as Number).valueOf(), e.valueOf()), `${p}: boxed value`);
      return;
    }
    if (e instanceof ArrayBuffer) {
      assert.deepEqual(new Uint8Array(a as ArrayBuffer), new Uint8Array(e), `${p}: bytes`);
      return;
    }
    if (ArrayBuffer.isView(e)) {
      const av = a as ArrayBufferView;
      assert.equal(av.byteLength, e.byteLength, `${p}: byteLength`);
      assert.deepEqual(
        new Uint8Array(av.buffer, av.byteOffset, av.byteLength),
        new Uint8Array(e.buffer, e.byteOffset, e.byteLength),
        `${p}: bytes`,
      );
      return;
    }
    if (Array.isArray(e)) {
      const aa = a as unknown[];
      assert.equal(aa.length, e.length, `${p}: length`);
      for (let i = 0; i < e.length; i++) {
        assert.equal(i in aa, i in e, `${p}[${i}]: hole vs value`);
        if (i in e) walk(aa[i], e[i], `${p}[${i}]`);
      }
      return;
    }
    const ak = Object.keys(ao);
    const ek = Object.keys(eo);
    assert.deepEqual(ak, ek, `${p}: keys (and their order)`);
    for (const k of ek)
      walk((ao as Record<string, unknown>)[k], (eo as Record<string, unknown>)[k], `${p}.${k}`);
  };
  walk(actual, expected, path);
}
