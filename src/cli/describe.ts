/**
 * A one-line summary of a value for `persist show`: its kind (object, array, Map, NDArray,
 * Float64Array, a class name, ...), and for arrays the numpy dtype and shape, for containers the
 * number of entries.
 */
import { inspect } from "node:util";
import { isTypedArray, NDArray } from "../runtime/persist-runtime.mjs";
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
  if (isTypedArray(value)) {
    const array = new NDArray(value, [value.length]);
    return { kind: value.constructor.name, dtype: array.dtype, shape: [value.length] };
  }
  if (Array.isArray(value)) return { kind: "array", entries: value.length };
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

function className(value: object): string {
  const ctor = (value as { constructor?: unknown }).constructor;
  return typeof ctor === "function" && ctor.name ? ctor.name : "object";
}

/** Summary as table text: "NDArray <i4 [4, 6]", "object 6 entries". */
export function summaryText(summary: Summary): string {
  const parts = [summary.kind];
  if (summary.dtype !== undefined) parts.push(summary.dtype);
  if (summary.shape !== undefined) parts.push(`[${summary.shape.join(", ")}]`);
  if (summary.module !== undefined) parts.push(`from "${summary.module}"`);
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
