/**
 * `persist get --json` (and `show --json`): any archived value as JSON text, written in chunks as
 * it is produced. The mapping (also in `get --help`):
 * - NDArray / TypedArray / lazily read external array → { "dtype", "shape", "data" }: data flat in
 *   C order (Fortran-order arrays are reordered), complex elements as [re, im], f2 as numbers, b1
 *   as booleans, i8/u8 as decimal strings; one line per row of the last axis (long rows wrap);
 * - BigInt → decimal string; NaN, Infinity, -Infinity → those strings; -0 → 0; undefined → null;
 * - an array without holes → a JSON array; an array with holes →
 *   { "$type": "SparseArray", "length": n, "entries": [[index, value], ...] } (existing elements
 *   only, so the output is proportional to what the array holds, not to its length);
 * - Map → { "$type": "Map", "entries": [[key, value], ...] }; Set → { "$type": "Set", "values": [...] };
 *   Date → { "$type": "Date", "iso": ISO string, or null when invalid };
 *   RegExp → { "$type": "RegExp", "source", "flags" }; errors → { "$type": name, "message", "cause"? };
 *   ArrayBuffer / DataView → { "$type", "data": [bytes] }; boxed primitives → { "$type", "value" };
 *   symbols → { "$type": "Symbol", "description" }; functions → { "$type": "function", "name" };
 *   class instances → { "$type": ClassName, ...own enumerable fields }; instances of imported
 *   classes (see stand-ins.ts) → { "$type": ClassName, "$module", "$factory"?, "$args": [...] },
 *   imported functions → { "$type": "function", "name", "module" };
 * - a reference back to an enclosing value (a cycle) → { "$cycle": "<path of that value>" }.
 * Shared (non-cyclic) references are written out at each place.
 *
 * Written by hand rather than with JSON.stringify because the output must stream (a 1 GiB array
 * becomes gigabytes of text), nesting may be deeper than the call stack (the walk below keeps its
 * own stack) and strings must be escaped for terminals (escape.ts).
 */
import { isTypedArray, NDArray, parseDescr, reorder } from "../runtime/persist-runtime.mjs";
import { jsonQuote } from "./escape.js";
import { standInCall, standInModule } from "./stand-ins.js";

/** An external array read on demand (the arrays layer's LazyArray has this shape). */
export interface RowSource {
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly size: number;
  rows(start: number, stop: number): Promise<NDArray>;
}

export function isRowSource(value: unknown): value is RowSource {
  if (typeof value !== "object" || value === null || value instanceof NDArray) return false;
  const v = value as Partial<RowSource>;
  return typeof v.rows === "function" && typeof v.dtype === "string" && Array.isArray(v.shape);
}

/** Where JSON text goes; `drained` resolves when it can take more. */
export interface JsonSink {
  json(text: string): void;
  drained(): Promise<void>;
}

/** Numbers (or other elements) per output line at most. */
const LINE = 1024;
/** Text collected before it is handed to the sink. */
const FLUSH = 1 << 16;
/** Deeper levels are not indented further, so deep chains do not cost depth² spaces. */
const MAX_INDENT = 20;
/** Elements read from a lazily read array at once. */
const READ_ELEMENTS = 1 << 20;

type Entry = [key: string | undefined, value: unknown, segment: string];

/** A JSON object or array made by this writer (Map, Set, ...), not an archived value. */
class Made {
  constructor(
    readonly open: "{" | "[",
    readonly entries: Iterable<Entry>,
  ) {}
}

interface Frame {
  close: "}" | "]";
  entries: Iterator<Entry>;
  count: number;
  depth: number;
  /** The archived object this frame writes (for cycle detection), if any. */
  owner: object | undefined;
  segment: string;
  parent: Frame | undefined;
}

/** Writes `value` as JSON (ending in a newline) to `sink`; `name` roots the paths of $cycle. */
export async function writeJson(value: unknown, name: string, sink: JsonSink): Promise<void> {
  const writer = new JsonWriter(sink);
  await writer.write(value, name);
}

/** `value` as JSON text in memory (for small values and tests). */
export async function jsonText(value: unknown, name = "value"): Promise<string> {
  let text = "";
  await writeJson(value, name, { json: (t) => (text += t), drained: async () => {} });
  return text;
}

class JsonWriter {
  private buffer = "";
  private readonly stack: Frame[] = [];
  private readonly open = new Map<object, Frame>();

  constructor(private readonly sink: JsonSink) {}

