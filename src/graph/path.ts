/**
 * How a node was first reached, kept as a parent id plus an edge kind and key per node (no
 * allocation per edge), so that the path string (`results.runs[3].model`) is only built when an
 * error needs it.
 */

export enum EdgeKind {
  Root,
  Key,
  Index,
  MapKey,
  MapValue,
  SetItem,
  Arg,
  Buffer,
  Data,
}

/** The per-node columns path strings are made from (a Graph, or the walk while it builds one). */
export interface PathColumns {
  /** Parent id of each node, -1 for a root. */
  readonly parents: Int32Array;
  readonly edges: Uint8Array;
  /** Root name, property key, index, or Map key, depending on the edge. */
  readonly pathKeys: readonly unknown[];
}

const IDENT = /^[A-Za-z_$][\w$]*$/;

function describeKey(key: unknown): string {
  if (typeof key === "string") return JSON.stringify(key);
  if (typeof key === "number" || typeof key === "boolean" || key === null || key === undefined) {
    return String(key);
  }
  if (typeof key === "bigint") return `${key}n`;
  return `<${typeof key}>`;
}

function segment(edge: EdgeKind, key: unknown): string {
  switch (edge) {
    case EdgeKind.Root:
      return String(key);
    case EdgeKind.Key:
      return IDENT.test(key as string) ? `.${key as string}` : `[${JSON.stringify(key)}]`;
    case EdgeKind.Index:
      return `[${key as number}]`;
    case EdgeKind.MapKey:
      return `<key ${key as number}>`;
    case EdgeKind.MapValue:
      return `.get(${describeKey(key)})`;
    case EdgeKind.SetItem:
      return `<item ${key as number}>`;
    case EdgeKind.Arg:
      return `<argument ${key as number}>`;
    case EdgeKind.Buffer:
      return ".buffer";
    case EdgeKind.Data:
      return ".data";
  }
}

/** Path of the value reached from node `parent` (-1: none) through `edge`/`key`, e.g. `cfg.get("k")`. */
export function pathOf(cols: PathColumns, parent: number, edge: EdgeKind, key: unknown): string {
  const parts = [segment(edge, key)];
  for (let p = parent; p >= 0; p = cols.parents[p]!) {
    parts.push(segment(cols.edges[p] as EdgeKind, cols.pathKeys[p]));
  }
  return parts.reverse().join("");
}

/** Path of node `id` itself. */
export function nodePath(cols: PathColumns, id: number): string {
  return pathOf(cols, cols.parents[id]!, cols.edges[id] as EdgeKind, cols.pathKeys[id]);
}
