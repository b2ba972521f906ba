/** The deep-equality helper the round trips rely on must itself catch what it claims to. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { assertSameGraph } from "../helpers/same-graph.js";

test("assertSameGraph catches lost sharing, -0, NaN, holes, classes, key order and cycles", () => {
  const shared = { a: 1 };
  const fails = (actual: unknown, expected: unknown) =>
    assert.throws(() => assertSameGraph(actual, expected), assert.AssertionError);
  fails([{ a: 1 }, { a: 1 }], [shared, shared]);
  fails(0, -0);
  fails(Number.NaN, 0);
  fails([undefined], new Array(1));
  fails(new (class A {})(), new (class B {})());
  fails({ b: 1, a: 2 }, { a: 2, b: 1 });
  const cyc: Record<string, unknown> = {};
  cyc.self = cyc;
  fails({ self: { self: {} } }, cyc);
  fails(new Map([[1, 2]]), new Map([[1, 3]]));
  fails(new Float64Array([1, 2]), new Float64Array([1, 3]));
  const ok: Record<string, unknown> = { self: undefined };
  ok.self = ok;
  assertSameGraph(ok, cyc);
  assertSameGraph([shared, shared, -0, Number.NaN], [shared, shared, -0, Number.NaN]);
});
