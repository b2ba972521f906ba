/**
 * Graph → ES module text in the archive language (docs/archive-language.md).
 *
 * Values referenced once are written inline; values referenced more than once get a `const`
 * (inserted names get their `export const`). Cycles: an edge back to a value that is still being
 * written becomes `undefined` in the literal and an assignment statement (`_g0.self = _g0;`,
 * `_g1.set(k, v);`) right after that value's binding. Constructor calls cannot hold a placeholder,
 * so a cycle through constructor arguments is closed at the nearest object, array, Map or Set
 * above it instead.
 */
import { ArchiveError, UnsupportedValueError } from "../errors.js";
import { type Graph, type GraphNode, SPARSE_MIN_LENGTH, sparseIndices } from "../graph/build.js";
import { MAX_NESTING } from "../graph/constructor-chains.js";
import { nodePath } from "../graph/path.js";
import {
  DEFAULT_KIND,
  DTYPES,
  type NDArray,
  nativeDescr,
  typedArrayClass,
  typedArrayName,
} from "../runtime/persist-runtime.mjs";
import {
  coversFixedBuffer,
  isLengthTracking,
  isResizable,
  maxByteLengthOf,
} from "../values/buffers.js";
import { ERROR_CLASSES, type ImportRef } from "../values/classify.js";
import { EMITTED_GLOBALS } from "../values/globals.js";
import { EXPORT_ONLY_NAMES, privateBindings } from "../values/names.js";
import { ImportTable } from "./imports.js";
import { fillList, joinList, MAX_LINE } from "./layout.js";
import {
  bigintLiteral,
  memberAccess,
  numberLiteral,
  propertyKey,
  stringLiteral,
} from "./literals.js";
import { symbolExpression } from "./symbols.js";
import { typedArrayItems } from "./typed-arrays.js";

/** Returned instead of text when a value cannot be written yet: it waits for `on`. */
class Blocked {
  constructor(readonly on: GraphNode) {}
}
type Out = string | Blocked;

type Patch =
  | { kind: "prop"; holder: GraphNode; key: string; value: unknown }
  | { kind: "index"; holder: GraphNode; index: number; value: unknown }
  | { kind: "mapRest"; holder: GraphNode; entries: [unknown, unknown][] }
  | { kind: "setRest"; holder: GraphNode; items: unknown[] };

const NEW = 0;
const IN_PROGRESS = 1;
const DONE = 2;

export interface ArraysPlacement {
  /** Where the saved module finds its data files, relative to itself ("./_arrays", "./run1_arrays.npz"). */
  location: string;
  format: "npy" | "npz" | "hdf5";
}

export interface ModuleOptions {
  /** Statement order of the inserted names; values may be primitives. */
  roots: readonly (readonly [string, unknown])[];
  graph: Graph;
  arrays: ArraysPlacement;
  singleItem: boolean;
}

const ERROR_NAMES = new Map<object, string>(ERROR_CLASSES.map((c) => [c.prototype, c.name]));

/** First line of every module the emitter writes; `format N` is what readers check. */
export const ARCHIVE_HEADER =
  "// persist-archive archive, format 2. A plain ES module: import it, or load() it safely.";
/**
 * Last line of every module the emitter writes (format >= 2). A module whose header says format 2
 * but does not end with this line was cut short (a crash, a full disk, a partial copy): readers
 * report it as truncated instead of loading part of it.
 */
export const ARCHIVE_END = "// persist-archive: end of archive";

/** Writes the entry module of an archive. */
export function emitModule(options: ModuleOptions): string {
  // Exports named like a global the module refers to (`Map`, `Symbol`, `Math`) or like a name no
  // `const` may bind (`undefined`, `eval`) get a private binding: `const _Map = …;` plus
  // `export { _Map as Map };`. Every other export keeps the plain `export const name = …;`.
  const locals = privateBindings(
    options.roots.map(([name]) => name),
    (name) => EMITTED_GLOBALS.has(name) || EXPORT_ONLY_NAMES.has(name),
  );
  const reserved = new Set([...options.roots.map(([name]) => name), ...locals.values()]);
  const emitter = new Emitter(options.graph, reserved, false, undefined, locals);
  for (const [name, value] of options.roots) emitter.emitRoot(name, value);
  return emitter.finish(options);
}

