/**
 * What kind of archivable thing an object is. Built-ins are recognised by their exact prototype, so
 * a subclass (`class Row extends Array`) is never silently archived as its base class: it needs the
 * protocol (`[persist.rep]` + `persist.module`, or `register()`).
 */
import { NDArray, typedArrayClass, typedArrayName } from "../runtime/persist-runtime.mjs";
import { isDetached } from "./buffers.js";
import { globalFunctionPaths } from "./globals.js";
import { type Registration, registrationOf } from "./registry.js";
import { persist } from "./symbols.js";

export type ObjectKind =
  | "array"
  | "object"
  | "map"
  | "set"
  | "date"
  | "regexp"
  | "error"
  | "boxed"
  | "arraybuffer"
  | "typedarray"
  | "dataview"
  | "ndarray"
  | "url"
  | "searchparams"
  | "nodebuffer"
  | "instance"
  | "import"
  | "global";

/** How to rebuild a class instance or reference a function by import. */
export interface ImportRef {
  module: string;
  exportName: string;
}

export type Classified =
  | { kind: Exclude<ObjectKind, "instance" | "import" | "global"> }
  | { kind: "instance"; ref: ImportRef; factory: string | undefined; args: readonly unknown[] }
  | { kind: "import"; ref: ImportRef }
  | { kind: "global"; path: string }
  | { kind: "unsupported"; what: string; fix: string };

/** The built-in Error classes an archive can rebuild, by exact prototype. */
export const ERROR_CLASSES: readonly Function[] = [
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
  AggregateError,
];

const ERROR_PROTOS = new Set<object>(ERROR_CLASSES.map((c) => c.prototype));

const BOXED_PROTOS = new Set<object>([
  Number.prototype,
  String.prototype,
  Boolean.prototype,
  BigInt.prototype,
  Symbol.prototype,
]);

const FIX_CLASS =
  'give the class `static [persist.module] = "<import specifier>"` and a `[persist.rep]()` method returning its constructor arguments, or call register(Cls, { module, args })';

function moduleOf(fn: Function): string | undefined {
  const m = (fn as unknown as Record<symbol, unknown>)[persist.module];
  return typeof m === "string" && m !== "" ? m : undefined;
}

/** `a Model`, `an Object from another realm`: the value's real class, for messages. */
function describe(value: object): string {
  let name: string | undefined;
  try {
    const ctor = (value as { constructor?: unknown }).constructor;
    if (typeof ctor === "function" && ctor.name) name = ctor.name;
  } catch {
    // a throwing `constructor` getter: fall through to the tag
  }
  name ??= /^\[object (.+)\]$/.exec(Object.prototype.toString.call(value))?.[1];
  if (!name || name === "Object") {
    const proto = Object.getPrototypeOf(value) as object | null;
    if (proto !== Object.prototype && proto !== null) return "an object with a custom prototype";
  }
  const article = /^[AEIOU]/i.test(name ?? "") ? "an" : "a";
  return `${article} ${name}`;
}

const NodeBuffer = (globalThis as { Buffer?: { prototype: object } }).Buffer;

/**
 * Plain objects and arrays made in another realm (`vm.runInNewContext("({ a: 1 })")`, an iframe)
 * have that realm's Object.prototype / Array.prototype: recognised by shape, archived as plain.
 */
function foreignKind(value: object, proto: object): "object" | "array" | undefined {
  if (Object.getPrototypeOf(proto) !== null) return undefined;
  if (Array.isArray(value)) return undefined; // arrays: Array.prototype is not a root prototype
  const ctor = Object.getOwnPropertyDescriptor(proto, "constructor")?.value as
    | { name?: unknown; prototype?: unknown }
    | undefined;
  if (typeof ctor !== "function" || ctor.name !== "Object" || ctor.prototype !== proto) {
    return undefined;
  }
  return Object.prototype.toString.call(value) === "[object Object]" ? "object" : undefined;
}

function foreignArray(value: object, proto: object): boolean {
  // Another realm's Array.prototype is itself an array whose prototype is that realm's root.
  return Array.isArray(value) && Array.isArray(proto) && proto !== Array.prototype;
}

