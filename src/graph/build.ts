/**
 * Walks the inserted values once and numbers every object it meets (ids in visit order, so the
 * same input always yields the same graph). The graph is a set of columns indexed by id — kind,
 * how many edges point at it (shared values become `const` bindings), the first path that reached
 * it (for error messages) — with no object per node: a graph of 100k records is a few arrays.
 *
 * The walk also records every child value it reads (property values, elements, Map entries, ...)
 * in one flat list, with the child's id beside it. The emitter and the declarations writer take
 * children from there instead of reading the objects again, so a getter on a plain object runs once
 * per toString()/save(), and no object is looked up by value a second time.
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
import { Column } from "./column.js";
import { checkConstructorChains } from "./constructor-chains.js";
import { EdgeKind, type PathColumns, pathOf } from "./path.js";

/** Callee and arguments of a class instance (computed once: rep() may be costly). */
export interface InstanceCall {
  readonly ref: ImportRef;
  readonly factory: string | undefined;
  readonly args: readonly unknown[];
}

export interface GraphOptions {
  /** Arrays with more elements than this (buffers: bytes) are external. */
  arrayThreshold: number;
}

export interface Graph extends PathColumns {
  /** Number of objects; their ids are 0 … count - 1 in visit order. */
  readonly count: number;
  readonly values: readonly object[];
  readonly kinds: readonly ObjectKind[];
  /** Number of edges (including being an inserted name) that point at each object. */
  readonly refs: Uint32Array;
  readonly ids: ReadonlyMap<object, number>;
  /** The (first) inserted name of objects that are inserted values. */
  readonly exportNames: ReadonlyMap<number, string>;
  readonly instances: ReadonlyMap<number, InstanceCall>;
  /** Registered functions and classes used as values. */
  readonly importRefs: ReadonlyMap<number, ImportRef>;
  /** Built-in functions by their global path, e.g. `Math.sin`. */
  readonly globalPaths: ReadonlyMap<number, string>;
  /** Name of the data-file entry (`array_3`) of arrays stored outside the module. */
  readonly externalNames: ReadonlyMap<number, string>;
  /** External arrays in entry-name order: what the data files must hold. */
  readonly externals: readonly { name: string; id: number }[];
  /**
   * Children of object `id` are slots childStart[id] … childEnd[id] - 1 of childValues (the value
   * as read) and childIds (its object id, or -1 for a primitive or a hole). Slots hold, by kind:
   * object: its `objectKeys` in order; array: its elements (HOLE for holes), or for a sparse array
   * the elements at `sparseIndices`; map: key, value, key, value, …; set: items; error: `cause`
   * (when the constructor made it), `errors` (AggregateError), then its enumerable keys; instance:
   * its arguments; typed array / DataView: the buffer; NDArray: the data.
   */
  readonly childStart: Int32Array;
  readonly childEnd: Int32Array;
  readonly childValues: readonly unknown[];
  readonly childIds: Int32Array;
  /**
   * Keys of "object" nodes as read (arrays with the same keys as the previous object are shared),
   * and of "error" nodes: their slots' keys.
   */
  readonly objectKeys: readonly (readonly string[] | undefined)[];
  /** Present indices of sparse arrays (written by their elements, never by their length). */
  readonly sparse: ReadonlyMap<number, readonly number[]>;
}

/** A name → value item to walk, in insertion order. */
export type Root = readonly [name: string, value: unknown];

/** The recorded value of an array hole. */
export const HOLE: unknown = Symbol("hole");

export function buildGraph(roots: readonly Root[], options: GraphOptions): Graph {
  const walk = new Walk();
  for (const [name, value] of roots) {
    const id = walk.visit(value, -1, EdgeKind.Root, name, -1);
    walk.walkLater();
    if (id >= 0 && !walk.exportNames.has(id)) walk.exportNames.set(id, name);
  }
  const graph = walk.finish();
  if (graph.instances.size > 0) checkConstructorChains(graph);
  assignExternals(graph, options.arrayThreshold);
  return graph;
}

/** Nesting walked on one stack before the rest is queued (see Walk.later). */
const MAX_WALK_DEPTH = 400;

const PLAIN_OBJECT: Classified = { kind: "object" };
const PLAIN_ARRAY: Classified = { kind: "array" };

/**
 * The walk's growing columns; finish() hands them over as the Graph. They start small (and double
 * as needed): most graphs are small (a DataSet item is often one array), and typed arrays of more
 * than 64 bytes get an off-heap zero-filled buffer each, which made the six 1,024-slot columns
 * ~150 µs of every walk (most of rendering 1,000 one-array items for insertMany).
 */
