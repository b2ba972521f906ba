/**
 * The neutral, tagged JSON form of a value *as Python's persist_archive sees it* (README "From
 * Python", type table), the twin of python/tests/neutral.py. Interop tests compute it on both
 * sides and compare: `id`/`ref` tags make shared references and cycles part of the comparison.
 */
import { NDArray } from "../../src/index.js";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A class instance the tests archive (it has no Python factory, so Python sees an Instance). */
export interface InstanceInfo {
  module: string;
  name: string;
  factory: string | null;
  args: unknown[];
}

function num(x: number): Json {
  if (Number.isNaN(x)) return { num: "NaN" };
  if (x === Number.POSITIVE_INFINITY) return { num: "Infinity" };
  if (x === Number.NEGATIVE_INFINITY) return { num: "-Infinity" };
  if (Object.is(x, -0)) return { num: "-0" };
  return x;
}

function elem(x: number | bigint): Json {
  if (typeof x === "bigint") {
    const big = x < 0n ? -x : x;
    return big <= 2n ** 53n ? Number(x) : String(x);
  }
  return num(x);
}

/** Python's view of a Map key or Set element: which ones collide in a dict (1 == True == 1.0). */
function pythonKey(k: unknown): string | undefined {
  if (k === null) return "null";
  if (k === undefined) return "undefined";
  if (typeof k === "boolean") return `n:${k ? 1 : 0}`;
  if (typeof k === "number") return Number.isNaN(k) ? "nan" : `n:${Object.is(k, -0) ? 0 : k}`;
  if (typeof k === "bigint") return `n:${Number(k)}`;
  if (typeof k === "string") return `s:${k}`;
  if (typeof k === "symbol") return `y:${k.description}`;
  return undefined; // an object: Python keeps the pairs in a JSMap / JSSet
}

function primitiveKeys(keys: unknown[]): boolean {
  const seen = new Set<string>();
  for (const k of keys) {
    const key = pythonKey(k);
    if (key === undefined || seen.has(key)) return false;
    seen.add(key);
  }
  return true;
}

const WELL_KNOWN = new Map(
  Object.getOwnPropertyNames(Symbol)
    .filter((k) => typeof (Symbol as unknown as Record<string, unknown>)[k] === "symbol")
    .map((k) => [(Symbol as unknown as Record<string, symbol>)[k]!, k]),
);

function functionPath(fn: unknown): string {
  for (const ns of ["Math", "JSON", "Reflect", "Number", "Object", "Array", "String", "Date"]) {
    const holder = (globalThis as Record<string, unknown>)[ns] as Record<string, unknown>;
    for (const key of Object.getOwnPropertyNames(holder))
      if (holder[key] === fn) return `${ns}.${key}`;
  }
  for (const key of Object.getOwnPropertyNames(globalThis)) {
    if ((globalThis as Record<string, unknown>)[key] === fn) return key;
  }
  throw new Error("unknown function");
}

/** C-order elements of an array stored in `order`. */
function logical(
  data: ArrayLike<number | bigint>,
  shape: readonly number[],
  order: string,
  lanes: number,
): (number | bigint)[][] {
  const size = shape.reduce((a, b) => a * b, 1);
  const out: (number | bigint)[][] = [];
  const idx = new Array(shape.length).fill(0);
  for (let n = 0; n < size; n++) {
    let offset = 0;
    let stride = 1;
    const axes = order === "F" ? [...shape.keys()] : [...shape.keys()].reverse();
    for (const d of axes) {
      offset += idx[d] * stride;
      stride *= shape[d]!;
    }
    const lane: (number | bigint)[] = [];
    for (let l = 0; l < lanes; l++) lane.push(data[offset * lanes + l]!);
    out.push(lane);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]!) break;
      idx[d] = 0;
    }
  }
  return out;
}

export class Neutral {
  private readonly ids = new Map<unknown, number>();
  constructor(
    private readonly instance: (v: object) => InstanceInfo | undefined = () => undefined,
  ) {}

