/**
 * What `persist view` shows, computed on the server from the archive or DataSet: the item table
 * (infos flattened into columns, sorted and filtered per request, cached per index version), item
 * values as trees, source text, and arrays reduced for plots. Everything is read with the safe
 * loader (stand-ins for imported classes, as in the CLI); nothing is ever written.
 *
 * The table of a big DataSet comes in two steps. Parsing every info (100k of them: a few hundred
 * ms, on one thread that also serves the page) is only needed to sort, filter, scatter and know
 * every column; the first page in insertion order needs the item names and the infos of its own
 * rows. So that page is served from the index alone, and the full table is built when the viewer
 * has been idle for a moment, or at once when a request needs it. Until it is built the summary's
 * version carries a "building" mark; when it is built the mark goes, and the page's poll, seeing
 * the version change, reloads the table with every column.
 */
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { LazyArray } from "../arrays/lazy.js";
import { shortText, summarize, summaryText } from "../cli/describe.js";
import { isRowSource, type RowSource } from "../cli/json-stream.js";
import { allInfos } from "../cli/show.js";
import { loadWithStandIns, readDataSetItem, standInCall, standInModule } from "../cli/stand-ins.js";
import { filesAt, resolveTarget, type Target, totalBytes } from "../cli/target.js";
import { compileSort, compileWhere } from "../cli/where.js";
import { DataSet } from "../dataset/dataset.js";
import type { S3DataSet } from "../dataset/s3-dataset.js";
import { NotFoundError } from "../errors.js";
import { isTypedArray, NDArray } from "../runtime/persist-runtime.mjs";
import { readConfinedText } from "../store/confined.js";

/** A table cell: what JSON can carry of an info field. */
export type Cell = string | number | boolean | null;

export interface TableQuery {
  offset: number;
  limit: number;
  /** Column to sort by (an info field path, or "name"); "-" prefix: descending. */
  sort: string | undefined;
  /** A --where expression over the info. */
  where: string | undefined;
}

export interface TablePage {
  version: string;
  total: number;
  matched: number;
  offset: number;
  columns: string[];
  /** `error`: the row's info could not be read (the other rows still are). */
  rows: { name: string; cells: Cell[]; error?: string }[];
}

interface TableCache {
  version: string;
  names: string[];
  infos: Map<string, unknown>;
  columns: string[];
  cells: Map<string, Cell[]>;
  /** (where, sort) → ordered names. */
  selections: Map<string, string[]>;
}

const MAX_COLUMNS = 40;
const MAX_CELL_TEXT = 200;
/** Quiet time after which the full table is built in the background. */
const BUILD_WHEN_IDLE_MS = 250;
/** Mark of the summary's version while the full table is not built yet. */
const BUILDING = "|building";

export class ViewModel {
  private table: TableCache | undefined;
  private loading: Promise<TableCache> | undefined;
  private idleBuild: NodeJS.Timeout | undefined;
  /** The last full build failed (a broken info): first pages are still served from the index. */
  private buildError: { version: string; error: unknown } | undefined;
  private readonly items = new Map<string, { version: string; value: Promise<unknown> }>();
  private sizeCache: { version: string; bytes: Promise<number> } | undefined;

  private constructor(
    readonly target: Target,
    private readonly ds: DataSet | undefined,
  ) {}

  static async open(path: string): Promise<ViewModel> {
    const target = await resolveTarget(path);
    const ds =
      target.type === "dataset" ? await DataSet.open(target.path, { mode: "r" }) : undefined;
    return new ViewModel(target, ds);
  }

  async close(): Promise<void> {
    clearTimeout(this.idleBuild);
    await this.loading?.catch(() => undefined);
    await this.ds?.close();
  }

  /** A DataSet on object storage: no local files to stat or show. */
  private get onS3(): boolean {
    return this.target.type === "dataset" && this.target.path.startsWith("s3://");
  }

  get root(): string {
    return this.target.type === "dataset" ? this.target.path : this.target.home;
  }

  /** Changes whenever the DataSet's index changes (a write by any process). */
  async version(): Promise<string> {
    if (this.target.type !== "dataset") return "archive";
    // On S3 the number of the last commit (a read of the commit log's new entries): every insert,
    // delete and info change by any writer moves it.
    if (this.onS3) return `s3:${await (this.ds as unknown as S3DataSet).lastCommit()}`;
    const dir = this.target.path;
    const parts: string[] = [];
    // the index files only (a readdir of a 100k-item folder per request would be slow)
    for (const name of ["index.journal", "index.mjs"]) {
      const info = await stat(join(dir, name)).catch(() => undefined);
      if (info) parts.push(`${name}:${info.size}:${info.mtimeMs}`);
    }
    return parts.join("|");
  }