  async write(root: unknown, name: string): Promise<void> {
    const pending = this.value(root, undefined, name);
    if (pending) await pending;
    while (this.stack.length > 0) {
      const frame = this.stack[this.stack.length - 1]!;
      const next = frame.entries.next();
      if (next.done) {
        this.stack.pop();
        if (frame.owner) this.open.delete(frame.owner);
        this.buffer += frame.count > 0 ? `\n${indent(frame.depth)}${frame.close}` : frame.close;
      } else {
        const [key, value, segment] = next.value;
        this.buffer += `${frame.count++ > 0 ? "," : ""}\n${indent(frame.depth + 1)}`;
        if (key !== undefined) this.buffer += `${jsonQuote(key)}: `;
        const wait = this.value(value, frame, segment);
        if (wait) await wait;
      }
      if (this.buffer.length >= FLUSH) await this.flush();
    }
    this.buffer += "\n";
    await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.buffer.length === 0) return;
    this.sink.json(this.buffer);
    this.buffer = "";
    await this.sink.drained();
  }

  /** Writes a scalar, or opens a frame for a container; a promise when it streams array data. */
  private value(value: unknown, parent: Frame | undefined, segment: string): Promise<void> | void {
    switch (typeof value) {
      case "undefined":
        this.buffer += "null";
        return;
      case "boolean":
        this.buffer += String(value);
        return;
      case "string":
        this.buffer += jsonQuote(value);
        return;
      case "number":
        this.buffer += numberText(value);
        return;
      case "bigint":
        this.buffer += `"${value}"`;
        return;
      case "symbol":
        return this.made(made({ $type: "Symbol", description: value.description ?? null }), parent);
      case "function": {
        const module = standInModule(value);
        const fields: Record<string, unknown> = { $type: "function", name: value.name };
        if (module !== undefined) fields.module = module;
        return this.made(made(fields), parent);
      }
    }
    if (value === null) {
      this.buffer += "null";
      return;
    }
    if (value instanceof Made) return this.made(value, parent);
    const object = value as object;
    const depth = parent ? parent.depth + 1 : 0;
    if (value instanceof NDArray) return this.ndarray(value, depth);
    if (isTypedArray(value)) return this.ndarray(new NDArray(value, [value.length]), depth);
    if (isRowSource(value)) return this.lazyArray(value, depth);
    const seen = this.open.get(object);
    if (seen !== undefined) {
      this.buffer += `{"$cycle": ${jsonQuote(pathOf(seen))}}`;
      return;
    }
    if (Array.isArray(value)) {
      const dense = denseLength(value);
      if (dense !== undefined && allScalars(value)) return this.scalarArray(value, depth);
      if (dense === undefined) {
        return this.push("}", sparseEntries(value), object, parent, segment);
      }
      return this.push("]", arrayEntries(value), object, parent, segment);
    }
    this.push("}", objectEntries(object), object, parent, segment);
  }

  private made(value: Made, parent: Frame | undefined): void {
    const entries = value.entries;
    // a short list of scalars (a sparse entry [7, 1]) on one line
    if (value.open === "[" && Array.isArray(entries) && entries.length <= 16) {
      const list = entries as Entry[];
      if (list.every(([, v]) => isScalar(v))) {
        this.buffer += "[";
        for (const [i, [, v]] of list.entries()) {
          if (i > 0) this.buffer += ", ";
          this.value(v, undefined, "");
        }
        this.buffer += "]";
        return;
      }
    }
    this.push(value.open === "{" ? "}" : "]", entries, undefined, parent, "");
  }

  private push(
    close: "}" | "]",
    entries: Iterable<Entry>,
    owner: object | undefined,
    parent: Frame | undefined,
    segment: string,
  ): void {
    const frame: Frame = {
      close,
      entries: entries[Symbol.iterator](),
      count: 0,
      depth: parent ? parent.depth + 1 : 0,
      owner,
      segment,
      parent,
    };
    this.buffer += close === "}" ? "{" : "[";
    if (owner) this.open.set(owner, frame);
    this.stack.push(frame);
  }

  /** An array of strings, numbers, booleans, null...: on lines of up to LINE elements. */
  private async scalarArray(array: readonly unknown[], depth: number): Promise<void> {
    if (array.length === 0) {
      this.buffer += "[]";
      return;
    }
    const inner = indent(depth + 1);
    this.buffer += "[";
    for (let i = 0; i < array.length; i++) {
      this.buffer += i === 0 ? `\n${inner}` : i % LINE === 0 ? `,\n${inner}` : ", ";
      const pending = this.value(array[i], undefined, "");
      if (pending) await pending; // not reached: scalars only
      if (this.buffer.length >= FLUSH) await this.flush();
    }
    this.buffer += `\n${indent(depth)}]`;
  }

  private async ndarray(array: NDArray, depth: number): Promise<void> {
    const data =
      array.order === "F"
        ? reorder(array.data, array.shape, parseDescr(array.dtype)?.info.lanes ?? 1, false)
        : array.data;
    const c = data === array.data ? array : new NDArray(data, array.shape, { dtype: array.dtype });
    await this.arrayData(array.dtype, array.shape, depth, async (emit) => emit(c));
  }

  private async lazyArray(array: RowSource, depth: number): Promise<void> {
    const shape = array.shape;
    const rows = shape.length === 0 ? 1 : shape[0]!;
    const perRow = shape.length === 0 ? 1 : array.size / Math.max(1, rows);
    const step = Math.max(1, Math.floor(READ_ELEMENTS / Math.max(1, perRow)));
    await this.arrayData(array.dtype, shape, depth, async (emit) => {
      if (array.size === 0) return;
      for (let start = 0; start < rows; start += step) {
        const part = await array.rows(start, Math.min(rows, start + step));
        await emit(part.order === "F" ? toC(part) : part);
      }
    });
  }

  /** { "dtype", "shape", "data": [...] } with `produce` emitting C-order parts of the data. */
  private async arrayData(
    dtype: string,
    shape: readonly number[],
    depth: number,
    produce: (emit: (part: NDArray) => Promise<void>) => Promise<void>,
  ): Promise<void> {
    const inner = indent(depth + 1);
    const dataIndent = indent(depth + 2);
    this.buffer += `{\n${inner}"dtype": ${jsonQuote(dtype)},\n${inner}"shape": [${shape.join(", ")}],\n${inner}"data": [`;
    const last = shape.length === 0 ? 1 : shape[shape.length - 1]!;
    let written = 0;
    await produce(async (part) => {
      const format = elementFormatter(part);
      for (let i = 0; i < part.size; i++) {
        const column = written % Math.max(1, last);
        this.buffer +=
          written === 0
            ? `\n${dataIndent}`
            : column === 0 || column % LINE === 0
              ? `,\n${dataIndent}`
              : ", ";
        this.buffer += format(i);
        written++;
        if (this.buffer.length >= FLUSH) await this.flush();
      }
    });
    this.buffer += written > 0 ? `\n${inner}]\n${indent(depth)}}` : `]\n${indent(depth)}}`;
  }
}