/**
 * A self-contained expression for a tree of built-in values (DataSet info lines): no bindings,
 * so shared values are written out again, and cycles, class instances, functions and NDArrays are
 * rejected with UnsupportedValueError naming `path`.
 */
export function emitExpression(
  graph: Graph,
  value: unknown,
  options: { oneLine?: boolean } = {},
): string {
  const emitter = new Emitter(
    graph,
    new Set(),
    true,
    options.oneLine ? Number.POSITIVE_INFINITY : undefined,
  );
  return emitter.expression(value);
}

class Emitter {
  private readonly status: Uint8Array;
  private readonly names: (string | undefined)[];
  private readonly statements: string[] = [];
  private readonly waiting = new Map<GraphNode, Patch[]>();
  private readonly imports: ImportTable;
  private nextShared = 0;
  private readonly keyPrefixes = new Map<string, string>();
  /** Width of the statement text before a top-level value, for line breaking. */
  private statementPrefix = 0;
  /** Next index into graph.encounters, or -1 once this writer's order has left the walk's. */
  private cursor = 0;
  /** Nodes being written, nested: the JS stack this writer uses. */
  private depth = 0;
  /** Stands for "later" in `waiting`: patches of values nested deeper than MAX_NESTING. */
  private readonly deferred = { id: -1 } as GraphNode;
  /** `_gN` names of shared values, numbered in visit order before anything is written. */
  private readonly sharedNames: (string | undefined)[];

  constructor(
    private readonly graph: Graph,
    private readonly used: Set<string>,
    /** Tree mode: no bindings at all (for emitExpression). */
    private readonly tree: boolean,
    /** Longest line before a list breaks; Infinity writes everything on one line. */
    private readonly maxLine?: number,
    /** Private bindings of exports that would shadow a global (see emitModule). */
    private readonly locals: ReadonlyMap<string, string> = new Map(),
  ) {
    this.status = new Uint8Array(graph.nodes.length);
    this.names = new Array(graph.nodes.length);
    this.imports = new ImportTable(used);
    this.sharedNames = new Array(graph.nodes.length);
    if (!tree) {
      for (const node of graph.nodes) {
        if (node.refs > 1 && node.exportName === undefined)
          this.sharedNames[node.id] = this.sharedName();
      }
    }
  }

  private list(open: string, items: readonly string[], close: string, level: number): string {
    const max = this.maxLine ?? MAX_LINE;
    return joinList(open, items, close, level, level === 0 ? max - this.statementPrefix : max);
  }

  private fill(open: string, items: readonly string[], close: string, level: number): string {
    return fillList(open, items, close, level, this.maxLine);
  }

  expression(value: unknown): string {
    const out = this.value(value, 0);
    if (out instanceof Blocked) throw new ArchiveError("internal: blocked in tree mode");
    return out;
  }

  /** The binding an export's statements use: its own name, or its private binding. */
  private local(exportName: string): string {
    return this.locals.get(exportName) ?? exportName;
  }

  /** `export const name = text;`, or `const _name = text;` + `export { _name as name };`. */
  private exportStatement(name: string, text: string): void {
    const local = this.local(name);
    if (local === name) {
      this.statements.push(`export const ${name} = ${text};`);
    } else {
      this.statements.push(`const ${local} = ${text};`, `export { ${local} as ${name} };`);
    }
  }