  async summary(): Promise<Record<string, unknown>> {
    const version = await this.version();
    if (this.target.type === "archive") {
      const files = await filesAt(this.target.home);
      return {
        type: "archive",
        path: this.target.entry,
        version,
        bytes: totalBytes(files),
      };
    }
    const table = this.table?.version === version ? this.table : undefined;
    if (!table) this.buildWhenIdle(version);
    let lastChange = 0;
    for (const part of version.split("|"))
      lastChange = Math.max(lastChange, Number(part.split(":")[2]));
    // The total size walks every file: once per version, in the background, and not before the
    // table is built (200k stat calls would slow the first page down).
    let bytes: number | null = null;
    if (table && !this.onS3) {
      if (this.sizeCache?.version !== version) {
        const path = this.target.path;
        this.sizeCache = { version, bytes: filesAt(path).then(totalBytes) };
      }
      bytes = await Promise.race([
        this.sizeCache.bytes,
        new Promise<null>((r) => setTimeout(() => r(null), 50).unref()),
      ]);
    }
    return {
      type: "dataset",
      path: this.target.path,
      version: table || this.buildError?.version === version ? version : version + BUILDING,
      count: table ? table.names.length : (await this.ds!.keys()).length,
      bytes,
      lastChange: lastChange > 0 ? new Date(lastChange).toISOString() : null,
      columns: table ? table.columns : (this.table?.columns ?? []),
    };
  }

  /** One page of the item table. */
  async page(query: TableQuery): Promise<TablePage> {
    const inOrder = query.where === undefined && (query.sort ?? "name") === "name";
    if (inOrder && this.ds) {
      const version = await this.version();
      if (this.table?.version !== version) return this.pageFromIndex(query, version);
    }
    const table = await this.tableCache();
    const key = `${query.where ?? ""}\u0000${query.sort ?? ""}`;
    let names = table.selections.get(key);
    if (!names) {
      let pairs: [string, unknown][] = table.names.map((n) => [n, table.infos.get(n)]);
      if (query.where) {
        const keep = compileWhere(query.where);
        pairs = pairs.filter(([, info]) => keep(info));
      }
      if (query.sort && query.sort !== "name" && query.sort !== "-name") {
        pairs.sort(compileSort(query.sort));
      } else if (query.sort === "-name") {
        pairs.reverse();
      }
      names = pairs.map(([n]) => n);
      if (table.selections.size > 32) table.selections.clear();
      table.selections.set(key, names);
    }
    const slice = names.slice(query.offset, query.offset + query.limit);
    return {
      version: table.version,
      total: table.names.length,
      matched: names.length,
      offset: query.offset,
      columns: table.columns,
      rows: slice.map((name) => ({ name, cells: cellsOf(table, name) })),
    };
  }

  /**
   * A page in insertion order without the full table: the names from the index and the infos of
   * the page's rows only. Columns: those of the last full table (an earlier version) and of these
   * rows; every column once the full table is built.
   */
  private async pageFromIndex(query: TableQuery, version: string): Promise<TablePage> {
    const ds = this.ds!;
    const names = await ds.keys();
    const slice = names.slice(query.offset, query.offset + query.limit);
    const infos = new Map<string, unknown>();
    const errors = new Map<string, string>();
    await Promise.all(
      slice.map(async (name) => {
        try {
          infos.set(name, await ds.info(name));
        } catch (error) {
          // deleted meanwhile, or an info that cannot be read: the row says so, the page stays
          errors.set(name, error instanceof Error ? error.message : String(error));
        }
      }),
    );
    const known = this.table?.columns ?? [];
    const columns = [...new Set([...known, ...columnsOf(slice, infos)])].slice(0, MAX_COLUMNS);
    this.buildWhenIdle(version);
    const readers = columns.map(compileField);
    return {
      version,
      total: names.length,
      matched: names.length,
      offset: query.offset,
      columns,
      rows: slice.map((name) => {
        const error = errors.get(name);
        if (error !== undefined) return { name, cells: columns.map(() => null), error };
        const info = infos.get(name);
        return { name, cells: readers.map((read) => toCell(read(info))) };
      }),
    };
  }

