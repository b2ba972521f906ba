/**
 * Where the safe loader's `import { X as _Y } from "spec"` statements find their values: only
 * `options.modules[spec][X]`, then the register() registry, then — for the runtime file saved beside
 * archives — the library's own copy of that runtime. Nothing is ever imported from disk.
 */

import { RUNTIME_SPECIFIER } from "../emit/imports.js";
import type { ArrayReadOptions } from "../runtime/persist-runtime.mjs";
import * as runtime from "../runtime/persist-runtime.mjs";
import { findRegistered } from "../values/registry.js";
import { FORBIDDEN_FUNCTIONS } from "./globals.js";

/** The runtime file every archive with NDArrays or external arrays imports (the emitter's). */
export { RUNTIME_SPECIFIER };

export type ModuleMap = Record<string, Record<string, unknown>>;

type LoadArrays = (
  base: string,
  location: string,
  format: string,
  names: readonly string[],
  options?: ArrayReadOptions,
) => Promise<Record<string, unknown>>;

/**
 * The runtime's array loader. It lives in the runtime file (written on the `arrays` branch); read
 * it through the namespace so this compiles before that export exists.
 */
export function runtimeLoadArrays(): LoadArrays | undefined {
  const fn = (runtime as Record<string, unknown>).loadArrays;
  return typeof fn === "function" ? (fn as LoadArrays) : undefined;
}

/** What archives may import from the runtime file. */
function runtimeExport(name: string): unknown {
  if (name === "NDArray") return runtime.NDArray;
  if (name === "loadArrays") return runtimeLoadArrays();
  if (name === "NodeBuffer") return (runtime as Record<string, unknown>).NodeBuffer;
  return undefined;
}

export type Resolution = { ok: true; value: unknown } | { ok: false; why: string };

/** Resolves one named import. */
export function resolveImport(
  spec: string,
  name: string,
  modules: ModuleMap | undefined,
): Resolution {
  let value: unknown;
  let found = false;
  if (modules && Object.hasOwn(modules, spec)) {
    const ns = modules[spec];
    if (
      (typeof ns === "object" || typeof ns === "function") &&
      ns !== null &&
      Object.hasOwn(ns, name)
    ) {
      value = (ns as Record<string, unknown>)[name];
      found = true;
    }
  }
  if (!found) {
    value = findRegistered(spec, name);
    found = value !== undefined;
  }
  if (!found && spec === RUNTIME_SPECIFIER) {
    value = runtimeExport(name);
    found = value !== undefined;
  }
  if (!found) {
    return {
      ok: false,
      why:
        `cannot resolve import \`${name}\` from "${spec}": pass it in load(path, { modules: ` +
        `{ "${spec}": { ${name} } } }), register() it with { module: "${spec}" }, or load with { trusted: true }`,
    };
  }
  if (FORBIDDEN_FUNCTIONS.has(value)) {
    return {
      ok: false,
      why: `import \`${name}\` from "${spec}" resolves to a code-evaluating function`,
    };
  }
  return { ok: true, value };
}
