/**
 * How a node was first reached, kept as parent links so that the path string
 * (`results.runs[3].model`) is only built when an error needs it.
 */
import type { GraphNode } from "./build.js";

export type Edge =
  | { kind: "root"; name: string }
  | { kind: "key"; parent: GraphNode; key: string }
  | { kind: "index"; parent: GraphNode; index: number }
  | { kind: "mapKey"; parent: GraphNode; index: number }
  | { kind: "mapValue"; parent: GraphNode; key: unknown }
  | { kind: "setItem"; parent: GraphNode; index: number }
  | { kind: "arg"; parent: GraphNode; index: number }
  | { kind: "buffer"; parent: GraphNode }
  | { kind: "data"; parent: GraphNode };

const IDENT = /^[A-Za-z_$][\w$]*$/;

function describeKey(key: unknown): string {
  if (typeof key === "string") return JSON.stringify(key);
  if (typeof key === "number" || typeof key === "boolean" || key === null || key === undefined) {
    return String(key);
  }
  if (typeof key === "bigint") return `${key}n`;
  return `<${typeof key}>`;
}

/** Human-readable path of a value, e.g. `results.runs[3].model` or `cfg.get("k")`. */
export function pathOf(edge: Edge): string {
  const parts: string[] = [];
  let e: Edge | undefined = edge;
  while (e) {
    switch (e.kind) {
      case "root":
        parts.push(e.name);
        e = undefined;
        continue;
      case "key":
        parts.push(IDENT.test(e.key) ? `.${e.key}` : `[${JSON.stringify(e.key)}]`);
        break;
      case "index":
        parts.push(`[${e.index}]`);
        break;
      case "mapKey":
        parts.push(`<key ${e.index}>`);
        break;
      case "mapValue":
        parts.push(`.get(${describeKey(e.key)})`);
        break;
      case "setItem":
        parts.push(`<item ${e.index}>`);
        break;
      case "arg":
        parts.push(`<argument ${e.index}>`);
        break;
      case "buffer":
        parts.push(".buffer");
        break;
      case "data":
        parts.push(".data");
        break;
    }
    e = e.parent.via;
  }
  return parts.reverse().join("");
}
