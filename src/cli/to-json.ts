/**
 * `persist get --json`: any archived value as plain JSON. The mapping (also in `get --help`):
 * - NDArray / TypedArray → { "dtype", "shape", "data" }: data flat in C order (Fortran-order arrays
 *   are reordered), complex elements as [re, im], f2 as numbers, b1 as booleans, i8/u8 as strings;
 * - BigInt → decimal string; NaN, Infinity, -Infinity → those strings; -0 → 0; undefined and array
 *   holes → null;
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
 */
import { isTypedArray, NDArray, parseDescr, reorder } from "../runtime/persist-runtime.mjs";
import { standInCall, standInModule } from "./stand-ins.js";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export function toJson(value: unknown, path = "value"): Json {
  return new JsonConverter().convert(value, path);
}

class JsonConverter {
  /** Objects being converted (the current path from the root), for cycle detection. */
  private readonly open = new Map<object, string>();

  convert(value: unknown, path: string): Json {
    switch (typeof value) {
      case "undefined":
        return null;
      case "boolean":
      case "string":
        return value;
      case "number":
        return numberJson(value);
      case "bigint":
        return value.toString();
      case "symbol":
        return { $type: "Symbol", description: value.description ?? null };
      case "function": {
        const module = standInModule(value);
        return module === undefined
          ? { $type: "function", name: value.name }
          : { $type: "function", name: value.name, module };
      }
    }
    if (value === null) return null;
    const object = value as object;
    const seen = this.open.get(object);
    if (seen !== undefined) return { $cycle: seen };
    this.open.set(object, path);
    try {
      return this.convertObject(object, path);
    } finally {
      this.open.delete(object);
    }
  }

  private convertObject(value: object, path: string): Json {
    const call = standInCall(value);
    if (call) {
      const out: { [key: string]: Json } = { $type: call.name, $module: call.module };
      if (call.factory !== undefined) out.$factory = call.factory;
      out.$args = call.args.map((a, i) => this.convert(a, `${path}.args[${i}]`));
      return out;
    }
    if (value instanceof NDArray) return arrayJson(value);
    if (isTypedArray(value)) return arrayJson(new NDArray(value, [value.length]));
    if (Array.isArray(value)) {
      const out: Json[] = [];
      for (let i = 0; i < value.length; i++) out.push(this.convert(value[i], `${path}[${i}]`));
      return out;
    }
    if (value instanceof Map) {
      const entries: Json[] = [];
      let i = 0;
      for (const [k, v] of value) {
        entries.push([this.convert(k, `${path}.keys[${i}]`), this.convert(v, `${path}.get(${i})`)]);
        i++;
      }
      return { $type: "Map", entries };
    }
    if (value instanceof Set) {
      return {
        $type: "Set",
        values: [...value].map((v, i) => this.convert(v, `${path}.values[${i}]`)),
      };
    }
    if (value instanceof Date) {
      return { $type: "Date", iso: Number.isNaN(value.getTime()) ? null : value.toISOString() };
    }
    if (value instanceof RegExp)
      return { $type: "RegExp", source: value.source, flags: value.flags };
    if (value instanceof Error) {
      const out: { [key: string]: Json } = { $type: value.name, message: value.message };
      if ("cause" in value) out.cause = this.convert(value.cause, `${path}.cause`);
      return out;
    }
    if (value instanceof ArrayBuffer)
      return { $type: "ArrayBuffer", data: [...new Uint8Array(value)] };
    if (value instanceof DataView) {
      return {
        $type: "DataView",
        data: [...new Uint8Array(value.buffer, value.byteOffset, value.byteLength)],
      };
    }
    for (const Box of [Number, String, Boolean, BigInt, Symbol] as const) {
      if (value instanceof Box)
        return { $type: Box.name, value: this.convert(value.valueOf(), path) };
    }
    const proto = Object.getPrototypeOf(value);
    // A null-prototype object: a key "__proto__" stays an ordinary key when assigned to it.
    const out: { [key: string]: Json } = Object.create(null);
    if (proto !== Object.prototype && proto !== null) {
      const ctor = (value as { constructor?: unknown }).constructor;
      out.$type = typeof ctor === "function" && ctor.name ? ctor.name : "object";
    }
    for (const key of Object.keys(value)) {
      out[key] = this.convert(
        (value as Record<string, unknown>)[key],
        `${path}${propertyPath(key)}`,
      );
    }
    return out;
  }
}

function propertyPath(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

function numberJson(n: number): Json {
  if (Number.isFinite(n)) return n === 0 ? 0 : n;
  return Number.isNaN(n) ? "NaN" : n > 0 ? "Infinity" : "-Infinity";
}

/** { dtype, shape, data } with data flat in C order. */
export function arrayJson(array: NDArray): Json {
  const parsed = parseDescr(array.dtype);
  const lanes = parsed?.info.lanes ?? 1;
  const kind = parsed?.info.kind ?? "";
  const source = array.order === "F" ? reorder(array.data, array.shape, lanes, false) : array.data;
  const data: Json[] = new Array(array.size);
  for (let i = 0; i < array.size; i++) {
    if (lanes === 2) {
      data[i] = [numberJson(Number(source[2 * i])), numberJson(Number(source[2 * i + 1]))];
      continue;
    }
    const x = source[i]!;
    if (typeof x === "bigint") data[i] = x.toString();
    else if (kind === "b1") data[i] = x !== 0;
    else if (kind === "f2") data[i] = numberJson(halfToNumber(x));
    else data[i] = numberJson(x);
  }
  return { dtype: array.dtype, shape: [...array.shape], data };
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
