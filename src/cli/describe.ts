/**
 * A one-line summary of a value for `persist show`: its kind (object, array, Map, NDArray,
 * Float64Array, a class name, ...), and for arrays the numpy dtype and shape, for containers the
 * number of entries.
 */
import { inspect } from "node:util";
import { LazyArray } from "../arrays/lazy.js";
import { isTypedArray, NDArray, parseDescr } from "../runtime/persist-runtime.mjs";
import { isRowSource } from "./json-stream.js";
import { standInCall, standInModule } from "./stand-ins.js";

export interface Summary {
  kind: string;
  dtype?: string;
  shape?: number[];
  /** Import specifier of a class instance or function the archive imports. */
  module?: string;
  /** Elements of an array, keys of an object, entries of a Map or Set; bytes of an ArrayBuffer. */
  entries?: number;
}

export function summarize(value: unknown): Summary {
  if (value === null) return { kind: "null" };
  if (typeof value !== "object" && typeof value !== "function") return { kind: typeof value };
  const call = standInCall(value);
  if (call) return { kind: call.name, module: call.module };
  const module = standInModule(value);
  if (module !== undefined) return { kind: "function", module };
  if (typeof value === "function") {
    const isClass = /^class\b/.test(Function.prototype.toString.call(value));
    return { kind: isClass ? "class" : "function" };
  }
  if (value instanceof NDArray) {
    return { kind: "NDArray", dtype: value.dtype, shape: [...value.shape] };
  }
  if (value instanceof LazyArray) {
    // An external array known from its header: shown as what a full load would give.
    if (value.loadsAs === "ArrayBuffer" || value.loadsAs === "DataView") {
      return { kind: value.loadsAs, entries: value.size };
    }
    if (value.loadsAs === "NDArray") {
      return { kind: "NDArray", dtype: value.dtype, shape: [...value.shape] };
    }
    // A typed array: its own class's dtype, and as many elements as its bytes hold.
    const Ctor = (globalThis as unknown as Record<string, Uint8ArrayConstructor>)[value.loadsAs]!;
    const bytes = value.size * (parseDescr(value.dtype)?.info.itemsize ?? 1);
    const sample = new NDArray(new Ctor(0), [0]);
    return { kind: value.loadsAs, dtype: sample.dtype, shape: [bytes / Ctor.BYTES_PER_ELEMENT] };
  }
  if (isRowSource(value)) {
    // an external array read lazily: header only
    return { kind: "NDArray", dtype: value.dtype, shape: [...value.shape] };
  }
  if (isTypedArray(value)) {
    const array = new NDArray(value, [value.length]);
    return { kind: value.constructor.name, dtype: array.dtype, shape: [value.length] };
  }
  // entries of an array are its elements present (a sparse array's length can be 2³²-1)
  if (Array.isArray(value)) return { kind: "array", entries: presentElements(value) };
  if (value instanceof Map || value instanceof Set) {
    return {
      kind:
        value.constructor === Map || value.constructor === Set
          ? value.constructor.name
          : className(value),
      entries: value.size,
    };
  }
  if (value instanceof ArrayBuffer) return { kind: "ArrayBuffer", entries: value.byteLength };
  if (value instanceof DataView) return { kind: "DataView", entries: value.byteLength };
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) {
    return { kind: "object", entries: Object.keys(value).length };
  }
  return { kind: className(value) };
}

function presentElements(array: readonly unknown[]): number {
  if (array.length <= 1 << 16) {
    let n = 0;
    for (let i = 0; i < array.length; i++) if (i in array) n++;
    return n;
  }
  let n = 0;
  for (const key of Object.keys(array)) if (/^(?:0|[1-9]\d*)$/.test(key)) n++;
  return n;
}

function className(value: object): string {
  const ctor = (value as { constructor?: unknown }).constructor;
  return typeof ctor === "function" && ctor.name ? ctor.name : "object";
}

/** Summary as table text: "NDArray <i4 [4, 6]", "object 6 entries". */
export function summaryText(summary: Summary): string {
  const parts = [summary.kind];
  if (summary.dtype !== undefined) parts.push(summary.dtype);
  if (summary.shape !== undefined) parts.push(`[${summary.shape.join(", ")}]`);
  if (summary.module !== undefined) parts.push(`from ${JSON.stringify(summary.module)}`);
  if (summary.entries !== undefined) {
    parts.push(
      `${summary.entries} ${summary.kind === "ArrayBuffer" || summary.kind === "DataView" ? "bytes" : summary.entries === 1 ? "entry" : "entries"}`,
    );
  }
  return parts.join(" ");
}

/** A short one-line rendering (for infos in tables). */
export function shortText(value: unknown, width = 60): string {
  const text = inspect(value, {
    depth: 2,
    breakLength: Number.POSITIVE_INFINITY,
    maxArrayLength: 8,
  });
  return text.length > width ? `${text.slice(0, width - 1)}…` : text;
}

/** An array found inside an export or item, with where it sits. */
export interface NestedArray {
  path: string;
  kind: string;
  dtype: string;
  shape: number[];
}

/** At most this many values are visited to find nested arrays (show stays fast on huge graphs). */
const VISIT_LIMIT = 100_000;

/**
 * The arrays (NDArray, typed arrays, lazily read arrays) nested inside `value`, below its top
 * level, in depth-first order, each with its path from `name` (`results.field`, `runs[2]`,
 * `m.get("k")`). Shared and cyclic values are visited once; the walk keeps its own stack.
 */
export function nestedArrays(value: unknown, name: string, limit = 1000): NestedArray[] {
  const out: NestedArray[] = [];
  const seen = new Set<object>();
  const stack: [unknown, string][] = [];
  const children = (v: object, path: string): [unknown, string][] => {
    const list: [unknown, string][] = [];
    if (standInCall(v)) {
      for (const [i, a] of standInCall(v)!.args.entries()) list.push([a, `${path}.args[${i}]`]);
    } else if (v instanceof Map) {
      let i = 0;
      for (const [k, x] of v) {
        const key = typeof k === "string" || typeof k === "number" ? JSON.stringify(k) : `#${i}`;
        list.push([x, `${path}.get(${key})`]);
        i++;
      }
    } else if (v instanceof Set) {
      let i = 0;
      for (const x of v) list.push([x, `${path}.values[${i++}]`]);
    } else if (Array.isArray(v)) {
      for (const key of Object.keys(v)) list.push([v[Number(key)], `${path}[${key}]`]);
    } else if (!isArrayLike(v)) {
      for (const key of Object.keys(v)) {
        const step = /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
        list.push([(v as Record<string, unknown>)[key], `${path}${step}`]);
      }
    }
    return list;
  };
  if (typeof value !== "object" || value === null || isArrayLike(value)) return out;
  seen.add(value);
  stack.push(...children(value, name).reverse());
  let visited = 0;
  while (stack.length > 0 && out.length < limit && visited++ < VISIT_LIMIT) {
    const [v, path] = stack.pop()!;
    if (typeof v !== "object" || v === null || seen.has(v)) continue;
    seen.add(v);
    if (isArrayLike(v)) {
      const s = summarize(v);
      out.push({ path, kind: s.kind, dtype: s.dtype ?? "", shape: s.shape ?? [] });
      continue;
    }
    const list = children(v, path);
    for (let i = list.length - 1; i >= 0; i--) stack.push(list[i]!);
  }
  return out;
}

function isArrayLike(value: object): boolean {
  return value instanceof NDArray || isTypedArray(value) || isRowSource(value);
}
