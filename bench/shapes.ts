/**
 * The object-graph shapes every speed comparison uses (issue 11), shared by bench/archive.ts and
 * bench/load.ts so both measure exactly the same data. Deterministic: no Math.random.
 *
 *  - flat: 100k records `{id, name, value, ok, ref}` in one array; every 10th record's `ref` points
 *    at an earlier record (one whose own `ref` is null, so JSON output has no long chains);
 *  - tree: depth 5, fan-out 7; inner nodes `{level, children, meta: {d, label}}`, leaves
 *    `{k, x, s, tags: ["a", "b"]}`; no sharing;
 *  - dag: 20k params `{omega, gamma, grid: [i, i + 1]}`, 80k runs `{run, p, q, e}` whose `p` and
 *    `q` point at two of the params.
 */

export interface FlatRecord {
  id: number;
  name: string;
  value: number;
  ok: boolean;
  ref: FlatRecord | null;
}

export function flat(records = 100_000): FlatRecord[] {
  const out: FlatRecord[] = [];
  for (let i = 0; i < records; i++) {
    let ref: FlatRecord | null = null;
    if (i > 0 && i % 10 === 0) {
      // An earlier record spread over the array, never one that itself has a ref.
      let j = (i * 7919) % i;
      if (j % 10 === 0) j++;
      ref = out[j]!;
    }
    out.push({ id: i, name: `record ${i}`, value: ((i * 37) % 1000) / 8, ok: i % 3 === 0, ref });
  }
  return out;
}

export interface TreeLeaf {
  k: number;
  x: number;
  s: string;
  tags: string[];
}
export interface TreeNode {
  level: number;
  children: (TreeNode | TreeLeaf)[];
  meta: { d: number; label: string };
}

export function tree(depth = 5, fanout = 7): TreeNode {
  let k = 0;
  const node = (level: number): TreeNode | TreeLeaf => {
    if (level === depth) {
      const n = k++;
      return { k: n, x: n / 16, s: `leaf-${n}`, tags: ["a", "b"] };
    }
    const children: (TreeNode | TreeLeaf)[] = [];
    for (let i = 0; i < fanout; i++) children.push(node(level + 1));
    return { level, children, meta: { d: depth - level, label: `level ${level}` } };
  };
  return node(0) as TreeNode;
}

export interface Param {
  omega: number;
  gamma: number;
  grid: number[];
}
export interface Run {
  run: number;
  p: Param;
  q: Param;
  e: number;
}

export function dag(params = 20_000, runs = 80_000): { params: Param[]; runs: Run[] } {
  const ps: Param[] = [];
  for (let i = 0; i < params; i++) {
    ps.push({ omega: (i % 97) / 4, gamma: (i % 13) / 8, grid: [i, i + 1] });
  }
  const rs: Run[] = [];
  for (let i = 0; i < runs; i++) {
    rs.push({
      run: i,
      p: ps[(i * 7919) % params]!,
      q: ps[(i * 104_729 + 1) % params]!,
      e: ((i * 31) % 1024) / 64,
    });
  }
  return { params: ps, runs: rs };
}

/** The three shapes by name, each built fresh by its function. */
export const SHAPES: Readonly<Record<"flat" | "tree" | "dag", () => unknown>> = {
  flat: () => flat(),
  tree: () => tree(),
  dag: () => dag(),
};