  emitRoot(name: string, value: unknown): void {
    if (value === null || (typeof value !== "object" && typeof value !== "function")) {
      this.exportStatement(name, this.primitive(value));
      return;
    }
    const node = this.nodeOf(value);
    if (node.exportName !== name) {
      // The same object inserted under an earlier name: refer to that binding.
      const out = this.node(node, 0);
      if (out instanceof Blocked) throw this.cycleError(node, out.on === this.deferred);
      this.exportStatement(name, out);
      this.flushDeferred();
      return;
    }
    if (this.status[node.id] === DONE) return;
    const out = this.bound(node);
    if (out instanceof Blocked) throw this.cycleError(node, out.on === this.deferred);
    this.flushDeferred();
  }

  finish(options: ModuleOptions): string {
    const externals = this.graph.externals;
    let loadLine: string | undefined;
    if (externals.length > 0) {
      // Built before the import statements: it adds the runtime's loadArrays import.
      const names = this.fill(
        "[",
        externals.map((e) => stringLiteral(e.name)),
        "]",
        0,
      );
      const { location, format } = options.arrays;
      loadLine = `const ${this.imports.arraysBinding()} = await ${this.imports.runtime("loadArrays")}(import.meta.url, ${stringLiteral(location)}, ${stringLiteral(format)}, ${names});`;
    }
    const head = [ARCHIVE_HEADER, ...this.imports.statements()];
    if (loadLine) head.push(loadLine);
    const body = this.statements;
    if (options.singleItem && options.roots.length === 1) {
      body.push(`export default ${this.local(options.roots[0]![0])};`);
    }
    return `${head.join("\n")}\n\n${body.join("\n")}\n${ARCHIVE_END}\n`;
  }

  // ---- values ------------------------------------------------------------------------------

  private value(value: unknown, level: number): Out {
    // Hot path: numbers and strings are most leaves.
    if (typeof value === "number") return numberLiteral(value);
    if (typeof value === "string") return stringLiteral(value);
    if (value === null || (typeof value !== "object" && typeof value !== "function")) {
      return this.primitive(value);
    }
    return this.node(this.nodeOf(value as object), level);
  }

  /**
   * The node of `value`. While this writer meets objects in the order the graph walk met them (the
   * usual case), the next recorded encounter is it; the identity check makes that safe, and the
   * first mismatch (a cycle patch, a deferred entry) switches to the Map for good.
   */
  private nodeOf(value: object): GraphNode {
    if (this.cursor >= 0) {
      const next = this.graph.encounters[this.cursor];
      if (next !== undefined && next.value === value) {
        this.cursor++;
        return next;
      }
      this.cursor = -1;
    }
    return this.graph.byValue.get(value)!;
  }

  /** `key: ` prefixes, cached: the same keys recur across the rows of a graph. */
  private keyPrefix(key: string): string {
    let prefix = this.keyPrefixes.get(key);
    if (prefix === undefined) {
      prefix = `${propertyKey(key)}: `;
      this.keyPrefixes.set(key, prefix);
    }
    return prefix;
  }

  private primitive(value: unknown): string {
    switch (typeof value) {
      case "number":
        return numberLiteral(value);
      case "string":
        return stringLiteral(value);
      case "boolean":
        return value ? "true" : "false";
      case "undefined":
        return "undefined";
      case "bigint":
        return bigintLiteral(value);
      case "symbol":
        return symbolExpression(value)!;
      default:
        return "null";
    }
  }

  private node(node: GraphNode, level: number): Out {
    const st = this.status[node.id];
    if (this.tree) {
      if (st === IN_PROGRESS) throw this.cycleError(node);
      this.status[node.id] = IN_PROGRESS;
      const out = this.build(node, level);
      this.status[node.id] = NEW;
      return out;
    }
    if (st === DONE) return this.names[node.id]!;
    if (st === IN_PROGRESS) return new Blocked(node);
    // Deep chains: write the rest later, from a fresh stack, through the nearest holder (like a
    // cycle). This also keeps each statement's nesting within what V8 can import.
    if (this.depth >= MAX_NESTING) return new Blocked(this.deferred);
    this.depth++;
    try {
      if (node.refs > 1 || node.exportName !== undefined) return this.bound(node);
      return this.build(node, level);
    } finally {
      this.depth--;
    }
  }