class Walk {
  count = 0;
  private readonly values = new Column<object>();
  private readonly kinds = new Column<ObjectKind>();
  refs = new Uint32Array(16);
  parents = new Int32Array(16);
  edges = new Uint8Array(16);
  private readonly pathKeyColumn = new Column<unknown>();
  childStart = new Int32Array(16);
  childEnd = new Int32Array(16);
  private readonly childValues = new Column<unknown>();
  childIds = new Int32Array(16);
  private readonly objectKeys = new Column<readonly string[] | undefined>();
  readonly ids = new Map<object, number>();
  readonly exportNames = new Map<number, string>();
  readonly instances = new Map<number, InstanceCall>();
  readonly importRefs = new Map<number, ImportRef>();
  readonly globalPaths = new Map<number, string>();
  readonly sparse = new Map<number, number[]>();
  private readonly objectsRegistered = hasRegistration(Object);
  private readonly arraysRegistered = hasRegistration(Array);
  /** Keys of the last object walked: the next one with the same keys shares the array. */
  private lastKeys: readonly string[] = [];
  private depth = 0;
  /**
   * Deep chains: values below MAX_WALK_DEPTH are walked later from a fresh stack (with the slot
   * their id goes to), so any depth works. Every edge is still counted exactly once, and the order
   * stays deterministic.
   */
  private readonly later: [unknown, number, EdgeKind, unknown, number][] = [];

  finish(): Graph {
    return {
      count: this.count,
      values: this.values.toArray(),
      kinds: this.kinds.toArray(),
      refs: this.refs,
      parents: this.parents,
      edges: this.edges,
      pathKeys: this.pathKeyColumn.toArray(),
      ids: this.ids,
      exportNames: this.exportNames,
      instances: this.instances,
      importRefs: this.importRefs,
      globalPaths: this.globalPaths,
      externalNames: new Map(),
      externals: [],
      childStart: this.childStart,
      childEnd: this.childEnd,
      childValues: this.childValues.toArray(),
      childIds: this.childIds,
      objectKeys: this.objectKeys.toArray(),
      sparse: this.sparse,
    };
  }

  /** Keys of the path of each node (for pathOf, on the way to an error only: it copies). */
  get pathKeys(): readonly unknown[] {
    return this.pathKeyColumn.toArray();
  }

  walkLater(): void {
    const later = this.later;
    for (let i = 0; i < later.length; i++) {
      const [value, parent, edge, key, slot] = later[i]!;
      const id = this.visit(value, parent, edge, key, -1);
      if (slot >= 0) this.childIds[slot] = id;
    }
    later.length = 0;
  }

  private fail(parent: number, edge: EdgeKind, key: unknown, what: string, fix: string) {
    const path = pathOf(this, parent, edge, key);
    return new UnsupportedValueError(`Cannot archive ${path}: it is ${what}. To fix: ${fix}.`, {
      valuePath: path,
    });
  }

  /** The id of `value` (numbered now if new), -1 for a primitive, -2 when queued for later. */
  visit(value: unknown, parent: number, edge: EdgeKind, key: unknown, slot: number): number {
    if (value === null) return -1;
    const type = typeof value;
    if (type !== "object" && type !== "function") {
      if (type === "symbol" && symbolName(value as symbol) === undefined) {
        throw this.fail(
          parent,
          edge,
          key,
          `a symbol that is neither registered nor well-known (${String(value)})`,
          "use Symbol.for(key) so the archive can name it",
        );
      }
      return -1;
    }
    const obj = value as object;
    const seen = this.ids.get(obj);
    if (seen !== undefined) {
      this.refs[seen]!++;
      return seen;
    }
    if (this.depth >= MAX_WALK_DEPTH) {
      this.later.push([value, parent, edge, key, slot]);
      return -2;
    }
    // Plain objects and arrays are most of any graph: skip the general classification for them.
    // Math, JSON, console, … (a toStringTag) and `arguments` (an own iterator) only look plain.
    const proto = Object.getPrototypeOf(obj);
    const c: Classified =
      proto === Object.prototype &&
      !this.objectsRegistered &&
      !(Symbol.toStringTag in obj) &&
      !(Symbol.iterator in obj)
        ? PLAIN_OBJECT
        : proto === Array.prototype && !this.arraysRegistered
          ? PLAIN_ARRAY
          : classify(obj);
    if (c.kind === "unsupported") throw this.fail(parent, edge, key, c.what, c.fix);
    const id = this.count++;
    if (id === this.refs.length) this.growNodes();
    this.values.push(obj);
    this.kinds.push(c.kind);
    this.refs[id] = 1;
    this.parents[id] = parent;
    this.edges[id] = edge;
    this.pathKeyColumn.push(key);
    this.objectKeys.push(undefined);
    this.ids.set(obj, id);
    if (c.kind === "instance") {
      this.instances.set(id, { ref: c.ref, factory: c.factory, args: c.args });
    } else if (c.kind === "import") {
      this.importRefs.set(id, c.ref);
    } else if (c.kind === "global") {
      this.globalPaths.set(id, c.path);
    }
    this.depth++;
    this.children(id, obj, c.kind);
    this.depth--;
    return id;
  }