  of(v: unknown): Json {
    if (v === null || typeof v === "string" || typeof v === "boolean") return v;
    if (v === undefined) return { undefined: true };
    if (typeof v === "number") return num(v);
    if (typeof v === "bigint") return { bigint: String(v) };
    if (typeof v === "symbol") {
      const wk = WELL_KNOWN.get(v);
      return wk !== undefined
        ? { symbol: wk, wellKnown: true }
        : { symbol: Symbol.keyFor(v)!, wellKnown: false };
    }
    if (typeof v === "function") return { function: functionPath(v), module: null };
    const known = this.ids.get(v);
    if (known !== undefined) return { ref: known };
    const id = this.ids.size;
    this.ids.set(v, id);
    const out: Record<string, Json> = { id };
    const inst = this.instance(v as object);
    if (inst) {
      out.instance = {
        module: inst.module,
        name: inst.name,
        factory: inst.factory,
        args: inst.args.map((a) => this.of(a)),
      };
    } else if (v instanceof Map) {
      const pairs = [...v].map(([k, x]) => [this.of(k), this.of(x)] as Json);
      out[primitiveKeys([...v.keys()]) ? "dict" : "jsmap"] = pairs;
    } else if (v instanceof Set) {
      if (primitiveKeys([...v])) out.set = [...v].map((x) => canonical(this.of(x))).sort();
      else out.jsset = [...v].map((x) => this.of(x));
    } else if (Array.isArray(v)) {
      const items: Json[] = [];
      for (let i = 0; i < v.length; i++) items.push(i in v ? this.of(v[i]) : { hole: true });
      out.array = items;
    } else if (v instanceof NDArray || (ArrayBuffer.isView(v) && !(v instanceof DataView))) {
      const nd = v instanceof NDArray ? v : new NDArray(v as never, [(v as Uint8Array).length]);
      const kind = nd.dtype.slice(1);
      const lanes = kind.startsWith("c") ? 2 : 1;
      const elems = logical(nd.data as ArrayLike<number | bigint>, nd.shape, nd.order, lanes);
      const data = elems.map((e) => (lanes === 2 ? (e.map(elem) as Json) : elem(e[0]!)));
      out.ndarray = {
        dtype: kind,
        shape: [...nd.shape],
        order: nd.shape.length > 1 ? nd.order : "C",
        data,
      };
    } else if (v instanceof ArrayBuffer) {
      out.bytes = [...new Uint8Array(v)];
    } else if (v instanceof DataView) {
      out.dataview = { buffer: this.of(v.buffer), offset: v.byteOffset, length: v.byteLength };
    } else if (v instanceof Date) {
      out.date = Number.isNaN(v.getTime()) ? "NaN" : v.getTime();
    } else if (v instanceof RegExp) {
      out.regexp = [v.source, v.flags, v.lastIndex];
    } else if (v instanceof Error) {
      const err: Record<string, Json> = {
        name: v.constructor.name,
        message: v.message,
        props: Object.keys(v)
          .filter((k) => !["message", "cause", "stack", "errors"].includes(k))
          .map((k) => [k, this.of((v as unknown as Record<string, unknown>)[k])]),
      };
      if (Object.hasOwn(v, "cause")) err.cause = this.of(v.cause);
      if (v instanceof AggregateError) err.errors = v.errors.map((e) => this.of(e));
      out.error = err;
    } else if (
      v instanceof Number ||
      v instanceof String ||
      v instanceof Boolean ||
      Object.getPrototypeOf(v) === BigInt.prototype ||
      Object.getPrototypeOf(v) === Symbol.prototype
    ) {
      out.boxed = this.of((v as { valueOf(): unknown }).valueOf());
    } else {
      out.dict = Object.keys(v as object).map((k) => [
        k,
        this.of((v as Record<string, unknown>)[k]),
      ]);
    }
    return out;
  }
}

/** JSON with sorted keys and no spaces (Python: json.dumps(sort_keys=True, separators=(",", ":"))). */
export function canonical(v: Json): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  return `{${Object.keys(v)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(v[k]!)}`)
    .join(",")}}`;
}

/** The neutral form of a module's exports, in export order (like neutral_exports in Python). */
export function neutralExports(
  exports: Record<string, unknown>,
  instance?: (v: object) => InstanceInfo | undefined,
): Json {
  const n = new Neutral(instance);
  return Object.keys(exports).map((k) => [k, n.of(exports[k])]);
}