  /** Writes what deep chains left for later, after the current top-level statement. */
  private flushDeferred(): void {
    for (let list = this.waiting.get(this.deferred); list; list = this.waiting.get(this.deferred)) {
      this.waiting.delete(this.deferred);
      for (const patch of list) this.applyPatch(patch);
    }
  }

  /** Writes `const name = …;` for a shared value (or `export const` for an inserted one). */
  private bound(node: GraphNode): Out {
    this.status[node.id] = IN_PROGRESS;
    const outer = this.statementPrefix;
    // `export const name = ` / `const _gN = ` comes before the value on its first line.
    this.statementPrefix = node.exportName ? this.local(node.exportName).length + 16 : 16;
    const out = this.build(node, 0);
    this.statementPrefix = outer;
    if (out instanceof Blocked) {
      this.status[node.id] = NEW;
      return out;
    }
    if (this.status[node.id] === DONE) return out; // build() bound it already as a patch holder
    if (node.exportName !== undefined) {
      this.exportStatement(node.exportName, out);
      const local = this.local(node.exportName);
      this.done(node, local);
      return local;
    }
    const name = this.sharedNames[node.id] ?? this.sharedName();
    this.statements.push(`const ${name} = ${out};`);
    this.done(node, name);
    return name;
  }

  private sharedName(): string {
    let name: string;
    do name = `_g${this.nextShared++}`;
    while (this.used.has(name));
    this.used.add(name);
    return name;
  }

  private done(node: GraphNode, name: string): void {
    this.status[node.id] = DONE;
    this.names[node.id] = name;
    const patches = this.waiting.get(node);
    if (!patches) return;
    this.waiting.delete(node);
    for (const patch of patches) this.applyPatch(patch);
  }

  private wait(on: GraphNode, patch: Patch): void {
    const list = this.waiting.get(on);
    if (list) list.push(patch);
    else this.waiting.set(on, [patch]);
  }

  /** A holder got placeholders: give it a binding now if it has none, so patches can name it. */
  private holderText(node: GraphNode, text: string): string {
    if (this.status[node.id] === IN_PROGRESS) return text; // bound() writes the statement
    const name = this.sharedName();
    this.statements.push(`const ${name} = ${text};`);
    this.done(node, name);
    return name;
  }

  private applyPatch(patch: Patch): void {
    const holder = this.names[patch.holder.id]!;
    switch (patch.kind) {
      case "prop":
      case "index": {
        const out = this.value(patch.value, 0);
        if (out instanceof Blocked) {
          this.wait(out.on, patch);
          return;
        }
        const target =
          patch.kind === "prop" ? memberAccess(holder, patch.key) : `${holder}[${patch.index}]`;
        this.statements.push(`${target} = ${out};`);
        return;
      }
      case "mapRest":
        for (let i = 0; i < patch.entries.length; i++) {
          const [k, v] = patch.entries[i]!;
          const key = this.value(k, 0);
          const val = key instanceof Blocked ? key : this.value(v, 0);
          if (key instanceof Blocked || val instanceof Blocked) {
            const on = (key instanceof Blocked ? key : (val as Blocked)).on;
            this.wait(on, { ...patch, entries: patch.entries.slice(i) });
            return;
          }
          this.statements.push(`${holder}.set(${key}, ${val});`);
        }
        return;
      case "setRest":
        for (let i = 0; i < patch.items.length; i++) {
          const out = this.value(patch.items[i], 0);
          if (out instanceof Blocked) {
            this.wait(out.on, { ...patch, items: patch.items.slice(i) });
            return;
          }
          this.statements.push(`${holder}.add(${out});`);
        }
        return;
    }
  }