  /** Builds the full table once no request has come for BUILD_WHEN_IDLE_MS (not again after a failure). */
  private buildWhenIdle(version: string): void {
    if (this.buildError?.version === version) return;
    clearTimeout(this.idleBuild);
    this.idleBuild = setTimeout(() => {
      this.tableCache().catch(() => undefined); // the error is kept in buildError
    }, BUILD_WHEN_IDLE_MS);
    this.idleBuild.unref();
  }

  /** Numeric (x, y) of two info fields over every item that has both. */
  async scatter(x: string, y: string): Promise<{ names: string[]; x: number[]; y: number[] }> {
    const table = await this.tableCache();
    const fx = compileField(x);
    const fy = compileField(y);
    const out = { names: [] as string[], x: [] as number[], y: [] as number[] };
    for (const name of table.names) {
      const info = table.infos.get(name);
      const a = toNumber(fx(info));
      const b = toNumber(fy(info));
      if (a === undefined || b === undefined) continue;
      out.names.push(name);
      out.x.push(a);
      out.y.push(b);
    }
    return out;
  }

  /** The value of item `name` (a DataSet item) or the archive's exports (name ""). */
  async value(name: string): Promise<unknown> {
    const version = await this.itemVersion(name);
    const cached = this.items.get(name);
    if (cached && cached.version === version) return cached.value;
    const value = this.loadValue(name);
    value.catch(() => this.items.delete(name));
    this.items.delete(name);
    this.items.set(name, { version, value });
    // keep the few most recently used values (arrays can be large)
    while (this.items.size > 3) this.items.delete(this.items.keys().next().value!);
    return value;
  }

  /** Source text of an item's module (or the archive's entry), at most 4 MB of it. */
  async source(name: string): Promise<{ file: string; text: string; truncated: boolean }> {
    const file = await this.moduleFile(name);
    const limit = 4 << 20;
    const size = (await stat(file)).size;
    const text = await readConfinedText(file, { root: this.root, maxBytes: Math.max(size, 1) });
    return size > limit
      ? { file, text: text.slice(0, limit), truncated: true }
      : { file, text, truncated: false };
  }

  private async moduleFile(name: string): Promise<string> {
    if (this.target.type === "archive") return this.target.entry;
    await this.mustHave(name);
    if (this.onS3) {
      throw new NotFoundError(
        `the source text of items of a DataSet on S3 is not shown (${this.root}); ` +
          `persist get ${this.root} ${name} prints the value`,
      );
    }
    return join(this.target.path, `${name}.mjs`);
  }

  private async mustHave(name: string): Promise<void> {
    if (!this.ds || !(await this.ds.has(name))) {
      throw new NotFoundError(`no item ${JSON.stringify(name)} in ${this.root}`);
    }
  }

  private async itemVersion(name: string): Promise<string> {
    if (this.target.type === "archive") return "archive";
    await this.mustHave(name);
    if (this.onS3) return this.version();
    const info = await stat(join(this.target.path, `${name}.mjs`)).catch(() => undefined);
    return info ? `${info.size}:${info.mtimeMs}:${info.ino}` : "";
  }

  /**
   * External arrays are loaded lazily (headers only): a tree needs their shapes, and a plot reads
   * them in chunks (plot.ts), so a 10^8-element array is never held whole. A module that uses an
   * array's data while it is built (LazyLoadError) is loaded whole instead.
   */
  private async loadValue(name: string): Promise<unknown> {
    try {
      return await this.readValue(name, true);
    } catch (error) {
      if ((error as Error | undefined)?.name !== "LazyLoadError") throw error;
      return this.readValue(name, false);
    }
  }

  private async readValue(name: string, lazy: boolean): Promise<unknown> {
    if (this.target.type === "archive") {
      const exports = await loadWithStandIns(this.target.entry, { lazy });
      // a plain object keeps the export order; the default export of a one-item module is shown
      return Object.assign(Object.create(null), exports);
    }
    // an item on S3: its module only, arrays read with ranged GETs when plotted
    if (this.onS3) return this.ds!.get(name, { lazy });
    return readDataSetItem(this.ds!, name, { lazy });
  }