function classifyFunction(fn: Function): Classified {
  const reg = registrationOf(fn);
  if (reg) return { kind: "import", ref: { module: reg.module, exportName: reg.exportName } };
  const path = globalFunctionPaths().get(fn);
  if (path) return { kind: "global", path };
  const module = moduleOf(fn);
  if (module !== undefined && Object.hasOwn(fn, persist.module) && fn.name) {
    return { kind: "import", ref: { module, exportName: fn.name } };
  }
  const name = fn.name ? `function ${fn.name}` : "an anonymous function";
  return {
    kind: "unsupported",
    what: `${name} (closures and unregistered functions cannot be archived)`,
    fix: `export it from a module and call register(${fn.name || "fn"}, { module: "<import specifier>" }), or give it static [persist.module]`,
  };
}

function classifyInstance(value: object, reg: Registration | undefined): Classified | undefined {
  const ctor = (value as { constructor?: unknown }).constructor;
  if (reg) {
    if (!reg.args) {
      return {
        kind: "unsupported",
        what: `${describe(value)} (registered without args)`,
        fix: `pass args to register(${reg.exportName}, { module: "${reg.module}", args: (v) => [...] })`,
      };
    }
    return {
      kind: "instance",
      ref: { module: reg.module, exportName: reg.exportName },
      factory: reg.factory,
      args: reg.args(value),
    };
  }
  const rep = (value as Record<symbol, unknown>)[persist.rep];
  if (typeof rep !== "function" || typeof ctor !== "function") return undefined;
  const module = moduleOf(ctor);
  if (module === undefined || !ctor.name) {
    return {
      kind: "unsupported",
      what: `${describe(value)} has [persist.rep]() but its class names no module`,
      fix: `add \`static [persist.module] = "<import specifier>"\` to class ${ctor.name || "<anonymous>"}, or call register(${ctor.name || "Cls"}, { module })`,
    };
  }
  const out = rep.call(value) as unknown;
  if (Array.isArray(out)) {
    return {
      kind: "instance",
      ref: { module, exportName: ctor.name },
      factory: undefined,
      args: out,
    };
  }
  if (out && typeof out === "object" && Array.isArray((out as { args?: unknown }).args)) {
    const { args, factory } = out as { args: unknown[]; factory?: unknown };
    return {
      kind: "instance",
      ref: { module, exportName: ctor.name },
      factory: typeof factory === "string" ? factory : undefined,
      args,
    };
  }
  return {
    kind: "unsupported",
    what: `${describe(value)}: [persist.rep]() returned neither an argument array nor { args, factory }`,
    fix: "return the constructor arguments as an array",
  };
}

/**
 * Objects with a plain prototype that are not plain: the namespace objects (Math, JSON, Reflect,
 * Atomics, Intl, console, a module namespace), `arguments`, and arrays whose prototype was set to
 * null. Archived as plain objects they would come back as `{}` or lose their array-ness, silently.
 */
function exoticPlain(value: object): Classified | undefined {
  if (Array.isArray(value)) {
    return {
      kind: "unsupported",
      what: "an array with a null prototype",
      fix: "archive a plain copy, e.g. Array.from(value)",
    };
  }
  const tag = Object.prototype.toString.call(value);
  if (tag === "[object Object]") return undefined;
  const name = tag.slice(8, -1);
  if (name === "Arguments") {
    return {
      kind: "unsupported",
      what: "an arguments object",
      fix: "archive Array.from(arguments), or the parameters by name",
    };
  }
  if (name === "Module") {
    return {
      kind: "unsupported",
      what: "a module namespace object",
      fix: "archive a plain copy of the exports you need, e.g. { ...namespace }",
    };
  }
  return {
    kind: "unsupported",
    what: `the built-in ${name} object`,
    fix: `archive the values you need from it; built-in functions such as ${name}.${name === "JSON" ? "parse" : "max"} are archived by name`,
  };
}