  private cycleError(node: GraphNode, tooDeep = false): UnsupportedValueError {
    const path = nodePath(node);
    if (tooDeep) {
      return new UnsupportedValueError(
        `Cannot archive ${path}: it nests constructor calls more than ${MAX_NESTING} levels deep with no object, array, Map or Set in between where the rest could be written later. To fix: hold such chains in an array, or let [persist.rep]() return a flat list.`,
        { valuePath: path },
      );
    }
    if (this.tree) {
      return new UnsupportedValueError(
        `Cannot write ${path} here: it contains itself (a cycle). DataSet info must be a tree of plain values; store the cyclic value as an item instead.`,
        { valuePath: path },
      );
    }
    return new UnsupportedValueError(
      `Cannot archive ${path}: it is reached again through constructor arguments of a value inside it, and no object, array, Map or Set on that cycle can hold a placeholder. To fix: break the cycle through a plain object or collection, or make [persist.rep]() return arguments that do not contain the instance itself.`,
      { valuePath: path },
    );
  }

  private treeOnly(node: GraphNode, what: string): never {
    const path = nodePath(node);
    throw new UnsupportedValueError(
      `Cannot write ${path} here: it is ${what}, which needs an import. DataSet info must hold built-in values only (objects, arrays, numbers, strings, Map, Set, Date, typed arrays, ...); store it as an item instead.`,
      { valuePath: path },
    );
  }

  // ---- one node -----------------------------------------------------------------------------

  private build(node: GraphNode, level: number): Out {
    const v = node.value as Record<string, unknown>;
    switch (node.kind) {
      case "object":
        return this.object(node, v, level);
      case "array":
        return this.array(node, v as unknown as unknown[], level);
      case "map":
        return this.map(node, v as unknown as Map<unknown, unknown>, level);
      case "set":
        return this.set(node, v as unknown as Set<unknown>, level);
      case "date": {
        const t = (v as unknown as Date).getTime();
        return Number.isNaN(t)
          ? "new Date(NaN)"
          : `new Date(${stringLiteral((v as unknown as Date).toISOString())})`;
      }
      case "regexp": {
        const re = v as unknown as RegExp;
        const text = `new RegExp(${stringLiteral(re.source)}, ${stringLiteral(re.flags)})`;
        return re.lastIndex === 0
          ? text
          : `Object.assign(${text}, { lastIndex: ${numberLiteral(re.lastIndex)} })`;
      }
      case "error":
        return this.error(node, v as unknown as Error, level);
      case "boxed":
        return this.boxed(v);
      case "arraybuffer":
        return this.arrayBuffer(node, v as unknown as ArrayBuffer, level);
      case "typedarray":
        return this.typedArray(node, v as unknown as Float64Array, level);
      case "dataview": {
        const dv = v as unknown as DataView;
        const buffer = this.value(dv.buffer, level);
        if (buffer instanceof Blocked) return buffer;
        return `new DataView(${buffer}${this.viewArgs(dv, dv.byteLength)})`;
      }
      case "ndarray":
        return this.ndarray(node, v as unknown as NDArray, level);
      case "instance":
        return this.instance(node, level);
      case "import":
        if (this.tree) return this.treeOnly(node, "a function");
        return this.imports.alias(node.importRef as ImportRef);
      case "global":
        return node.globalPath!;
      case "url":
        return `new URL(${stringLiteral((v as unknown as URL).href)})`;
      case "searchparams":
        return `new URLSearchParams(${stringLiteral(String(v))})`;
      case "nodebuffer": {
        // Its bytes only: a small Buffer's .buffer is Node's shared pool, not its own memory.
        if (this.tree) return this.treeOnly(node, "a Node Buffer");
        const bytes = v as unknown as Uint8Array;
        const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        const items = this.fill("[", typedArrayItems(view), "]", level);
        return `${this.imports.runtime("NodeBuffer")}.from(new Uint8Array(${items}))`;
      }
    }
  }