  private growNodes(): void {
    const n = this.refs.length * 2;
    const grow = <T extends Int32Array | Uint32Array | Uint8Array>(
      a: T,
      make: new (n: number) => T,
    ) => {
      const b = new make(n);
      b.set(a);
      return b;
    };
    this.refs = grow(this.refs, Uint32Array);
    this.parents = grow(this.parents, Int32Array);
    this.edges = grow(this.edges, Uint8Array);
    this.childStart = grow(this.childStart, Int32Array);
    this.childEnd = grow(this.childEnd, Int32Array);
  }

  /** Appends a child value (see column.ts); childIds grows beside it. */
  private record(value: unknown): void {
    const slot = this.childValues.length;
    this.childValues.push(value);
    if (slot === this.childIds.length) {
      const b = new Int32Array(slot * 2);
      b.set(this.childIds);
      this.childIds = b;
    }
  }

  /** Visits slot `slot`'s value as a child of `id` and stores its id there. */
  private child(slot: number, id: number, edge: EdgeKind, key: unknown): void {
    // Not `this.childIds[slot] = this.visit(…)`: the visit may grow (replace) childIds.
    const child = this.visit(this.childValues.get(slot), id, edge, key, slot);
    this.childIds[slot] = child;
  }

  /** Records the children of `v` (each read once) and visits them in order. */
  private children(id: number, v: object, kind: ObjectKind): void {
    const start = this.childValues.length;
    this.childStart[id] = start;
    switch (kind) {
      case "array":
        this.array(id, v as unknown[], start);
        break;
      case "object": {
        const o = v as Record<string, unknown>;
        for (const s of Object.getOwnPropertySymbols(o)) {
          if (Object.prototype.propertyIsEnumerable.call(o, s)) {
            throw this.fail(
              id,
              EdgeKind.Key,
              String(s),
              "a property with a symbol key",
              "use a string key (symbol-keyed properties are not archived)",
            );
          }
        }
        const keys = this.shared(Object.keys(o));
        this.objectKeys.set(id, keys);
        const n = keys.length;
        for (let i = 0; i < n; i++) this.record(o[keys[i]!]);
        this.childEnd[id] = start + n;
        for (let i = 0; i < n; i++) this.child(start + i, id, EdgeKind.Key, keys[i]);
        return;
      }
      case "map": {
        for (const [k, val] of v as Map<unknown, unknown>) {
          this.record(k);
          this.record(val);
        }
        const end = this.childValues.length;
        this.childEnd[id] = end;
        for (let s = start, i = 0; s < end; s += 2, i++) {
          this.child(s, id, EdgeKind.MapKey, i);
          this.child(s + 1, id, EdgeKind.MapValue, this.childValues.get(s));
        }
        return;
      }
      case "set": {
        for (const item of v as Set<unknown>) this.record(item);
        const end = this.childValues.length;
        this.childEnd[id] = end;
        for (let s = start; s < end; s++) this.child(s, id, EdgeKind.SetItem, s - start);
        return;
      }
      case "error": {
        const e = v as Record<string, unknown>;
        const keys: string[] = [];
        // An enumerable `cause` (assigned after construction) is visited with the other keys.
        if (Object.hasOwn(e, "cause") && !Object.prototype.propertyIsEnumerable.call(e, "cause")) {
          keys.push("cause");
        }
        if (e instanceof AggregateError) keys.push("errors");
        keys.push(...Object.keys(e));
        this.objectKeys.set(id, keys);
        for (const key of keys) this.record(e[key]);
        this.childEnd[id] = start + keys.length;
        for (let i = 0; i < keys.length; i++) this.child(start + i, id, EdgeKind.Key, keys[i]);
        return;
      }
      case "typedarray":
      case "dataview": {
        const problem = viewProblem(v as ArrayBufferView);
        if (problem) {
          throw this.fail(
            this.parents[id]!,
            this.edges[id] as EdgeKind,
            this.pathKeyColumn.get(id),
            problem,
            "archive views that are in bounds of a live buffer (slice() makes an independent copy)",
          );
        }
        this.record((v as ArrayBufferView).buffer);
        this.childEnd[id] = start + 1;
        this.child(start, id, EdgeKind.Buffer, undefined);
        return;
      }
      case "ndarray":
        this.record((v as NDArray).data);
        this.childEnd[id] = start + 1;
        this.child(start, id, EdgeKind.Data, undefined);
        return;
      case "instance": {
        const args = this.instances.get(id)!.args;
        for (let i = 0; i < args.length; i++) this.record(args[i]);
        this.childEnd[id] = start + args.length;
        for (let i = 0; i < args.length; i++) this.child(start + i, id, EdgeKind.Arg, i);
        return;
      }
      default:
        this.childEnd[id] = start; // date, regexp, boxed, arraybuffer, import, global, ...
    }
  }

