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
import { type Graph, HOLE, onlyChild } from "../graph/build.js";
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
import { ERROR_CLASSES, type ObjectKind } from "../values/classify.js";
import { EMITTED_GLOBALS } from "../values/globals.js";
import { EXPORT_ONLY_NAMES, privateBindings } from "../values/names.js";
import { ImportTable, RUNTIME_SPECIFIER } from "./imports.js";
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
  constructor(readonly on: number) {}
}
type Out = string | Blocked;

type Patch =
  | { kind: "prop"; holder: number; key: string; value: unknown }
  | { kind: "index"; holder: number; index: number; value: unknown }
  | { kind: "mapRest"; holder: number; entries: [unknown, unknown][] }
  | { kind: "setRest"; holder: number; items: unknown[] };

/** Stands for "later" in `waiting`: patches of values nested deeper than MAX_NESTING. */
const DEFERRED = -1;

/** Kinds written without bindings, imports or children: safe to write inside oneLine(). */
const SIDE_EFFECT_FREE = new Set<ObjectKind>([
  "date",
  "regexp",
  "boxed",
  "url",
  "searchparams",
  "global",
]);

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
/** A module's text, and whether it imports the runtime (which must then be saved beside it). */
export interface EmittedModule {
  text: string;
  usesRuntime: boolean;
}

