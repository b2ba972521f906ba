/**
 * Archives may import the classes and functions of other packages (`new _Point(1, 2)` with
 * `import { Point as _Point } from "geometry-lib"`). The CLI never imports them (that would run
 * their code) and nothing is register()ed in its process, so it loads archives with *stand-ins*:
 * for every imported name a placeholder class of the same name that records its constructor (or
 * factory) arguments. Then `show` reports the class name, `get` prints the arguments, `verify`
 * checks everything else, and `convert` writes the same `new Point(1, 2)` / `Day.from(...)` /
 * function import back (the stand-ins carry `persist.module` and `persist.rep`).
 */
import { dirname, join } from "node:path";
import { inspect } from "node:util";
import type { DataSet } from "../dataset/dataset.js";
import { LazyLoadError, NotFoundError } from "../errors.js";
import { listImports, load, MAX_MODULE_BYTES, RUNTIME_SPECIFIER } from "../load/index.js";
import { readConfinedText } from "../store/confined.js";
import { persist } from "../values/symbols.js";

const STAND_IN = Symbol("persist-cli.stand-in");

/** What a stand-in instance was made from. */
export interface StandInCall {
  module: string;
  name: string;
  factory: string | undefined;
  args: unknown[];
}

/** The call a stand-in instance records, or undefined for any other value. */
export function standInCall(value: unknown): StandInCall | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  return (value as { [STAND_IN]?: StandInCall })[STAND_IN];
}

/**
 * Item `key` of a DataSet, loaded with stand-ins. A missing item (or one being replaced right now)
 * is left to DataSet.get, which waits out a concurrent replace and names a missing item.
 */
export async function readDataSetItem(
  ds: DataSet,
  key: string,
  options: StandInLoadOptions = {},
): Promise<unknown> {
  if (await ds.has(key)) {
    try {
      return (await loadWithStandIns(join(ds.path, `${key}.mjs`), options)).default;
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
    }
  }
  return ds.get(key, options.lazy ? { lazy: true } : {}).catch((error: unknown) => {
    if (options.lazy && error instanceof LazyLoadError) return ds.get(key);
    throw error;
  });
}

/** Options of {@link loadWithStandIns} and {@link readDataSetItem}. */
export interface StandInLoadOptions {
  /**
   * External arrays as LazyArrays (load's `lazy` option): headers only, data read on demand
   * (what `show` and the viewer need). An archive whose arrays cannot all be read lazily
   * (LazyLoadError) is loaded whole instead.
   */
  lazy?: boolean;
}

/** The module a stand-in class or function came from, or undefined for any other value. */
export function standInModule(value: unknown): string | undefined {
  if (typeof value !== "function") return undefined;
  return (value as unknown as { [STAND_IN]?: string })[STAND_IN];
}

/**
 * `load(entry)` with stand-ins for every import of the module other than the runtime.
 * Safe: the module is interpreted, never executed, and nothing is imported.
 */
export async function loadWithStandIns(
  entry: string,
  options: StandInLoadOptions = {},
): Promise<Record<string, unknown>> {
  // Confined like load() itself: a FIFO, a device or a symlink out of the folder is refused
  // before any blocking read.
  const text = await readConfinedText(entry, {
    root: dirname(entry),
    what: "archive module",
    maxBytes: MAX_MODULE_BYTES,
  });
  const modules: Record<string, Record<string, unknown>> = {};
  for (const [spec, names] of importsOf(text)) {
    const namespace: Record<string, unknown> = {};
    for (const name of names) namespace[name] = makeStandIn(spec, name);
    modules[spec] = namespace;
  }
  if (!options.lazy) return load(entry, { modules });
  return load(entry, { modules, lazy: true }).catch((error: unknown) => {
    if (error instanceof LazyLoadError) return load(entry, { modules });
    throw error;
  });
}

const NAME = /^[A-Za-z_$][\w$]*$/;

/**
 * Import specifier → imported names, for every import statement in `text`. Uses the loader's
 * tokenizer (one linear pass; a regular expression here was quadratic on hostile text). It only
 * decides which stand-ins exist; the loader still checks every statement.
 */
export function importsOf(text: string): Map<string, Set<string>> {
  const out = listImports(text);
  out.delete(RUNTIME_SPECIFIER);
  return out;
}

const NOT_FACTORIES = new Set(["constructor", "prototype", "__proto__", "call", "apply", "bind"]);

/** A class named `name` whose instances record their arguments; any static method is a factory. */
function makeStandIn(module: string, name: string): Function {
  const record = (target: object, factory: string | undefined, args: unknown[]) => {
    const call: StandInCall = { module, name, factory, args };
    Object.defineProperty(target, STAND_IN, { value: call });
  };
  const Class = {
    [name]: class {
      constructor(...args: unknown[]) {
        record(this, undefined, args);
      }
    },
  }[name]!;
  Object.defineProperty(Class, persist.module, { value: module });
  Object.defineProperty(Class, STAND_IN, { value: module });
  Object.defineProperty(Class.prototype, persist.rep, {
    value(this: object) {
      const call = standInCall(this)!;
      return call.factory ? { args: call.args, factory: call.factory } : call.args;
    },
  });
  Object.defineProperty(Class.prototype, inspect.custom, {
    value(this: object, _depth: number, options: object) {
      const call = standInCall(this)!;
      const args = call.args.map((a) => inspect(a, options)).join(", ");
      const callee = call.factory ? `${name}.${call.factory}` : `new ${name}`;
      return `${callee}(${args}) /* from "${module}" */`;
    },
  });
  // Static methods are made on demand: the loader looks factories up as own properties.
  return new Proxy(Class, {
    getOwnPropertyDescriptor(target, key) {
      if (
        typeof key === "string" &&
        NAME.test(key) &&
        !NOT_FACTORIES.has(key) &&
        !Object.hasOwn(target, key)
      ) {
        const factory = (...args: unknown[]) => {
          const instance = Object.create(Class.prototype) as object;
          record(instance, key, args);
          return instance;
        };
        Object.defineProperty(target, key, { value: factory, configurable: true, writable: true });
      }
      return Reflect.getOwnPropertyDescriptor(target, key);
    },
  });
}
