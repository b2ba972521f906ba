/** The graph walk's chunked column: the same as an array built by push, across chunk boundaries. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Column } from "../../src/graph/column.js";

test("push, get, set, truncate and toArray agree with a plain array at every size", () => {
  for (const n of [0, 1, 5, 1023, 1024, 1025, 2048, 3000]) {
    const column = new Column<unknown>();
    const plain: unknown[] = [];
    for (let i = 0; i < n; i++) {
      const v = i % 3 === 0 ? i / 8 : i % 3 === 1 ? `s${i}` : { i };
      column.push(v);
      plain.push(v);
    }
    assert.equal(column.length, n);
    assert.deepEqual(column.toArray(), plain, `${n} values`);
    for (let i = 0; i < n; i += 97) assert.equal(column.get(i), plain[i]);
    if (n > 0) {
      column.set(n - 1, "last");
      plain[n - 1] = "last";
      assert.deepEqual(column.toArray(), plain);
    }
    // truncate (a sparse array's rollback) then append again: no stale values come back
    for (const keep of [0, Math.floor(n / 2), Math.max(0, n - 1), 1024].filter((k) => k <= n)) {
      const c = new Column<unknown>();
      for (const v of plain) c.push(v);
      c.truncate(keep);
      const expected = plain.slice(0, keep);
      for (let i = 0; i < 1100; i++) {
        c.push(-i);
        expected.push(-i);
      }
      assert.deepEqual(c.toArray(), expected, `${n} values, truncated to ${keep}`);
      assert.equal(c.get(c.length - 1), -1099);
    }
  }
});
