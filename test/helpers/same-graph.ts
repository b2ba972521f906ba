/**
 * Deep equality that is stricter than assert.deepStrictEqual where archives need it: prototypes
 * (classes) must match by name, `-0` and `NaN` are distinguished, holes stay holes, and the identity
 * structure must match (a shared value is shared in the copy too; a cycle is a cycle). Values
 * imported from a saved archive come from other module instances, so classes are compared by
 * constructor name, NDArrays by brand.
 *
 * Iterative, with paths built only on failure, so chains 100,000 levels deep can be compared.
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

/** A path in the compared graph, as a parent link; the string is made only for a message. */
class Path {
  constructor(
    readonly parent: Path | undefined,
    readonly segment: string,
  ) {}
  toString(): string {
    const parts: string[] = [];
    for (let p: Path | undefined = this; p; p = p.parent) parts.push(p.segment);
    return parts.reverse().join("");
  }
}

function check(ok: boolean, path: Path, message: () => string): void {
  if (!ok) assert.fail(`${path}: ${message()}`);
}

function sameBytes(a: ArrayBufferView, e: ArrayBufferView, path: Path): void {
  const ab = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const eb = new Uint8Array(e.buffer, e.byteOffset, e.byteLength);
  check(ab.length === eb.length, path, () => `byteLength ${ab.length} !== ${eb.length}`);
  for (let i = 0; i < eb.length; i++) {
    if (ab[i] !== eb[i]) check(false, path, () => `bytes differ at ${i}: ${ab[i]} !== ${eb[i]}`);
  }
}

export function assertSameGraph(actual: unknown, expected: unknown, name = "value"): void {
  const seen = new Map<object, object>(); // expected → actual
  const seenActual = new Map<object, object>();
  const stack: [actual: unknown, expected: unknown, path: Path][] = [
    [actual, expected, new Path(undefined, name)],
  ];
  // Children are pushed in reverse so they are compared in order (first differences first).
  const later: [unknown, unknown, Path][] = [];
  const push = (a: unknown, e: unknown, p: Path, segment: string) => {
    later.push([a, e, new Path(p, segment)]);
  };
  while (stack.length > 0) {
    const [a, e, p] = stack.pop()!;
    compare(a, e, p);
    for (let i = later.length - 1; i >= 0; i--) stack.push(later[i]!);
    later.length = 0;
  }

  function compare(a: unknown, e: unknown, p: Path): void {
    if (e === null || (typeof e !== "object" && typeof e !== "function")) {
      check(
        Object.is(a, e),
        p,
        () => `expected ${show(e)} (${typeof e}), got ${show(a)} (${typeof a})`,
      );
      return;
    }
    check(
      a !== null && (typeof a === "object" || typeof a === "function"),
      p,
      () => `expected an object, got ${show(a)}`,
    );
    const ao = a as object;
    const eo = e as object;
    const prior = seen.get(eo);
    if (prior !== undefined) {
      check(prior === ao, p, () => "expected the same object as before (shared/cycle), got a copy");
      return;
    }
    check(!seenActual.has(ao), p, () => "two different expected values became one object");
    seen.set(eo, ao);
    seenActual.set(ao, eo);
    if (typeof e === "function") {
      check(a === e, p, () => "function differs");
      return;
    }
    check(protoName(ao) === protoName(eo), p, () => `class ${protoName(ao)} !== ${protoName(eo)}`);
    if (e instanceof Map) {
      const ae = [...(a as Map<unknown, unknown>)];
      const ee = [...e];
      check(ae.length === ee.length, p, () => `Map size ${ae.length} !== ${ee.length}`);
      ee.forEach(([k, v], i) => {
        push(ae[i]![0], k, p, `<key ${i}>`);
        push(ae[i]![1], v, p, `.get(${show(k)})`);
      });
      return;
    }
    if (e instanceof Set) {
      const ae = [...(a as Set<unknown>)];
      const ee = [...e];
      check(ae.length === ee.length, p, () => `Set size ${ae.length} !== ${ee.length}`);
      for (let i = 0; i < ee.length; i++) push(ae[i], ee[i], p, `<item ${i}>`);
      return;
    }
    if (e instanceof Date) {
      check(Object.is((a as Date).getTime(), e.getTime()), p, () => "Date differs");
      return;
    }
    if (e instanceof RegExp) {
      const ar = a as RegExp;
      check(ar.source === e.source, p, () => `RegExp source ${ar.source} !== ${e.source}`);
      check(ar.flags === e.flags, p, () => `RegExp flags ${ar.flags} !== ${e.flags}`);
      check(ar.lastIndex === e.lastIndex, p, () => "RegExp lastIndex differs");
      return;
    }
    if (e instanceof Error) {
      check(
        (a as Error).message === e.message,
        p,
        () => `message ${(a as Error).message} !== ${e.message}`,
      );
      check(Object.hasOwn(ao, "cause") === Object.hasOwn(e, "cause"), p, () => "has cause differs");
      if (Object.hasOwn(e, "cause")) push((a as Error).cause, e.cause, p, ".cause");
      if (e instanceof AggregateError) push((a as AggregateError).errors, e.errors, p, ".errors");
    }
    if (
      e instanceof Number ||
      e instanceof String ||
      e instanceof Boolean ||
      e instanceof BigInt ||
      e instanceof Symbol
    ) {
      check(Object.is((a as Number).valueOf(), e.valueOf()), p, () => "boxed value differs");
      return;
    }
    if (e instanceof ArrayBuffer) {
      sameBytes(new Uint8Array(a as ArrayBuffer), new Uint8Array(e), p);
      return;
    }
    if (ArrayBuffer.isView(e)) {
      sameBytes(a as ArrayBufferView, e, p);
      return;
    }
    if (Array.isArray(e)) {
      const aa = a as unknown[];
      check(aa.length === e.length, p, () => `length ${aa.length} !== ${e.length}`);
      for (let i = 0; i < e.length; i++) {
        check(i in aa === i in e, p, () => `[${i}]: hole vs value`);
        if (i in e) push(aa[i], e[i], p, `[${i}]`);
      }
      return;
    }
    const ak = Object.keys(ao);
    const ek = Object.keys(eo);
    check(
      ak.length === ek.length && ak.every((k, i) => k === ek[i]),
      p,
      () => `keys (and their order) [${ak.join(", ")}] !== [${ek.join(", ")}]`,
    );
    for (const k of ek) {
      push((ao as Record<string, unknown>)[k], (eo as Record<string, unknown>)[k], p, `.${k}`);
    }
  }
}