  private async tableCache(): Promise<TableCache> {
    const version = await this.version();
    if (this.table && this.table.version === version) return this.table;
    if (this.loading) return this.loading;
    clearTimeout(this.idleBuild);
    this.loading = (async () => {
      try {
        const names = this.ds ? await this.ds.keys() : [];
        let infos: Map<string, unknown>;
        try {
          infos = this.ds ? await allInfos(this.ds, names) : new Map<string, unknown>();
        } catch (error) {
          this.buildError = { version, error };
          throw error;
        }
        // let requests that came meanwhile through before the next long step
        await new Promise((resolve) => setImmediate(resolve));
        const table: TableCache = {
          version,
          names,
          infos,
          columns: columnsOf(names, infos),
          cells: new Map(),
          selections: new Map(),
        };
        this.table = table;
        return table;
      } finally {
        this.loading = undefined;
      }
    })();
    return this.loading;
  }
}

/** Info fields as columns: top-level keys of object infos, one level of nesting flattened. */
function columnsOf(names: readonly string[], infos: ReadonlyMap<string, unknown>): string[] {
  const columns = new Set<string>();
  let sawScalar = false;
  for (const name of names) {
    const info = infos.get(name);
    if (!isPlainObject(info)) {
      if (info !== undefined && info !== null) sawScalar = true;
      continue;
    }
    for (const key of Object.keys(info)) {
      if (columns.size >= MAX_COLUMNS) break;
      const value = info[key];
      if (isPlainObject(value) && Object.keys(value).length <= 8) {
        for (const sub of Object.keys(value)) columns.add(`${fieldPath(key)}${fieldStep(sub)}`);
      } else {
        columns.add(fieldPath(key));
      }
    }
  }
  const out = [...columns];
  if (sawScalar || out.length === 0) out.unshift("info");
  return out;
}

function fieldPath(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) && key !== "info" ? key : `info[${JSON.stringify(key)}]`;
}

