/**
 * The fixed allow-list of globals the safe loader resolves. Everything is captured once, when this
 * module is first evaluated, so later changes to globalThis cannot widen what archives may reach.
 */
import { ERROR_CLASSES as ARCHIVABLE_ERROR_CLASSES } from "../values/classify.js";
import { BUILTIN_GLOBAL_NAMES, EXCLUDED_GLOBALS, GLOBAL_NAMESPACES } from "../values/globals.js";

type Ctor = new (...args: unknown[]) => unknown;

/** Built-in classes an archive may construct with `new NAME(...)`, by global name. */
export const CONSTRUCTORS: ReadonlyMap<string, Ctor> = new Map(
  [
    "Map",
    "Set",
    "Date",
    "RegExp",
    "Error",
    "TypeError",
    "RangeError",
    "SyntaxError",
    "ReferenceError",
    "EvalError",
    "URIError",
    "AggregateError",
    "Number",
    "String",
    "Boolean",
    "ArrayBuffer",
    "DataView",
    "Int8Array",
    "Uint8Array",
    "Uint8ClampedArray",
    "Int16Array",
    "Uint16Array",
    "Int32Array",
    "Uint32Array",
    "Float32Array",
    "Float64Array",
    "BigInt64Array",
    "BigUint64Array",
    "URL",
    "URLSearchParams",
  ]
    .filter((name) => typeof (globalThis as Record<string, unknown>)[name] === "function")
    .map((name) => [name, (globalThis as Record<string, unknown>)[name] as Ctor]),
);

/** The same constructors as a set of values. */
export const BUILTIN_CONSTRUCTORS: ReadonlySet<unknown> = new Set(CONSTRUCTORS.values());

/** Error classes built as `new E(message, options)`; AggregateError takes its errors first. */
export const ERROR_CLASSES: ReadonlySet<unknown> = new Set(
  ARCHIVABLE_ERROR_CLASSES.filter((c) => c !== AggregateError),
);

export const TYPED_ARRAY_CLASSES: ReadonlySet<unknown> = new Set(
  [...CONSTRUCTORS.entries()].filter(([n]) => n.endsWith("Array")).map(([, c]) => c),
);

// Functions that evaluate code, and the constructors of functions: never resolvable, not even as
// values (a loaded `Function` would be one call away from running text from the archive).
const AsyncFunction = (async () => {}).constructor;
const GeneratorFunction = function* () {}.constructor;
const AsyncGeneratorFunction = async function* () {}.constructor;
export const FORBIDDEN_FUNCTIONS: ReadonlySet<unknown> = new Set([
  Function,
  // biome-ignore lint/security/noGlobalEval: listed so that it is refused; never called
  eval,
  AsyncFunction,
  GeneratorFunction,
  AsyncGeneratorFunction,
]);

// The emitter's lists (src/values/globals.ts): built-in global functions, plus the function members
// (one level) of these namespaces, captured here once at startup. Names a program added to
// globalThis are not in it.
const EXCLUDED = EXCLUDED_GLOBALS;
const NAMESPACES = GLOBAL_NAMESPACES;
const ROOT_FUNCTIONS = BUILTIN_GLOBAL_NAMES;

function ownDataValue(holder: unknown, key: string): unknown {
  if ((typeof holder !== "object" && typeof holder !== "function") || holder === null)
    return undefined;
  const desc = Object.getOwnPropertyDescriptor(holder, key);
  return desc && "value" in desc ? desc.value : undefined;
}

/** Global path (`Math.sin`, `Float64Array`) → built-in function. */
const FUNCTION_PATHS = new Map<string, Function>();
for (const name of ROOT_FUNCTIONS) {
  const value = ownDataValue(globalThis, name);
  if (typeof value === "function" && !EXCLUDED.has(name)) FUNCTION_PATHS.set(name, value);
}
for (const ns of NAMESPACES) {
  const holder = ownDataValue(globalThis, ns);
  if (holder === undefined) continue;
  for (const key of Object.getOwnPropertyNames(holder)) {
    const value = ownDataValue(holder, key);
    if (typeof value === "function" && !EXCLUDED.has(key) && !FORBIDDEN_FUNCTIONS.has(value)) {
      FUNCTION_PATHS.set(`${ns}.${key}`, value);
    }
  }
}

