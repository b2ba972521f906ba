/**
 * Value graphs shared by the native round-trip tests (test/archive) and the safe-loader round trips
 * (test/load): the same sharing and cycles must survive both ways of reading an archive.
 */

/** Shared references and cycles through objects, arrays, Maps and Sets; `again` is `shared`. */
export function cyclicSample(): Record<string, unknown> {
  const shared = { id: "shared" };
  const list: unknown[] = [shared, shared];
  list.push(list);
  const a: Record<string, unknown> = { name: "a" };
  const b: Record<string, unknown> = { name: "b", a };
  a.b = b;
  const m = new Map<unknown, unknown>();
  m.set("self", m);
  m.set(m, "key is self");
  m.set("after", [m]);
  const s = new Set<unknown>([1]);
  s.add(s);
  s.add(2);
  const selfObj: Record<string, unknown> = {};
  selfObj.self = selfObj;
  selfObj.later = 1;
  return { shared, list, a, m, s, selfObj, again: shared };
}

/** 2,000 rows that share 50 pooled objects. */
export function pooledRows(): Record<string, unknown> {
  const pool = Array.from({ length: 50 }, (_, i) => ({ i, tags: [`t${i}`] }));
  const rows = Array.from({ length: 2000 }, (_, i) => ({ i, ref: pool[i % 50], vals: [i, i / 3] }));
  return { rows, pool };
}