/** Text of element i of a C-order NDArray. */
function elementFormatter(array: NDArray): (i: number) => string {
  const parsed = parseDescr(array.dtype);
  const lanes = parsed?.info.lanes ?? 1;
  const kind = parsed?.info.kind ?? "";
  const data = array.data as ArrayLike<number | bigint>;
  if (lanes === 2) {
    return (i) => `[${numberText(Number(data[2 * i]))}, ${numberText(Number(data[2 * i + 1]))}]`;
  }
  if (kind === "b1") return (i) => (data[i] !== 0 ? "true" : "false");
  if (kind === "f2") return (i) => numberText(halfToNumber(data[i] as number));
  return (i) => {
    const x = data[i]!;
    return typeof x === "bigint" ? `"${x}"` : numberText(x);
  };
}

function toC(array: NDArray): NDArray {
  const lanes = parseDescr(array.dtype)?.info.lanes ?? 1;
  return new NDArray(reorder(array.data, array.shape, lanes, false), array.shape, {
    dtype: array.dtype,
  });
}

function numberText(n: number): string {
  if (Number.isFinite(n)) return n === 0 ? "0" : String(n);
  return Number.isNaN(n) ? '"NaN"' : n > 0 ? '"Infinity"' : '"-Infinity"';
}

function indent(depth: number): string {
  return "  ".repeat(Math.min(depth, MAX_INDENT));
}

function pathOf(frame: Frame): string {
  const parts: string[] = [];
  for (let f: Frame | undefined = frame; f; f = f.parent) parts.push(f.segment);
  return parts.reverse().join("");
}

/** Arrays up to this length are checked for holes element by element; longer ones by their keys. */
const SCAN_LIMIT = 1 << 16;

/** The length of an array without holes, undefined when it has any. */
function denseLength(array: readonly unknown[]): number | undefined {
  const length = array.length;
  if (length <= SCAN_LIMIT) {
    for (let i = 0; i < length; i++) if (!(i in array)) return undefined;
    return length;
  }
  // A huge length with few elements (a sparse array) is not walked index by index.
  let count = 0;
  for (const key of Object.keys(array)) if (isIndex(key)) count++;
  return count === length ? length : undefined;
}