  private object(node: GraphNode, v: Record<string, unknown>, level: number): string {
    const items: string[] = Object.getPrototypeOf(v) === null ? ["__proto__: null"] : [];
    let holder = false;
    const keys = Object.keys(v);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const value = v[key];
      const out = this.value(value, level + 1);
      if (out instanceof Blocked) {
        this.wait(out.on, { kind: "prop", holder: node, key, value });
        holder = true;
        items.push(`${this.keyPrefix(key)}undefined`);
      } else {
        items.push(this.keyPrefix(key) + out);
      }
    }
    const text = this.list("{", items, "}", level);
    return holder ? this.holderText(node, text) : text;
  }

  private array(node: GraphNode, v: unknown[], level: number): string {
    const present = v.length > SPARSE_MIN_LENGTH ? sparseIndices(v) : undefined;
    if (present) return this.sparseArray(node, v, present, level);
    const items: string[] = new Array(v.length);
    let holder = false;
    for (let i = 0; i < v.length; i++) {
      if (!(i in v)) {
        items[i] = "";
        continue;
      }
      const value = v[i];
      const out = this.value(value, level + 1);
      if (out instanceof Blocked) {
        this.wait(out.on, { kind: "index", holder: node, index: i, value });
        holder = true;
        items[i] = "undefined";
      } else {
        items[i] = out;
      }
    }
    const text = this.list("[", items, "]", level);
    return holder ? this.holderText(node, text) : text;
  }

  /** `Object.assign([], { 7: x, length: 1000000 })`: only the elements that exist are written. */
  private sparseArray(node: GraphNode, v: unknown[], present: number[], level: number): string {
    const items: string[] = [];
    let holder = false;
    for (const i of present) {
      const value = v[i];
      const out = this.value(value, level + 1);
      if (out instanceof Blocked) {
        this.wait(out.on, { kind: "index", holder: node, index: i, value });
        holder = true;
        items.push(`${i}: undefined`);
      } else {
        items.push(`${i}: ${out}`);
      }
    }
    items.push(`length: ${v.length}`);
    const text = `Object.assign([], ${this.list("{", items, "}", level)})`;
    return holder ? this.holderText(node, text) : text;
  }

  private map(node: GraphNode, v: Map<unknown, unknown>, level: number): string {
    const items: string[] = [];
    const entries = [...v];
    for (let i = 0; i < entries.length; i++) {
      const [k, val] = entries[i]!;
      const key = this.value(k, level + 2);
      const value = key instanceof Blocked ? key : this.value(val, level + 2);
      if (key instanceof Blocked || value instanceof Blocked) {
        const on = (key instanceof Blocked ? key : (value as Blocked)).on;
        this.wait(on, { kind: "mapRest", holder: node, entries: entries.slice(i) });
        const text = items.length ? `new Map(${this.list("[", items, "]", level)})` : "new Map()";
        return this.holderText(node, text);
      }
      items.push(this.list("[", [key, value], "]", level + 1));
    }
    return items.length ? `new Map(${this.list("[", items, "]", level)})` : "new Map()";
  }

  private set(node: GraphNode, v: Set<unknown>, level: number): string {
    const items: string[] = [];
    const values = [...v];
    for (let i = 0; i < values.length; i++) {
      const out = this.value(values[i], level + 1);
      if (out instanceof Blocked) {
        this.wait(out.on, { kind: "setRest", holder: node, items: values.slice(i) });
        const text = items.length ? `new Set(${this.list("[", items, "]", level)})` : "new Set()";
        return this.holderText(node, text);
      }
      items.push(out);
    }
    return items.length ? `new Set(${this.list("[", items, "]", level)})` : "new Set()";
  }

  /**
   * Errors are ordinary mutable objects after construction, so a cycle through `cause`, `errors`
   * or an extra field is closed like an object's: `undefined` now, an assignment later.
   */
  private error(node: GraphNode, e: Error, level: number): Out {
    const ctor = ERROR_NAMES.get(Object.getPrototypeOf(e))!;
    const args: string[] = [];
    let holder = false;
    const slot = (key: string, value: unknown, at: number): string => {
      const out = this.value(value, at);
      if (!(out instanceof Blocked)) return out;
      this.wait(out.on, { kind: "prop", holder: node, key, value });
      holder = true;
      return "undefined";
    };
    let errorsLater: string | undefined;
    if (e instanceof AggregateError) {
      const errors = slot("errors", e.errors, level + 1);
      // The constructor copies its iterable: a bound array (shared, or patched later) must be
      // assigned as `errors` afterwards to keep its identity.
      const bound = this.status[this.graph.byValue.get(e.errors)!.id] === DONE;
      if (bound || errors === "undefined") {
        args.push("[]");
        errorsLater = errors;
      } else {
        args.push(errors);
      }
    }
    // Fields the constructor makes are non-enumerable; the same names assigned later are
    // enumerable own fields and are written as extra fields instead.
    const hasMessage =
      Object.hasOwn(e, "message") && !Object.prototype.propertyIsEnumerable.call(e, "message");
    const hasCause =
      Object.hasOwn(e, "cause") && !Object.prototype.propertyIsEnumerable.call(e, "cause");
    if (hasMessage || hasCause) {
      const msg = hasMessage ? this.value(e.message, level + 1) : "undefined";
      if (msg instanceof Blocked) return msg;
      args.push(msg);
    }
    if (hasCause)
      args.push(this.list("{", [`cause: ${slot("cause", e.cause, level + 2)}`], "}", level + 1));
    const call = `new ${ctor}(${args.join(", ")})`;
    const extra: string[] = errorsLater === undefined ? [] : [`errors: ${errorsLater}`];
    for (const key of Object.keys(e)) {
      extra.push(
        this.keyPrefix(key) + slot(key, (e as unknown as Record<string, unknown>)[key], level + 1),
      );
    }
    const text = extra.length
      ? `Object.assign(${call}, ${this.list("{", extra, "}", level)})`
      : call;
    return holder ? this.holderText(node, text) : text;
  }

  private boxed(v: object): string {
    const inner = (v as { valueOf(): unknown }).valueOf();
    switch (typeof inner) {
      case "number":
        return `new Number(${numberLiteral(inner)})`;
      case "string":
        return `new String(${stringLiteral(inner)})`;
      case "boolean":
        return `new Boolean(${inner})`;
      default:
        return `Object(${this.primitive(inner)})`;
    }
  }

  private externalRef(node: GraphNode): string {
    return `${this.imports.arraysBinding()}.${node.external}`;
  }

  /**
   * What follows the buffer in `new Float64Array(BUFFER…)` / `new DataView(BUFFER…)`: nothing for a
   * whole fixed-length buffer's DataView, `, offset` for a length-tracking view (it keeps tracking
   * its resizable buffer), else `, offset, length`.
   */
  private viewArgs(view: ArrayBufferView, length: number): string {
    const offset = view.byteOffset;
    if (isResizable(view.buffer)) {
      if (isLengthTracking(view)) return offset === 0 ? "" : `, ${offset}`;
    } else if (view instanceof DataView && coversFixedBuffer(view)) {
      return "";
    }
    return `, ${offset}, ${length}`;
  }

  private arrayBuffer(node: GraphNode, v: ArrayBuffer, level: number): string {
    if (isResizable(v)) {
      // `new ArrayBuffer(n, { maxByteLength })` is all zeros: its contents up to the last non-zero
      // byte are filled in through a (length-tracking) byte view.
      const make = `new ArrayBuffer(${v.byteLength}, { maxByteLength: ${maxByteLengthOf(v)} })`;
      const bytes = new Uint8Array(v);
      let end = bytes.length;
      while (end > 0 && bytes[end - 1] === 0) end--;
      if (end === 0) return make;
      const items = this.fill("[", typedArrayItems(bytes.subarray(0, end)), "]", level);
      return `Object.assign(new Uint8Array(${make}), ${items}).buffer`;
    }
    if (node.external) return `new Uint8Array(${this.externalRef(node)}.data).buffer`;
    const items = typedArrayItems(new Uint8Array(v));
    return `new Uint8Array(${this.fill("[", items, "]", level)}).buffer`;
  }

  private typedArray(node: GraphNode, v: Float64Array, level: number): Out {
    // The internal [[TypedArrayName]], never a `constructor` the value (or its prototype) could fake.
    const ctor = typedArrayName(v) as string;
    // The walk met the buffer next; take its node in the same order.
    const buffer = this.nodeOf(v.buffer);
    if (node.external) {
      const ref = `${this.externalRef(node)}.data`;
      // u1 data comes back as a Uint8Array; a clamped array is rebuilt as one (a copy).
      return ctor === "Uint8ClampedArray" ? `new Uint8ClampedArray(${ref})` : ref;
    }
    if (buffer.refs === 1 && coversFixedBuffer(v)) {
      return `new ${ctor}(${this.fill("[", typedArrayItems(v), "]", level)})`;
    }
    // A view on a shared, resizable or larger buffer: the buffer is written too, so the view keeps
    // its byteOffset, the buffer its full length (as structured clone does), and sharing stays.
    let buf: Out;
    if (buffer.refs === 1 && buffer.external === undefined && wholeBufferAs(v)) {
      // The buffer of a lone integer subarray reads best in the view's own element type.
      const whole = new (typedArrayClass(ctor) as TypedArrayClass)(v.buffer);
      buf = `new ${ctor}(${this.fill("[", typedArrayItems(whole), "]", level)}).buffer`;
    } else {
      buf = this.node(buffer, level);
      if (buf instanceof Blocked) return buf;
    }
    return `new ${ctor}(${buf}${this.viewArgs(v, v.length)})`;
  }

  private ndarray(node: GraphNode, v: NDArray, level: number): Out {
    if (this.tree) return this.treeOnly(node, "an NDArray");
    if (node.external) {
      this.nodeOf(v.data); // met by the walk: keep in step
      return this.externalRef(node);
    }
    const data = this.value(v.data, level + 1);
    if (data instanceof Blocked) return data;
    const args = [data, `[${v.shape.map(numberLiteral).join(", ")}]`];
    const opts: string[] = [];
    if (v.order === "F") opts.push('order: "F"');
    if (v.dtype !== defaultDtype(v.data)) {
      opts.push(`dtype: ${stringLiteral(v.dtype)}`);
    }
    if (opts.length) args.push(`{ ${opts.join(", ")} }`);
    return `new ${this.imports.runtime("NDArray")}(${args.join(", ")})`;
  }

  private instance(node: GraphNode, level: number): Out {
    if (this.tree) return this.treeOnly(node, "a class instance");
    const { ref, factory, args } = node.instance!;
    const callee = this.imports.alias(ref);
    const head = factory ? `${callee}.${factory}` : `new ${callee}`;
    if (args.length === 1) {
      // One argument (typically an options object) hugs the parentheses: `new Run({ ... })`.
      const out = this.value(args[0], level);
      return out instanceof Blocked ? out : `${head}(${out})`;
    }
    const items: string[] = [];
    for (const arg of args) {
      const out = this.value(arg, level + 1);
      if (out instanceof Blocked) return out;
      items.push(out);
    }
    return `${head}${this.list("(", items, ")", level)}`;
  }
}

type TypedArrayClass = new (buffer: ArrayBufferLike) => ArrayLike<number | bigint>;

/**
 * True when a lone view's fixed-length buffer can be written as `new Int16Array([...]).buffer`
 * (integer elements, a whole number of them); float arrays are not, as writing every element of
 * the buffer as a number would not keep the bits of NaNs outside the view.
 */
function wholeBufferAs(v: ArrayBufferView): boolean {
  if (isResizable(v.buffer) || v instanceof Float32Array || v instanceof Float64Array) return false;
  return v.buffer.byteLength % (v as Uint8Array).BYTES_PER_ELEMENT === 0;
}

/** The dtype an NDArray gets from its data class alone; written out only when it differs. */
function defaultDtype(data: NDArray["data"]): string {
  return nativeDescr(DTYPES[DEFAULT_KIND[typedArrayName(data) as string]!]!);
}
