/**
 * Walks the inserted values once and turns every object into a node: its kind, how many edges
 * point at it (so shared values become `const` bindings), the first path that reached it (for
 * error messages) and, for large arrays, the name of the data file entry that will hold them.
 * Ids are given in visit order, so the same input always yields the same graph.
 */
import { UnsupportedValueError } from "../errors.js";
import type { NDArray } from "../runtime/persist-runtime.mjs";
import { coversFixedBuffer, isResizable, viewProblem } from "../values/buffers.js";
import {
  type Classified,
  classify,
  type ImportRef,
  type ObjectKind,
  symbolName,
} from "../values/classify.js";
import { hasRegistration } from "../values/registry.js";
import { checkConstructorChains } from "./constructor-chains.js";
import { EdgeKind, type PathLink, pathOf } from "./path.js";

export interface GraphNode extends PathLink {
  readonly parent: GraphNode | undefined;
  /** Visit order, from 0. */
  readonly id: number;
  readonly value: object;
  readonly kind: ObjectKind;
  /** Number of edges (including being an inserted name) that point at this node. */
  refs: number;
  /** Inserted name when this node is (first) an inserted value. */
  exportName: string | undefined;
  /** For instances: callee and arguments (computed once: rep() may be costly). */
  instance: { ref: ImportRef; factory: string | undefined; args: readonly unknown[] } | undefined;
  /** For imports (registered functions, classes as values). */
  importRef: ImportRef | undefined;
  /** For built-in functions: their global path, e.g. `Math.sin`. */
  globalPath: string | undefined;
  /** Name of the data-file entry (`array_3`) for arrays stored outside the module. */
  external: string | undefined;
}

export interface GraphOptions {
  /** Arrays with more elements than this (buffers: bytes) are external. */
  arrayThreshold: number;
}

export interface Graph {
  nodes: GraphNode[];
  byValue: Map<object, GraphNode>;
  /** External arrays in entry-name order: what the data files must hold. */
  externals: { name: string; node: GraphNode }[];
  /**
   * The node of every object the walk met, in the order it met them (repeats included). A writer
   * that walks in the same order can take nodes from here instead of looking each value up.
   */
  encounters: GraphNode[];
}

/** A name → value item to walk, in insertion order. */
export type Root = readonly [name: string, value: unknown];

export function buildGraph(roots: readonly Root[], options: GraphOptions): Graph {
  const nodes: GraphNode[] = [];
  const byValue = new Map<object, GraphNode>();
  const encounters: GraphNode[] = [];
  const objectsRegistered = hasRegistration(Object);
  let instances = false;
  const arraysRegistered = hasRegistration(Array);

  const fail = (
    parent: GraphNode | undefined,
    edge: EdgeKind,
    key: unknown,
    what: string,
    fix: string,
  ) => {
    const path = pathOf(parent, edge, key);
    return new UnsupportedValueError(`Cannot archive ${path}: it is ${what}. To fix: ${fix}.`, {
      valuePath: path,
    });
  };

  const visit: Visit = (value, parent, edge, key) => {
    if (value === null) return;
    const type = typeof value;
    if (type !== "object" && type !== "function") {
      if (type === "symbol" && symbolName(value as symbol) === undefined) {
        throw fail(
          parent,
          edge,
          key,
          `a symbol that is neither registered nor well-known (${String(value)})`,
          "use Symbol.for(key) so the archive can name it",
        );
      }
      return;
    }
    const obj = value as object;
    const seen = byValue.get(obj);
    if (seen !== undefined) {
      seen.refs++;
      encounters.push(seen);
      return;
    }
    if (depth >= MAX_WALK_DEPTH) {
      later.push([value, parent, edge, key]);
      return;
    }
    // Plain objects and arrays are most of any graph: skip the general classification for them.
    // Math, JSON, console, … (a toStringTag) and `arguments` (an own iterator) only look plain.
    const proto = Object.getPrototypeOf(obj);
    const c: Classified =
      proto === Object.prototype &&
      !objectsRegistered &&
      !(Symbol.toStringTag in obj) &&
      !(Symbol.iterator in obj)
        ? PLAIN_OBJECT
        : proto === Array.prototype && !arraysRegistered
          ? PLAIN_ARRAY
          : classify(obj);
    if (c.kind === "unsupported") throw fail(parent, edge, key, c.what, c.fix);
    if (c.kind === "instance") instances = true;
    const node: GraphNode = {
      parent,
      edge,
      key,
      id: nodes.length,
      value: obj,
      kind: c.kind,
      refs: 1,
      exportName: undefined,
      instance:
        c.kind === "instance" ? { ref: c.ref, factory: c.factory, args: c.args } : undefined,
      importRef: c.kind === "import" ? c.ref : undefined,
      globalPath: c.kind === "global" ? c.path : undefined,
      external: undefined,
    };
    nodes.push(node);
    byValue.set(obj, node);
    encounters.push(node);
    depth++;
    visitChildren(node, visit, fail);
    depth--;
  };
  // Deep chains: values below MAX_WALK_DEPTH are walked later from a fresh stack, so any depth
  // works. Every edge is still counted exactly once, and the order stays deterministic.
  let depth = 0;
  const later: [value: unknown, parent: GraphNode | undefined, edge: EdgeKind, key: unknown][] = [];
  const walkLater = () => {
    for (let i = 0; i < later.length; i++) visit(...later[i]!);
    later.length = 0;
  };

  for (const [name, value] of roots) {
    visit(value, undefined, EdgeKind.Root, name);
    walkLater();
    if (value !== null && typeof value === "object") {
      const node = byValue.get(value)!;
      node.exportName ??= name;
    } else if (typeof value === "function") {
      const node = byValue.get(value);
      if (node) node.exportName ??= name;
    }
  }
  if (instances) checkConstructorChains(nodes, (v) => byValue.get(v));
  const externals = assignExternals(nodes, byValue, options.arrayThreshold);
  return { nodes, byValue, externals, encounters };
}

