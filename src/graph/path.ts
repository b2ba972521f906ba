/**
 * How a node was first reached, kept as a parent link plus an edge kind and key (no allocation per
 * edge), so that the path string (`results.runs[3].model`) is only built when an error needs it.
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

/** The part of a node that path strings are made from. */
export interface PathLink {
  readonly parent: PathLink | undefined;
  readonly edge: EdgeKind;
  /** Root name, property key, index, or Map key, depending on `edge`. */
  readonly key: unknown;
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

/** Path of the value reached from `parent` through `edge`/`key`, e.g. `cfg.get("k")`. */
export function pathOf(parent: PathLink | undefined, edge: EdgeKind, key: unknown): string {
  const parts = [segment(edge, key)];
  for (let p = parent; p; p = p.parent) parts.push(segment(p.edge, p.key));
  return parts.reverse().join("");
}

/** Path of a node itself. */
export function nodePath(node: PathLink): string {
  return pathOf(node.parent, node.edge, node.key);
}