function fieldStep(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

function cellsOf(table: TableCache, name: string): Cell[] {
  let cells = table.cells.get(name);
  if (!cells) {
    const info = table.infos.get(name);
    cells = table.columns.map((column) => toCell(compileField(column)(info)));
    table.cells.set(name, cells);
  }
  return cells;
}

const fieldCache = new Map<string, (info: unknown) => unknown>();

/** A reader of info field `path` (the --where path syntax). */
function compileField(path: string): (info: unknown) => unknown {
  let field = fieldCache.get(path);
  if (!field) {
    // a path alone is an expression whose value is the field; compileWhere would make it boolean
    const sort = compileSort(path); // validates the path
    void sort;
    field = fieldReader(path);
    if (fieldCache.size > 1000) fieldCache.clear();
    fieldCache.set(path, field);
  }
  return field;
}

/** Walks a path like `a.b["c d"][0]` (already validated by compileSort). */
function fieldReader(path: string): (info: unknown) => unknown {
  const steps: (string | number)[] = [];
  const re = /\.?([A-Za-z_$][\w$]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/gy;
  let match: RegExpExecArray | null;
  let first = true;
  while ((match = re.exec(path))) {
    if (match[1] !== undefined) {
      if (!(first && match[1] === "info")) steps.push(match[1]);
    } else if (match[2] !== undefined) steps.push(Number(match[2]));
    else steps.push(JSON.parse(match[3]!) as string);
    first = false;
  }
  return (info) => {
    let current = info;
    for (const step of steps) {
      if (current instanceof Map) current = current.get(step);
      else if (typeof current === "object" && current !== null) {
        const key = String(step);
        current = Object.hasOwn(current, key)
          ? (current as Record<string, unknown>)[key]
          : undefined;
      } else return undefined;
    }
    return current;
  };
}

function toCell(value: unknown): Cell {
  switch (typeof value) {
    case "undefined":
      return null;
    case "number":
      return Number.isFinite(value) ? value : String(value);
    case "boolean":
      return value;
    case "string":
      return value.length > MAX_CELL_TEXT ? `${value.slice(0, MAX_CELL_TEXT)}…` : value;
    case "bigint":
      return `${value}n`;
    default:
      return value === null ? null : shortText(value, 80);
  }
}

function toNumber(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (typeof value === "bigint") return Number(value);
  if (typeof value === "boolean") return value ? 1 : 0;
  return undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

// ---------------------------------------------------------------------------------------------
// Trees

/** One node of the value tree the item page shows. */
export interface TreeNode {
  /** Key, index or label under its parent. */
  k?: string;
  /** Kind: object, array, Map, NDArray, Float64Array, a class name, string, number, ... */
  type: string;
  /** Shape/dtype/entries text. */
  info?: string;
  /** Scalar value as text (strings quoted). */
  v?: string;
  /** Import specifier of an imported class or function. */
  module?: string;
  /** Number of this value when it is referred to again (shared or cyclic). */
  id?: number;
  /** This place refers to value number `ref` (already shown); `cycle` when it encloses it. */
  ref?: number;
  cycle?: boolean;
  /** Steps from the root to this value (for arrays to plot and subtrees to expand). */
  at?: string[];
  /** Plot kind for arrays. */
  plot?: "line" | "heatmap";
  complex?: boolean;
  dtype?: string;
  shape?: number[];
  c?: TreeNode[];
  /** Children not sent (open the node at `at` with from=…). */
  more?: number;
  /** Children not sent because the tree is deep (open the node at `at`). */
  deeper?: boolean;
}

const MAX_NODES = 4000;
const MAX_CHILDREN = 200;
const MAX_TREE_DEPTH = 48;
const MAX_SCALAR_TEXT = 2000;

/** A step to a child: "k:key", "i:3", "m:2" (Map value #2), "s:1" (Set value #1), "a:0" (argument). */
type Child = [label: string, value: unknown, step: string];

function childrenOf(value: object): Child[] | undefined {
  const call = standInCall(value);
  if (call) return call.args.map((a, i): Child => [`arg ${i}`, a, `a:${i}`]);
  if (value instanceof NDArray || isTypedArray(value) || isRowSource(value)) return undefined;
  if (value instanceof Map) {
    const out: Child[] = [];
    let i = 0;
    for (const [k, v] of value) {
      out.push([typeof k === "object" && k !== null ? `#${i}` : labelOf(k), v, `m:${i}`]);
      i++;
    }
    return out;
  }
  if (value instanceof Set) return [...value].map((v, i): Child => [`#${i}`, v, `s:${i}`]);
  if (Array.isArray(value)) {
    if (value.length <= 1 << 16) {
      const out: Child[] = [];
      for (let i = 0; i < value.length; i++)
        if (i in value) out.push([String(i), value[i], `i:${i}`]);
      return out;
    }
    return Object.keys(value)
      .filter((k) => /^(?:0|[1-9]\d*)$/.test(k))
      .map((k): Child => [k, value[Number(k)], `i:${k}`]);
  }
  if (value instanceof Date || value instanceof RegExp) return [];
  if (value instanceof Error) {
    const out: Child[] = [["message", value.message, "k:message"]];
    if ("cause" in value) out.push(["cause", value.cause, "k:cause"]);
    return out;
  }
  if (value instanceof ArrayBuffer || value instanceof DataView) return [];
  return Object.keys(value).map((k): Child => [k, (value as Record<string, unknown>)[k], `k:${k}`]);
}

function labelOf(key: unknown): string {
  return typeof key === "string" ? JSON.stringify(key) : String(key);
}

/** Follows `steps` from `root`; NotFoundError when a step does not exist. */
export function valueAt(root: unknown, steps: readonly string[]): unknown {
  let current = root;
  for (const step of steps) {
    const colon = step.indexOf(":");
    const kind = step.slice(0, colon);
    const key = step.slice(colon + 1);
    const next = stepInto(current, kind, key);
    if (!next.found) throw new NotFoundError(`no value at ${steps.join(" / ")}`);
    current = next.value;
  }
  return current;
}

function stepInto(value: unknown, kind: string, key: string): { found: boolean; value?: unknown } {
  if (typeof value !== "object" || value === null) return { found: false };
  const n = Number(key);
  switch (kind) {
    case "k":
      return Object.hasOwn(value, key)
        ? { found: true, value: (value as Record<string, unknown>)[key] }
        : value instanceof Error && (key === "message" || key === "cause")
          ? { found: true, value: (value as unknown as Record<string, unknown>)[key] }
          : { found: false };
    case "i":
      return Array.isArray(value) && Object.hasOwn(value, key)
        ? { found: true, value: value[n] }
        : { found: false };
    case "m":
    case "s": {
      if (!(value instanceof Map || value instanceof Set)) return { found: false };
      let i = 0;
      for (const entry of value.values()) if (i++ === n) return { found: true, value: entry };
      return { found: false };
    }
    case "a": {
      const call = standInCall(value);
      return call && n < call.args.length ? { found: true, value: call.args[n] } : { found: false };
    }
  }
  return { found: false };
}

/**
 * The tree of `root` below `at`: breadth-limited (MAX_CHILDREN per node, from `from`), depth-
 * limited and node-limited, walked with an explicit queue (no recursion, any depth). Values met
 * twice are numbered: later places refer to the number.
 */
export function buildTree(root: unknown, at: readonly string[], from = 0): TreeNode {
  const start = valueAt(root, at);
  const ids = new Map<object, TreeNode>();
  let nextId = 1;
  const rootNode: TreeNode = { type: "" };
  // breadth-first so that a limited tree shows the top levels completely
  const queue: {
    node: TreeNode;
    value: unknown;
    steps: string[];
    ancestors: Set<object> | null;
    depth: number;
    from: number;
  }[] = [{ node: rootNode, value: start, steps: [...at], ancestors: null, depth: 0, from }];
  let count = 0;
  for (let q = 0; q < queue.length; q++) {
    const { node, value, steps, depth } = queue[q]!;
    count++;
    describeInto(node, value, steps);
    if (typeof value !== "object" || value === null) continue;
    const seen = ids.get(value);
    if (seen) {
      seen.id ??= nextId++;
      node.ref = seen.id;
      // a cycle when the value encloses this place: its steps are a prefix of ours
      node.cycle = seen.at !== undefined && isPrefix(seen.at, steps);
      node.at = steps;
      continue;
    }
    ids.set(value, node);
    const children = childrenOf(value);
    if (!children || children.length === 0) continue;
    node.at = steps;
    if (depth >= MAX_TREE_DEPTH || count + queue.length - q > MAX_NODES) {
      node.deeper = true;
      continue;
    }
    const first = queue[q]!.from;
    const shown = children.slice(first, first + MAX_CHILDREN);
    node.c = [];
    for (const [label, child, step] of shown) {
      const childNode: TreeNode = { k: label, type: "" };
      node.c.push(childNode);
      queue.push({
        node: childNode,
        value: child,
        steps: [...steps, step],
        ancestors: null,
        depth: depth + 1,
        from: 0,
      });
    }
    const rest = children.length - first - shown.length;
    if (rest > 0) node.more = rest;
  }
  return rootNode;
}

function isPrefix(prefix: readonly string[], steps: readonly string[]): boolean {
  if (prefix.length > steps.length) return false;
  for (let i = 0; i < prefix.length; i++) if (prefix[i] !== steps[i]) return false;
  return true;
}

function describeInto(node: TreeNode, value: unknown, steps: string[]): void {
  if (typeof value === "string") {
    node.type = "string";
    node.v = JSON.stringify(
      value.length > MAX_SCALAR_TEXT ? `${value.slice(0, MAX_SCALAR_TEXT)}…` : value,
    );
    if (value.length > MAX_SCALAR_TEXT) node.info = `${value.length} characters`;
    return;
  }
  if (typeof value !== "object" && typeof value !== "function") {
    node.type = value === null ? "null" : typeof value;
    node.v =
      typeof value === "bigint"
        ? `${value}n`
        : typeof value === "symbol"
          ? value.toString()
          : String(value);
    return;
  }
  if (value === null) {
    node.type = "null";
    node.v = "null";
    return;
  }
  const summary = summarize(value);
  node.type = summary.kind;
  const module = summary.module ?? standInModule(value);
  if (module !== undefined) node.module = module;
  const text = summaryText({ ...summary, kind: "", module: undefined }).trim();
  if (text) node.info = text;
  if (value instanceof Date)
    node.v = Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString();
  if (value instanceof RegExp) node.v = String(value);
  const array = asPlottable(value);
  if (array) {
    node.at = steps;
    node.dtype = array.dtype;
    node.shape = [...array.shape];
    node.complex = array.dtype.includes("c");
    const dims = array.shape.filter((d) => d > 1).length;
    node.plot = dims <= 1 ? "line" : "heatmap";
    node.info = `${array.dtype} [${array.shape.join(", ")}]`;
  }
}

/** An array the viewer can plot: NDArray, typed array (as 1-D), or lazily read external array. */
export function asPlottable(value: unknown): NDArray | RowSource | undefined {
  if (value instanceof NDArray) return value;
  if (isTypedArray(value)) {
    if (
      value instanceof BigInt64Array ||
      value instanceof BigUint64Array ||
      value instanceof Uint8ClampedArray
    ) {
      return new NDArray(value, [value.length]);
    }
    return new NDArray(value, [value.length]);
  }
  // raw bytes read lazily are not plotted, as raw bytes loaded whole are not
  if (
    value instanceof LazyArray &&
    (value.loadsAs === "ArrayBuffer" || value.loadsAs === "DataView")
  )
    return undefined;
  if (isRowSource(value)) return value;
  return undefined;
}