function isScalar(v: unknown): boolean {
  return !(
    (typeof v === "object" && v !== null) ||
    typeof v === "function" ||
    typeof v === "symbol"
  );
}

function allScalars(array: readonly unknown[]): boolean {
  for (let i = 0; i < array.length; i++) if (!isScalar(array[i])) return false;
  return true;
}

function isIndex(key: string): boolean {
  return /^(?:0|[1-9]\d*)$/.test(key) && Number(key) < 2 ** 32 - 1;
}

function* arrayEntries(array: readonly unknown[]): Generator<Entry> {
  for (let i = 0; i < array.length; i++) yield [undefined, array[i], `[${i}]`];
}

/** { "$type": "SparseArray", "length", "entries": [[i, v], ...] }: only the elements present. */
function sparseEntries(array: readonly unknown[]): Iterable<Entry> {
  const present = function* (): Generator<Entry> {
    // Object.keys lists integer keys first, in ascending order.
    for (const key of Object.keys(array)) {
      if (!isIndex(key)) break;
      const i = Number(key);
      yield [
        undefined,
        new Made("[", [
          [undefined, i, ""],
          [undefined, array[i], `[${i}]`],
        ]),
        "",
      ];
    }
  };
  return [
    ["$type", "SparseArray", ""],
    ["length", array.length, ""],
    ["entries", new Made("[", present()), ""],
  ];
}

/** A Made object of plain fields (no archived values inside that could form cycles). */
function made(fields: Record<string, unknown>): Made {
  return new Made(
    "{",
    Object.entries(fields).map(([k, v]): Entry => [k, v, ""]),
  );
}

function* objectEntries(value: object): Generator<Entry> {
  const call = standInCall(value);
  if (call) {
    yield ["$type", call.name, ""];
    yield ["$module", call.module, ""];
    if (call.factory !== undefined) yield ["$factory", call.factory, ""];
    const args = call.args;
    yield [
      "$args",
      new Made(
        "[",
        args.map((a, i): Entry => [undefined, a, `.args[${i}]`]),
      ),
      "",
    ];
    return;
  }
  if (value instanceof Map) {
    yield ["$type", "Map", ""];
    yield ["entries", new Made("[", mapEntries(value)), ""];
    return;
  }
  if (value instanceof Set) {
    yield ["$type", "Set", ""];
    yield ["values", new Made("[", setEntries(value)), ""];
    return;
  }
  if (value instanceof Date) {
    yield ["$type", "Date", ""];
    yield ["iso", Number.isNaN(value.getTime()) ? null : value.toISOString(), ""];
    return;
  }
  if (value instanceof RegExp) {
    yield ["$type", "RegExp", ""];
    yield ["source", value.source, ""];
    yield ["flags", value.flags, ""];
    return;
  }
  if (value instanceof Error) {
    yield ["$type", value.name, ""];
    yield ["message", value.message, ""];
    if ("cause" in value) yield ["cause", value.cause, ".cause"];
    return;
  }
  if (value instanceof ArrayBuffer || value instanceof DataView) {
    const bytes =
      value instanceof ArrayBuffer
        ? new Uint8Array(value)
        : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    yield ["$type", value instanceof ArrayBuffer ? "ArrayBuffer" : "DataView", ""];
    yield ["data", Array.from(bytes), ""];
    return;
  }
  for (const Box of [Number, String, Boolean, BigInt, Symbol] as const) {
    if (value instanceof Box) {
      yield ["$type", Box.name, ""];
      yield ["value", value.valueOf(), ""];
      return;
    }
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    const ctor = (value as { constructor?: unknown }).constructor;
    yield ["$type", typeof ctor === "function" && ctor.name ? ctor.name : "object", ""];
  }
  for (const key of Object.keys(value)) {
    yield [key, (value as Record<string, unknown>)[key], propertyPath(key)];
  }
}

function* mapEntries(map: Map<unknown, unknown>): Generator<Entry> {
  let i = 0;
  for (const [k, v] of map) {
    yield [
      undefined,
      new Made("[", [
        [undefined, k, `.keys[${i}]`],
        [undefined, v, `.get(${i})`],
      ]),
      "",
    ];
    i++;
  }
}

function* setEntries(set: Set<unknown>): Generator<Entry> {
  let i = 0;
  for (const v of set) yield [undefined, v, `.values[${i++}]`];
}

export function propertyPath(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/** IEEE 754 half-precision bits → number (Node 20 has no Float16Array). */
export function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}