export function emitModule(options: ModuleOptions): EmittedModule {
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
  const text = emitter.finish(options);
  // Asked of the import table, not searched for in the text: a search copied the whole text
  // into one flat string (the emitter builds it from pieces), ~9% of toString() on a big tree.
  return { text, usesRuntime: emitter.importsFrom(RUNTIME_SPECIFIER) };
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
  private readonly waiting = new Map<number, Patch[]>();
  private readonly imports: ImportTable;
  private nextShared = 0;
  private readonly keyPrefixes = new Map<string, string>();
  /** Width of the statement text before a top-level value, for line breaking. */
  private statementPrefix = 0;
  /** Nodes being written, nested: the JS stack this writer uses. */
  private depth = 0;
  /** `_gN` names of shared values, numbered in visit order before anything is written. */
  private readonly sharedNames: (string | undefined)[];
  /** 1 for values written as their own `const` (shared or inserted). */
  private readonly bindable: Uint8Array;

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
    const n = graph.count;
    this.status = new Uint8Array(n);
    this.names = new Array(n);
    this.imports = new ImportTable(used);
    this.sharedNames = new Array(n);
    this.bindable = new Uint8Array(n);
    for (const id of graph.exportNames.keys()) this.bindable[id] = 1;
    for (let id = 0; id < n; id++) {
      if (graph.refs[id]! > 1 && !graph.exportNames.has(id)) {
        this.bindable[id] = 1;
        if (!tree) this.sharedNames[id] = this.sharedName();
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
    const id = this.nodeOf(value);
    if (this.graph.exportNames.get(id) !== name) {
      // The same object inserted under an earlier name: refer to that binding.
      const out = this.node(id, 0);
      if (out instanceof Blocked) throw this.cycleError(id, out.on === DEFERRED);
      this.exportStatement(name, out);
      this.flushDeferred();
      return;
    }
    if (this.status[id] === DONE) return;
    const out = this.bound(id);
    if (out instanceof Blocked) throw this.cycleError(id, out.on === DEFERRED);
    this.flushDeferred();
  }

  /** Whether the module imports anything from `specifier`. */
  importsFrom(specifier: string): boolean {
    return this.imports.importsFrom(specifier);
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

  /** Child slot `slot` of the graph (see Graph.childStart): the value the walk read, written. */
  private child(slot: number, level: number): Out {
    const id = this.graph.childIds[slot]!;
    if (id >= 0) return this.node(id, level);
    const value = this.graph.childValues[slot];
    if (typeof value === "number") return numberLiteral(value);
    if (typeof value === "string") return stringLiteral(value);
    return this.primitive(value);
  }

  /** The id of an object the walk met (patches and deferred values are written by value). */
  private nodeOf(value: object): number {
    return this.graph.ids.get(value)!;
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

  private node(id: number, level: number): Out {
    const st = this.status[id];
    if (this.tree) {
      if (st === IN_PROGRESS) throw this.cycleError(id);
      this.status[id] = IN_PROGRESS;
      const out = this.build(id, level);
      this.status[id] = NEW;
      return out;
    }
    if (st === DONE) return this.names[id]!;
    if (st === IN_PROGRESS) return new Blocked(id);
    // Deep chains: write the rest later, from a fresh stack, through the nearest holder (like a
    // cycle). This also keeps each statement's nesting within what V8 can import.
    if (this.depth >= MAX_NESTING) return new Blocked(DEFERRED);
    this.depth++;
    try {
      if (this.bindable[id] === 1) return this.bound(id);
      return this.build(id, level);
    } finally {
      this.depth--;
    }
  }

  /** Writes what deep chains left for later, after the current top-level statement. */
  private flushDeferred(): void {
    for (let list = this.waiting.get(DEFERRED); list; list = this.waiting.get(DEFERRED)) {
      this.waiting.delete(DEFERRED);
      for (const patch of list) this.applyPatch(patch);
    }
  }

  /** Writes `const name = …;` for a shared value (or `export const` for an inserted one). */
  private bound(id: number): Out {
    this.status[id] = IN_PROGRESS;
    const outer = this.statementPrefix;
    const exportName = this.graph.exportNames.get(id);
    // `export const name = ` / `const _gN = ` comes before the value on its first line.
    this.statementPrefix = exportName ? this.local(exportName).length + 16 : 16;
    const out = this.build(id, 0);
    this.statementPrefix = outer;
    if (out instanceof Blocked) {
      this.status[id] = NEW;
      return out;
    }
    if (this.status[id] === DONE) return out; // build() bound it already as a patch holder
    if (exportName !== undefined) {
      this.exportStatement(exportName, out);
      const local = this.local(exportName);
      this.done(id, local);
      return local;
    }
    const name = this.sharedNames[id] ?? this.sharedName();
    this.statements.push(`const ${name} = ${out};`);
    this.done(id, name);
    return name;
  }

  private sharedName(): string {
    let name: string;
    do name = `_g${this.nextShared++}`;
    while (this.used.has(name));
    this.used.add(name);
    return name;
  }

  private done(id: number, name: string): void {
    this.status[id] = DONE;
    this.names[id] = name;
    const patches = this.waiting.get(id);
    if (!patches) return;
    this.waiting.delete(id);
    for (const patch of patches) this.applyPatch(patch);
  }

  private wait(on: number, patch: Patch): void {
    const list = this.waiting.get(on);
    if (list) list.push(patch);
    else this.waiting.set(on, [patch]);
  }

  /** A holder got placeholders: give it a binding now if it has none, so patches can name it. */
  private holderText(id: number, text: string): string {
    if (this.status[id] === IN_PROGRESS) return text; // bound() writes the statement
    const name = this.sharedName();
    this.statements.push(`const ${name} = ${text};`);
    this.done(id, name);
    return name;
  }

  private applyPatch(patch: Patch): void {
    const holder = this.names[patch.holder]!;
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

  private cycleError(id: number, tooDeep = false): UnsupportedValueError {
    const path = nodePath(this.graph, id);
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

  private treeOnly(id: number, what: string): never {
    const path = nodePath(this.graph, id);
    throw new UnsupportedValueError(
      `Cannot write ${path} here: it is ${what}, which needs an import. DataSet info must hold built-in values only (objects, arrays, numbers, strings, Map, Set, Date, typed arrays, ...); store it as an item instead.`,
      { valuePath: path },
    );
  }

  // ---- one node -----------------------------------------------------------------------------

  private build(id: number, level: number): Out {
    const graph = this.graph;
    const v = graph.values[id] as Record<string, unknown>;
    switch (graph.kinds[id]!) {
      case "object":
        return (!this.tree && this.oneLine(id, level, 0)) || this.object(id, v, level);
      case "array":
        return (!this.tree && this.oneLine(id, level, 0)) || this.array(id, level);
      case "map":
        return this.map(id, level);
      case "set":
        return this.set(id, level);
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
        return this.error(id, v as unknown as Error, level);
      case "boxed":
        return this.boxed(v);
      case "arraybuffer":
        return this.arrayBuffer(id, v as unknown as ArrayBuffer, level);
      case "typedarray":
        return this.typedArray(id, v as unknown as Float64Array, level);
      case "dataview": {
        const dv = v as unknown as DataView;
        const buffer = this.node(onlyChild(graph, id), level);
        if (buffer instanceof Blocked) return buffer;
        return `new DataView(${buffer}${this.viewArgs(dv, dv.byteLength)})`;
      }
      case "ndarray":
        return this.ndarray(id, v as unknown as NDArray, level);
      case "instance":
        return this.instance(id, level);
      case "import":
        if (this.tree) return this.treeOnly(id, "a function");
        return this.imports.alias(graph.importRefs.get(id)!);
      case "global":
        return graph.globalPaths.get(id)!;
      case "url":
        return `new URL(${stringLiteral((v as unknown as URL).href)})`;
      case "searchparams":
        return `new URLSearchParams(${stringLiteral(String(v))})`;
      case "nodebuffer": {
        // Its bytes only: a small Buffer's .buffer is Node's shared pool, not its own memory.
        if (this.tree) return this.treeOnly(id, "a Node Buffer");
        const bytes = v as unknown as Uint8Array;
        const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        const items = this.fill("[", typedArrayItems(view), "]", level);
        return `${this.imports.runtime("NodeBuffer")}.from(new Uint8Array(${items}))`;
      }
    }
  }

  /**
   * The one-line text of a plain object or array when it and everything in it fit on one line at
   * `level` (as list() would decide), built in one pass straight into one string; otherwise ""
   * and the caller builds it item by item. It gives up, before doing anything that leaves a trace
   * (a binding, an import, a patch), at anything but literals, values already bound, and nested
   * plain objects and arrays, so giving up costs at most a line's worth of work. `nested` counts
   * levels below the first call (for MAX_NESTING).
   */
  private oneLine(id: number, level: number, nested: number): string {
    const graph = this.graph;
    const isObject = graph.kinds[id] === "object";
    if (!isObject && graph.sparse.has(id)) return "";
    if (this.depth + nested >= MAX_NESTING - 1) return "";
    const max = this.maxLine ?? MAX_LINE;
    const limit = level === 0 ? max - this.statementPrefix : max;
    const start = graph.childStart[id]!;
    const end = graph.childEnd[id]!;
    const keys = isObject ? graph.objectKeys[id]! : undefined;
    const values = graph.childValues;
    const childIds = graph.childIds;
    // list(): open + close + indentation, then each item and its ", ".
    let total = 2 + level * 2;
    let text = isObject ? "{" : "[";
    let first = true;
    if (isObject && Object.getPrototypeOf(graph.values[id]) === null) {
      total += 17; // "__proto__: null" + 2
      text += " __proto__: null";
      first = false;
      if (total > limit) return "";
    }
    let item = "";
    for (let s = start; s < end; s++) {
      const child = childIds[s]!;
      if (child < 0) {
        const value = values[s];
        if (typeof value === "number") item = numberLiteral(value);
        else if (typeof value === "string") item = stringLiteral(value);
        else if (value === HOLE) item = "";
        else item = this.primitive(value);
      } else {
        const st = this.status[child];
        if (st === DONE) item = this.names[child]!;
        else if (st !== NEW || this.bindable[child] === 1) return "";
        else {
          const kind = graph.kinds[child];
          if (kind === "object" || kind === "array") {
            item = this.oneLine(child, level + 1, nested + 1);
            if (item === "") return "";
          } else if (SIDE_EFFECT_FREE.has(kind!)) {
            item = this.build(child, level + 1) as string;
          } else {
            return "";
          }
        }
      }
      if (keys !== undefined) item = this.keyPrefix(keys[s - start]!) + item;
      total += item.length + 2;
      if (total > limit) return "";
      if (first) {
        text += isObject ? ` ${item}` : item;
        first = false;
      } else {
        text += `, ${item}`;
      }
    }
    if (first) return isObject ? "{}" : "[]";
    // A trailing hole needs its own comma on one line (`[1, ,]` has length 2).
    if (!isObject && item === "") text += ",";
    text = isObject ? `${text} }` : `${text}]`;
    // The outermost line is made flat now: the pieces it was concatenated from (a dozen rope
    // nodes per line) die young instead of being kept, and copied by the GC, until the end.
    if (nested === 0) text.charCodeAt(0);
    return text;
  }

  private object(id: number, v: object, level: number): string {
    const items: string[] = Object.getPrototypeOf(v) === null ? ["__proto__: null"] : [];
    let holder = false;
    const keys = this.graph.objectKeys[id]!;
    const start = this.graph.childStart[id]!;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const out = this.child(start + i, level + 1);
      if (out instanceof Blocked) {
        const value = this.graph.childValues[start + i];
        this.wait(out.on, { kind: "prop", holder: id, key, value });
        holder = true;
        items.push(`${this.keyPrefix(key)}undefined`);
      } else {
        items.push(this.keyPrefix(key) + out);
      }
    }
    const text = this.list("{", items, "}", level);
    return holder ? this.holderText(id, text) : text;
  }

  private array(id: number, level: number): string {
    const present = this.graph.sparse.get(id);
    if (present) return this.sparseArray(id, present, level);
    const start = this.graph.childStart[id]!;
    const n = this.graph.childEnd[id]! - start;
    const values = this.graph.childValues;
    const items: string[] = new Array(n);
    let holder = false;
    for (let i = 0; i < n; i++) {
      if (values[start + i] === HOLE) {
        items[i] = "";
        continue;
      }
      const out = this.child(start + i, level + 1);
      if (out instanceof Blocked) {
        this.wait(out.on, { kind: "index", holder: id, index: i, value: values[start + i] });
        holder = true;
        items[i] = "undefined";
      } else {
        items[i] = out;
      }
    }
    const text = this.list("[", items, "]", level);
    return holder ? this.holderText(id, text) : text;
  }

  /** `Object.assign([], { 7: x, length: 1000000 })`: only the elements that exist are written. */
  private sparseArray(id: number, present: readonly number[], level: number): string {
    const items: string[] = [];
    let holder = false;
    const start = this.graph.childStart[id]!;
    for (let j = 0; j < present.length; j++) {
      const i = present[j]!;
      const out = this.child(start + j, level + 1);
      if (out instanceof Blocked) {
        const value = this.graph.childValues[start + j];
        this.wait(out.on, { kind: "index", holder: id, index: i, value });
        holder = true;
        items.push(`${i}: undefined`);
      } else {
        items.push(`${i}: ${out}`);
      }
    }
    items.push(`length: ${(this.graph.values[id] as unknown[]).length}`);
    const text = `Object.assign([], ${this.list("{", items, "}", level)})`;
    return holder ? this.holderText(id, text) : text;
  }

  /** The recorded values of slots `from` … `to` - 1 as [key, value] pairs (a Map's rest). */
  private entriesOf(from: number, to: number): [unknown, unknown][] {
    const values = this.graph.childValues;
    const out: [unknown, unknown][] = [];
    for (let s = from; s < to; s += 2) out.push([values[s], values[s + 1]]);
    return out;
  }

  private map(id: number, level: number): string {
    const items: string[] = [];
    const start = this.graph.childStart[id]!;
    const end = this.graph.childEnd[id]!;
    for (let s = start; s < end; s += 2) {
      const key = this.child(s, level + 2);
      const value = key instanceof Blocked ? key : this.child(s + 1, level + 2);
      if (key instanceof Blocked || value instanceof Blocked) {
        const on = (key instanceof Blocked ? key : (value as Blocked)).on;
        this.wait(on, { kind: "mapRest", holder: id, entries: this.entriesOf(s, end) });
        const text = items.length ? `new Map(${this.list("[", items, "]", level)})` : "new Map()";
        return this.holderText(id, text);
      }
      items.push(this.list("[", [key, value], "]", level + 1));
    }
    return items.length ? `new Map(${this.list("[", items, "]", level)})` : "new Map()";
  }

  private set(id: number, level: number): string {
    const items: string[] = [];
    const start = this.graph.childStart[id]!;
    const end = this.graph.childEnd[id]!;
    for (let s = start; s < end; s++) {
      const out = this.child(s, level + 1);
      if (out instanceof Blocked) {
        const rest = this.graph.childValues.slice(s, end);
        this.wait(out.on, { kind: "setRest", holder: id, items: rest });
        const text = items.length ? `new Set(${this.list("[", items, "]", level)})` : "new Set()";
        return this.holderText(id, text);
      }
      items.push(out);
    }
    return items.length ? `new Set(${this.list("[", items, "]", level)})` : "new Set()";
  }

  /**
   * Errors are ordinary mutable objects after construction, so a cycle through `cause`, `errors`
   * or an extra field is closed like an object's: `undefined` now, an assignment later. Their
   * `cause`, `errors` and extra fields come from the walk's slots (see Graph.childStart).
   */
  private error(id: number, e: Error, level: number): Out {
    const graph = this.graph;
    const ctor = ERROR_NAMES.get(Object.getPrototypeOf(e))!;
    const args: string[] = [];
    let holder = false;
    const slot = (key: string, at: number, level: number): string => {
      const out = this.child(at, level);
      if (!(out instanceof Blocked)) return out;
      this.wait(out.on, { kind: "prop", holder: id, key, value: graph.childValues[at] });
      holder = true;
      return "undefined";
    };
    const start = graph.childStart[id]!;
    let next = start;
    // Fields the constructor makes are non-enumerable; the same names assigned later are
    // enumerable own fields and are written as extra fields instead.
    const hasCause =
      Object.hasOwn(e, "cause") && !Object.prototype.propertyIsEnumerable.call(e, "cause");
    const causeSlot = hasCause ? next++ : -1;
    let errorsLater: string | undefined;
    if (e instanceof AggregateError) {
      const errorsSlot = next++;
      const errors = slot("errors", errorsSlot, level + 1);
      // The constructor copies its iterable: a bound array (shared, or patched later) must be
      // assigned as `errors` afterwards to keep its identity.
      const errorsId = graph.childIds[errorsSlot]!;
      const bound = errorsId >= 0 && this.status[errorsId] === DONE;
      if (bound || errors === "undefined") {
        args.push("[]");
        errorsLater = errors;
      } else {
        args.push(errors);
      }
    }
    const hasMessage =
      Object.hasOwn(e, "message") && !Object.prototype.propertyIsEnumerable.call(e, "message");
    if (hasMessage || hasCause) {
      const msg = hasMessage ? this.value(e.message, level + 1) : "undefined";
      if (msg instanceof Blocked) return msg;
      args.push(msg);
    }
    if (hasCause)
      args.push(this.list("{", [`cause: ${slot("cause", causeSlot, level + 2)}`], "}", level + 1));
    const call = `new ${ctor}(${args.join(", ")})`;
    const extra: string[] = errorsLater === undefined ? [] : [`errors: ${errorsLater}`];
    const keys = graph.objectKeys[id]!;
    for (let s = next; s < graph.childEnd[id]!; s++) {
      const key = keys[s - start]!;
      extra.push(this.keyPrefix(key) + slot(key, s, level + 1));
    }
    const text = extra.length
      ? `Object.assign(${call}, ${this.list("{", extra, "}", level)})`
      : call;
    return holder ? this.holderText(id, text) : text;
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

  private externalRef(id: number): string {
    return `${this.imports.arraysBinding()}.${this.graph.externalNames.get(id)}`;
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

  private arrayBuffer(id: number, v: ArrayBuffer, level: number): string {
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
    if (this.graph.externalNames.has(id))
      return `new Uint8Array(${this.externalRef(id)}.data).buffer`;
    const items = typedArrayItems(new Uint8Array(v));
    return `new Uint8Array(${this.fill("[", items, "]", level)}).buffer`;
  }

  private typedArray(id: number, v: Float64Array, level: number): Out {
    const graph = this.graph;
    // The internal [[TypedArrayName]], never a `constructor` the value (or its prototype) could fake.
    const ctor = typedArrayName(v) as string;
    const buffer = onlyChild(graph, id);
    if (graph.externalNames.has(id)) {
      const ref = `${this.externalRef(id)}.data`;
      // u1 data comes back as a Uint8Array; a clamped array is rebuilt as one (a copy).
      return ctor === "Uint8ClampedArray" ? `new Uint8ClampedArray(${ref})` : ref;
    }
    const bufferRefs = graph.refs[buffer]!;
    if (bufferRefs === 1 && coversFixedBuffer(v)) {
      return `new ${ctor}(${this.fill("[", typedArrayItems(v), "]", level)})`;
    }
    // A view on a shared, resizable or larger buffer: the buffer is written too, so the view keeps
    // its byteOffset, the buffer its full length (as structured clone does), and sharing stays.
    let buf: Out;
    if (bufferRefs === 1 && !graph.externalNames.has(buffer) && wholeBufferAs(v)) {
      // The buffer of a lone integer subarray reads best in the view's own element type.
      const whole = new (typedArrayClass(ctor) as TypedArrayClass)(v.buffer);
      buf = `new ${ctor}(${this.fill("[", typedArrayItems(whole), "]", level)}).buffer`;
    } else {
      buf = this.node(buffer, level);
      if (buf instanceof Blocked) return buf;
    }
    return `new ${ctor}(${buf}${this.viewArgs(v, v.length)})`;
  }

  private ndarray(id: number, v: NDArray, level: number): Out {
    if (this.tree) return this.treeOnly(id, "an NDArray");
    if (this.graph.externalNames.has(id)) return this.externalRef(id);
    const data = this.node(onlyChild(this.graph, id), level + 1);
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

  private instance(id: number, level: number): Out {
    if (this.tree) return this.treeOnly(id, "a class instance");
    const { ref, factory } = this.graph.instances.get(id)!;
    const callee = this.imports.alias(ref);
    const head = factory ? `${callee}.${factory}` : `new ${callee}`;
    const start = this.graph.childStart[id]!;
    const end = this.graph.childEnd[id]!;
    if (end - start === 1) {
      // One argument (typically an options object) hugs the parentheses: `new Run({ ... })`.
      const out = this.child(start, level);
      return out instanceof Blocked ? out : `${head}(${out})`;
    }
    const items: string[] = [];
    for (let s = start; s < end; s++) {
      const out = this.child(s, level + 1);
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