  /**
   * Elements, each read once. Holes are recorded as HOLE; a long array with a hole is checked for
   * sparseness (by its key count) at that first hole, so dense arrays never list their keys.
   */
  private array(id: number, arr: unknown[], start: number): void {
    const n = arr.length;
    let checked = n <= SPARSE_MIN_LENGTH;
    for (let i = 0; i < n; i++) {
      const x = arr[i];
      if (x === undefined && !(i in arr)) {
        if (!checked) {
          checked = true;
          const present = sparseIndices(arr);
          if (present) {
            this.childValues.truncate(start);
            for (const p of present) this.record(arr[p]);
            this.sparse.set(id, present);
            this.childEnd[id] = start + present.length;
            for (let j = 0; j < present.length; j++) {
              this.child(start + j, id, EdgeKind.Index, present[j]);
            }
            return;
          }
        }
        this.record(HOLE);
        continue;
      }
      this.record(x);
    }
    this.childEnd[id] = start + n;
    for (let i = 0; i < n; i++) {
      const slot = start + i;
      if (this.childValues.get(slot) === HOLE) this.childIds[slot] = -1;
      else this.child(slot, id, EdgeKind.Index, i);
    }
  }

  /** `keys`, or the previous object's keys array when they are the same keys. */
  private shared(keys: string[]): readonly string[] {
    const last = this.lastKeys;
    if (last.length === keys.length) {
      let same = true;
      for (let i = 0; i < keys.length; i++) {
        if (last[i] !== keys[i]) {
          same = false;
          break;
        }
      }
      if (same) return last;
    }
    this.lastKeys = keys;
    return keys;
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

/** The id of the single child of a view (its buffer) or an NDArray (its data). */
export function onlyChild(graph: Graph, id: number): number {
  return graph.childIds[graph.childStart[id]!]!;
}

/** Element count that `arrayThreshold` compares against (bytes for buffers). */
function arraySize(graph: Graph, id: number): number {
  const value = graph.values[id];
  switch (graph.kinds[id]) {
    case "ndarray":
      return (value as NDArray).size;
    case "typedarray":
      return (value as Float64Array).length;
    case "arraybuffer":
      return (value as ArrayBuffer).byteLength;
    default:
      return 0;
  }
}

/**
 * Decides which arrays go to data files and names them `array_N` in visit order. A typed array's
 * buffer is stored on its own only when several views share it; an NDArray's data is stored with
 * the NDArray (so `nd.data` referenced elsewhere stays the same object after loading).
 */
function assignExternals(graph: Graph, threshold: number): void {
  if (!(threshold < Number.POSITIVE_INFINITY)) return;
  const names = graph.externalNames as Map<number, string>;
  const out = graph.externals as { name: string; id: number }[];
  const { kinds, refs, values } = graph;
  const dataOfExternalND = new Set<number>();
  for (let id = 0; id < graph.count; id++) {
    if (kinds[id] === "ndarray" && arraySize(graph, id) > threshold) {
      dataOfExternalND.add(onlyChild(graph, id));
    }
  }
  for (let id = 0; id < graph.count; id++) {
    if (dataOfExternalND.has(id)) continue;
    const kind = kinds[id];
    if (kind === "typedarray") {
      const view = values[id] as Float64Array;
      // Stored through its buffer when that is shared, or when the view is only part of it.
      if (refs[onlyChild(graph, id)]! > 1 || !coversFixedBuffer(view)) continue;
    } else if (kind === "arraybuffer") {
      // Resizable buffers are always written inline (their contents and maxByteLength).
      if (isResizable(values[id] as ArrayBuffer)) continue;
      // A buffer that belongs to one whole view alone is written as that view's contents.
      const parent = graph.parents[id]!;
      if (
        refs[id] === 1 &&
        graph.edges[id] === EdgeKind.Buffer &&
        kinds[parent] === "typedarray" &&
        coversFixedBuffer(values[parent] as ArrayBufferView)
      ) {
        continue;
      }
    } else if (kind !== "ndarray") {
      continue;
    }
    if (arraySize(graph, id) > threshold) {
      const name = `array_${out.length}`;
      names.set(id, name);
      out.push({ name, id });
      if (kind === "ndarray") names.set(onlyChild(graph, id), name);
    }
  }
}