/** Names that start a global path an archive may mention. */
export const GLOBAL_ROOTS: ReadonlySet<string> = new Set([...ROOT_FUNCTIONS, ...NAMESPACES]);

/** The built-in function a dotted global path names, if it is on the allow-list. */
export function globalFunction(path: string): Function | undefined {
  return FUNCTION_PATHS.get(path);
}

/**
 * Built-in objects and functions: everything reachable from globalThis, when this module is first
 * evaluated, through own data properties, prototypes and `.prototype` (a few levels deep; getters
 * are never run). Static-member lookup on an imported class stops at these, and never returns one,
 * so `_Vec.getPrototypeOf` (with `class Vec extends Object`), `_Vec.defineProperty`, or an own
 * static that is `Reflect.set` cannot hand an archive a built-in that mutates shared objects.
 */
export const INTRINSICS: ReadonlySet<unknown> = collectIntrinsics();

function collectIntrinsics(): Set<unknown> {
  const seen = new Set<unknown>();
  let level: unknown[] = [globalThis];
  for (let depth = 0; depth < 5 && level.length > 0; depth++) {
    const next: unknown[] = [];
    const add = (v: unknown) => {
      if ((typeof v === "object" || typeof v === "function") && v !== null && !seen.has(v)) {
        seen.add(v);
        next.push(v);
      }
    };
    for (const holder of level) {
      add(Object.getPrototypeOf(holder));
      for (const key of Reflect.ownKeys(holder as object)) {
        let desc: PropertyDescriptor | undefined;
        try {
          desc = Object.getOwnPropertyDescriptor(holder, key);
        } catch {
          continue; // exotic objects (module namespaces in TDZ, proxies)
        }
        if (!desc) continue;
        if ("value" in desc) add(desc.value);
        else {
          add(desc.get);
          add(desc.set);
        }
      }
    }
    level = next;
  }
  for (const fn of FORBIDDEN_FUNCTIONS) seen.add(fn);
  return seen;
}

const functionToString = Function.prototype.toString;

/** A function implemented natively (a built-in, a host function, or a bound function). */
export function isNativeFunction(fn: unknown): boolean {
  if (typeof fn !== "function") return false;
  try {
    return functionToString.call(fn).endsWith("{ [native code] }");
  } catch {
    return true; // a revoked proxy, ...: treat as unknown, i.e. not the user's class
  }
}

/** Well-known symbols by name (`iterator` → Symbol.iterator). */
export const WELL_KNOWN_SYMBOLS: ReadonlyMap<string, symbol> = new Map(
  Object.getOwnPropertyNames(Symbol)
    .map((key) => [key, ownDataValue(Symbol, key)] as const)
    .filter((e): e is readonly [string, symbol] => typeof e[1] === "symbol"),
);

/** Names no binding may take: they would shadow values the language reads as literals or globals. */
export const UNBINDABLE: ReadonlySet<string> = new Set([
  "undefined",
  "NaN",
  "Infinity",
  "eval",
  "arguments",
  ...GLOBAL_ROOTS,
]);

// Intrinsics captured now, called with .call() so a patched prototype cannot redirect them.
export const mapSet = Map.prototype.set;
export const setAdd = Set.prototype.add;
export const typedArrayBuffer = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Uint8Array.prototype),
  "buffer",
)!.get as (this: unknown) => ArrayBuffer;
export const isView = ArrayBuffer.isView;
export const symbolFor = Symbol.for;
export const reflectConstruct = Reflect.construct;
export const reflectApply = Reflect.apply;
export const defineProperty = Object.defineProperty;
