/**
 * Built-in functions reachable from globalThis (`Math.sin`, `Float64Array`, `parseFloat`) are
 * archived by name without registration. The table is built once, from the built-ins only: names
 * a program added to globalThis, and code-executing functions, are left out.
 */

// Never archived by name: evaluating code through them is what the safe loader must not allow.
export const EXCLUDED_GLOBALS: ReadonlySet<string> = new Set([
  "Function",
  "eval",
  "globalThis",
  "WebAssembly",
  "process",
  "require",
]);

// Namespaces whose function members are looked up too (one level deep).
export const GLOBAL_NAMESPACES: readonly string[] = [
  "Math",
  "JSON",
  "Reflect",
  "Atomics",
  "Number",
  "Object",
  "Array",
  "String",
  "Symbol",
  "Date",
  "Promise",
  "BigInt",
  "ArrayBuffer",
  "Intl",
  "Proxy",
];

let table: Map<Function, string> | undefined;

/** ECMAScript built-ins only: the standard globals present in every realm we run in. */
export const BUILTIN_GLOBAL_NAMES: readonly string[] = [
  "Array",
  "ArrayBuffer",
  "BigInt",
  "BigInt64Array",
  "BigUint64Array",
  "Boolean",
  "DataView",
  "Date",
  "Error",
  "EvalError",
  "Float32Array",
  "Float64Array",
  "Int16Array",
  "Int32Array",
  "Int8Array",
  "Map",
  "Number",
  "Object",
  "Promise",
  "RangeError",
  "ReferenceError",
  "RegExp",
  "Set",
  "String",
  "Symbol",
  "SyntaxError",
  "TypeError",
  "URIError",
  "Uint16Array",
  "Uint32Array",
  "Uint8Array",
  "Uint8ClampedArray",
  "WeakMap",
  "WeakSet",
  "AggregateError",
  "decodeURI",
  "decodeURIComponent",
  "encodeURI",
  "encodeURIComponent",
  "isFinite",
  "isNaN",
  "parseFloat",
  "parseInt",
  "escape",
  "unescape",
];

/**
 * Every global an emitted module may mention (as a callee, a value or the head of a dotted path).
 * An export with one of these names would shadow it for the whole module, so the emitter binds
 * such an export privately and exports it by name (`export { _Map as Map };`).
 */
export const EMITTED_GLOBALS: ReadonlySet<string> = new Set([
  ...BUILTIN_GLOBAL_NAMES,
  ...GLOBAL_NAMESPACES,
  "URL",
  "URLSearchParams",
]);

/** Map from a built-in function to its global path, e.g. Math.sin → "Math.sin". */
export function globalFunctionPaths(): Map<Function, string> {
  if (table) return table;
  table = new Map();
  const g = globalThis as Record<string, unknown>;
  for (const name of BUILTIN_GLOBAL_NAMES) {
    const value = g[name];
    if (typeof value === "function" && !EXCLUDED_GLOBALS.has(name) && !table.has(value)) {
      table.set(value, name);
    }
  }
  for (const ns of GLOBAL_NAMESPACES) {
    const holder = g[ns];
    if (holder === undefined || holder === null) continue;
    for (const key of Object.getOwnPropertyNames(holder).sort()) {
      const desc = Object.getOwnPropertyDescriptor(holder, key);
      const value = desc && "value" in desc ? desc.value : undefined;
      if (typeof value === "function" && !EXCLUDED_GLOBALS.has(key) && !table.has(value)) {
        table.set(value, `${ns}.${key}`);
      }
    }
  }
  return table;
}