type Visit = (value: unknown, parent: GraphNode | undefined, edge: EdgeKind, key: unknown) => void;
type Fail = (
  parent: GraphNode | undefined,
  edge: EdgeKind,
  key: unknown,
  what: string,
  fix: string,
) => UnsupportedValueError;

/** Nesting walked on one stack before the rest is queued (see `later` in buildGraph). */
const MAX_WALK_DEPTH = 1000;

const PLAIN_OBJECT: Classified = { kind: "object" };
const PLAIN_ARRAY: Classified = { kind: "array" };

function visitChildren(node: GraphNode, visit: Visit, fail: Fail): void {
  const v = node.value as Record<string | symbol, unknown>;
  switch (node.kind) {
    case "array": {
      const arr = v as unknown as unknown[];
      const present = arr.length > SPARSE_MIN_LENGTH ? sparseIndices(arr) : undefined;
      if (present) {
        for (const i of present) visit(arr[i], node, EdgeKind.Index, i);
        return;
      }
      for (let i = 0; i < arr.length; i++) {
        if (i in arr) visit(arr[i], node, EdgeKind.Index, i);
      }
      return;
    }
    case "object": {
      for (const s of Object.getOwnPropertySymbols(v)) {
        if (Object.prototype.propertyIsEnumerable.call(v, s)) {
          throw fail(
            node,
            EdgeKind.Key,
            String(s),
            "a property with a symbol key",
            "use a string key (symbol-keyed properties are not archived)",
          );
        }
      }
      const keys = Object.keys(v);
      for (let i = 0; i < keys.length; i++) visit(v[keys[i]!], node, EdgeKind.Key, keys[i]);
      return;
    }
    case "map": {
      let i = 0;
      for (const [k, val] of v as unknown as Map<unknown, unknown>) {
        visit(k, node, EdgeKind.MapKey, i);
        visit(val, node, EdgeKind.MapValue, k);
        i++;
      }
      return;
    }
    case "set": {
      let i = 0;
      for (const val of v as unknown as Set<unknown>) visit(val, node, EdgeKind.SetItem, i++);
      return;
    }
    case "error": {
      // An enumerable `cause` (assigned after construction) is visited with the other keys.
      if (Object.hasOwn(v, "cause") && !Object.prototype.propertyIsEnumerable.call(v, "cause")) {
        visit(v.cause, node, EdgeKind.Key, "cause");
      }
      if (v instanceof AggregateError) visit(v.errors, node, EdgeKind.Key, "errors");
      for (const key of Object.keys(v)) visit(v[key], node, EdgeKind.Key, key);
      return;
    }
    case "typedarray":
    case "dataview": {
      const problem = viewProblem(v as unknown as ArrayBufferView);
      if (problem) {
        throw fail(
          node.parent,
          node.edge,
          node.key,
          problem,
          "archive views that are in bounds of a live buffer (slice() makes an independent copy)",
        );
      }
      visit((v as unknown as ArrayBufferView).buffer, node, EdgeKind.Buffer, undefined);
      return;
    }
    case "ndarray":
      visit((v as unknown as NDArray).data, node, EdgeKind.Data, undefined);
      return;
    case "instance": {
      const args = node.instance!.args;
      for (let i = 0; i < args.length; i++) visit(args[i], node, EdgeKind.Arg, i);
      return;
    }
    default:
      return; // date, regexp, boxed, arraybuffer, import, global: no object children
  }
}