/** Classifies a non-null object or function. */
export function classify(value: object): Classified {
  if (typeof value === "function") return classifyFunction(value);
  const proto = Object.getPrototypeOf(value) as object | null;
  const ctor = proto === null ? undefined : (value as { constructor?: unknown }).constructor;
  const reg = typeof ctor === "function" ? registrationOf(ctor) : undefined;
  if (reg) return classifyInstance(value, reg)!;
  if (proto === Object.prototype || proto === null) return exoticPlain(value) ?? { kind: "object" };
  if (proto === Array.prototype) return { kind: "array" };
  // A real TypedArray (by its internal type, as the emitter names it) of exactly its class.
  const typedName = typedArrayName(value);
  if (typedName !== undefined && proto === typedArrayClass(typedName).prototype) {
    return { kind: "typedarray" };
  }
  if (value instanceof NDArray) return { kind: "ndarray" };
  if (proto === Map.prototype) return { kind: "map" };
  if (proto === Set.prototype) return { kind: "set" };
  if (proto === Date.prototype) return { kind: "date" };
  if (proto === RegExp.prototype) return { kind: "regexp" };
  if (ERROR_PROTOS.has(proto)) {
    const message = Object.getOwnPropertyDescriptor(value, "message");
    if (message && (!("value" in message) || typeof message.value !== "string")) {
      return {
        kind: "unsupported",
        what: `${describe(value)} whose message is ${"value" in message ? `a ${typeof message.value}` : "an accessor"}, not a string (the constructor would turn it into one)`,
        fix: "give the error a string message; keep other data in an extra field, e.g. Object.assign(new Error(msg), { code: 42 })",
      };
    }
    return { kind: "error" };
  }
  if (BOXED_PROTOS.has(proto)) {
    if (proto === Symbol.prototype) {
      const sym = Symbol.prototype.valueOf.call(value);
      if (symbolName(sym) === undefined) {
        return {
          kind: "unsupported",
          what: `a boxed symbol that is neither registered nor well-known (Object(${String(sym)}))`,
          fix: "box a Symbol.for(key) instead, so the archive can name it",
        };
      }
    }
    return { kind: "boxed" };
  }
  if (NodeBuffer !== undefined && proto === NodeBuffer.prototype) return { kind: "nodebuffer" };
  if (typeof URL === "function" && proto === URL.prototype) return { kind: "url" };
  if (typeof URLSearchParams === "function" && proto === URLSearchParams.prototype) {
    return { kind: "searchparams" };
  }
  if (proto !== null && foreignArray(value, proto)) return { kind: "array" };
  if (proto !== null) {
    const foreign = foreignKind(value, proto);
    if (foreign) return { kind: foreign };
  }
  if (proto === ArrayBuffer.prototype) {
    if (isDetached(value as ArrayBuffer)) {
      return {
        kind: "unsupported",
        what: "a detached ArrayBuffer (its memory was transferred away)",
        fix: "archive the buffer it was transferred to, or a copy made before the transfer",
      };
    }
    return { kind: "arraybuffer" };
  }
  if (proto === DataView.prototype) return { kind: "dataview" };
  const viaProtocol = classifyInstance(value, undefined);
  if (viaProtocol) return viaProtocol;
  if (value instanceof WeakMap || value instanceof WeakSet || value instanceof WeakRef) {
    return {
      kind: "unsupported",
      what: `${describe(value)} (weak collections cannot be enumerated)`,
      fix: "archive a Map or Set with the same contents instead",
    };
  }
  if (value instanceof Promise) {
    return {
      kind: "unsupported",
      what: "a Promise",
      fix: "await it and archive the result",
    };
  }
  if (typeof SharedArrayBuffer !== "undefined" && value instanceof SharedArrayBuffer) {
    return {
      kind: "unsupported",
      what: "a SharedArrayBuffer (memory shared between threads; an archive could only hold a copy, which would silently stop being shared)",
      fix: "archive a copy on purpose, e.g. new Uint8Array(sab).slice().buffer",
    };
  }
  const what = describe(value);
  const global = (globalThis as Record<string, unknown>)[what.replace(/^an? /, "")];
  if (typeof global === "function" && (global as { prototype?: unknown }).prototype !== proto) {
    return {
      kind: "unsupported",
      what: `${what} from another realm (a vm context or frame)`,
      fix: "only plain objects and arrays are recognised across realms; rebuild it in this realm (e.g. new Map(foreignMap))",
    };
  }
  return { kind: "unsupported", what, fix: FIX_CLASS };
}

/** How the archive can name a symbol: registered (`Symbol.for(key)`) or well-known (`Symbol.iterator`). */
export function symbolName(
  sym: symbol,
): { registered: string } | { wellKnown: string } | undefined {
  const key = Symbol.keyFor(sym);
  if (key !== undefined) return { registered: key };
  const name = WELL_KNOWN.get(sym);
  return name === undefined ? undefined : { wellKnown: name };
}

const WELL_KNOWN = new Map<symbol, string>(
  Object.getOwnPropertyNames(Symbol)
    .filter((k) => typeof (Symbol as unknown as Record<string, unknown>)[k] === "symbol")
    .map((k) => [(Symbol as unknown as Record<string, symbol>)[k]!, k]),
);