/** Arrays up to this length are always written element by element (holes as elisions). */
export const SPARSE_MIN_LENGTH = 1024;

/**
 * The present indices of a mostly-empty long array (`a[1e9] = 1`), or undefined for an ordinary
 * one. Such arrays are walked and written by their elements, never by their length, which could
 * be up to 2^32 - 1.
 */
export function sparseIndices(arr: readonly unknown[]): number[] | undefined {
  if (arr.length <= SPARSE_MIN_LENGTH) return undefined;
  const keys = Object.keys(arr);
  if (keys.length * 2 >= arr.length) return undefined;
  const out: number[] = [];
  for (const k of keys) {
    const i = Number(k);
    if (String(i) === k && i < arr.length) out.push(i); // skip non-index fields
  }
  return out;
}

/** Element count that `arrayThreshold` compares against (bytes for buffers). */
function arraySize(node: GraphNode): number {
  switch (node.kind) {
    case "ndarray":
      return (node.value as NDArray).size;
    case "typedarray":
      return (node.value as ArrayBufferView as Float64Array).length;
    case "arraybuffer":
      return (node.value as ArrayBuffer).byteLength;
    default:
      return 0;
  }
}

/**
 * Decides which arrays go to data files and names them `array_N` in visit order. A typed array's
 * buffer is stored on its own only when several views share it; an NDArray's data is stored with
 * the NDArray (so `nd.data` referenced elsewhere stays the same object after loading).
 */
function assignExternals(
  nodes: GraphNode[],
  byValue: Map<object, GraphNode>,
  threshold: number,
): { name: string; node: GraphNode }[] {
  const out: { name: string; node: GraphNode }[] = [];
  if (!(threshold < Number.POSITIVE_INFINITY)) return out;
  const dataOfExternalND = new Set<GraphNode>();
  for (const node of nodes) {
    if (node.kind === "ndarray" && arraySize(node) > threshold) {
      dataOfExternalND.add(byValue.get((node.value as NDArray).data)!);
    }
  }
  for (const node of nodes) {
    if (dataOfExternalND.has(node)) continue;
    if (node.kind === "typedarray") {
      const view = node.value as Float64Array;
      const buffer = byValue.get(view.buffer)!;
      // Stored through its buffer when that is shared, or when the view is only part of it.
      if (buffer.refs > 1 || !coversFixedBuffer(view)) continue;
    } else if (node.kind === "arraybuffer") {
      // Resizable buffers are always written inline (their contents and maxByteLength).
      if (isResizable(node.value as ArrayBuffer)) continue;
      // A buffer that belongs to one whole view alone is written as that view's contents.
      if (
        node.refs === 1 &&
        node.edge === EdgeKind.Buffer &&
        node.parent?.kind === "typedarray" &&
        coversFixedBuffer(node.parent.value as ArrayBufferView)
      ) {
        continue;
      }
    } else if (node.kind !== "ndarray") {
      continue;
    }
    if (arraySize(node) > threshold) {
      node.external = `array_${out.length}`;
      out.push({ name: node.external, node });
      if (node.kind === "ndarray")
        byValue.get((node.value as NDArray).data)!.external = node.external;
    }
  }
  return out;
}
