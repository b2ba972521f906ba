/**
 * `load(path, { trusted: true })`: evaluate the archive as real code, fresh on every call.
 *
 * Why a resolve hook (module.register) and not source rewriting: the archive must keep its real
 * file URL, so `import.meta.url` (used by loadArrays), relative imports and bare package imports
 * all resolve exactly as Node resolves them from the archive's folder. A rewritten copy would need
 * a data: URL (which cannot resolve relative or bare specifiers) or a temp file beside the archive
 * (a write into the user's folder). The hook only touches imports whose parent URL carries our
 * `persist-load=<id>` query:
 *  - specifiers listed in options.modules are redirected to a tiny data: module that re-exports the
 *    given namespace (looked up by id on globalThis, so live objects never cross threads);
 *  - relative file imports get the same query, so sibling modules (the runtime file, item modules)
 *    are re-read on every call too, instead of coming stale from the module cache.
 * The cost: every load leaves its modules in Node's module cache (ESM has no eviction).
 */
import * as nodeModule from "node:module";
import { pathToFileURL } from "node:url";
import { ArchiveError } from "../errors.js";
import type { ModuleMap } from "./resolve.js";

const OVERRIDES_KEY = Symbol.for("persist-archive.trusted-modules");

// Runs in Node's hooks thread; only sees strings.
const HOOKS = `
export async function resolve(specifier, context, next) {
  const parent = context.parentURL;
  const at = parent ? parent.indexOf("persist-load=") : -1;
  if (at < 0) return next(specifier, context);
  const query = new URL(parent).searchParams;
  const id = query.get("persist-load");
  const overrides = JSON.parse(query.get("persist-modules") || "{}");
  if (Object.hasOwn(overrides, specifier)) {
    const names = overrides[specifier];
    let src = "const m = globalThis[Symbol.for('persist-archive.trusted-modules')].get(" +
      JSON.stringify(id) + ")[" + JSON.stringify(specifier) + "];\\n";
    names.forEach((name, i) => { src += "const _" + i + " = m[" + JSON.stringify(name) + "];\\n"; });
    src += "export { " + names.map((name, i) => "_" + i + " as " + JSON.stringify(name)).join(", ") + " };\\n";
    return { url: "data:text/javascript," + encodeURIComponent(src), shortCircuit: true };
  }
  const result = await next(specifier, context);
  if ((specifier.startsWith("./") || specifier.startsWith("../")) && result.url.startsWith("file:") &&
      !result.url.includes("/node_modules/")) {
    const url = new URL(result.url);
    url.searchParams.set("persist-load", id);
    return { ...result, url: url.href };
  }
  return result;
}
`;

let hooksRegistered = false;
let counter = 0;

function registerHooks(): boolean {
  if (hooksRegistered) return true;
  const register = (nodeModule as { register?: (specifier: string) => void }).register;
  if (typeof register !== "function") return false;
  register(`data:text/javascript,${encodeURIComponent(HOOKS)}`);
  hooksRegistered = true;
  return true;
}

function overrideTable(): Map<string, ModuleMap> {
  const g = globalThis as unknown as Record<symbol, Map<string, ModuleMap> | undefined>;
  let table = g[OVERRIDES_KEY];
  if (!table) {
    table = new Map();
    Object.defineProperty(globalThis, OVERRIDES_KEY, { value: table });
  }
  return table;
}

/** Imports `file` as code, fresh, with `modules` taking precedence for its own imports. */
export async function importTrusted(
  file: string,
  modules: ModuleMap | undefined,
): Promise<Record<string, unknown>> {
  const id = `${process.pid}-${Date.now()}-${++counter}`;
  const url = new URL(pathToFileURL(file).href);
  url.searchParams.set("persist-load", id);
  const specs = modules ? Object.keys(modules) : [];
  const hooks = registerHooks();
  if (specs.length > 0) {
    if (!hooks) {
      throw new ArchiveError(
        `load(${JSON.stringify(file)}, { trusted: true, modules }) needs module.register() (Node >= 20.6)`,
        { file },
      );
    }
    const names: Record<string, string[]> = {};
    for (const spec of specs) names[spec] = Object.keys(modules![spec] ?? {});
    url.searchParams.set("persist-modules", JSON.stringify(names));
    overrideTable().set(id, modules!);
  }
  let ns: Record<string, unknown>;
  try {
    ns = (await import(url.href)) as Record<string, unknown>;
  } catch (error) {
    if (error instanceof ArchiveError) throw error;
    const why = error instanceof Error ? error.message : String(error);
    throw new ArchiveError(`importing ${file} (trusted) failed: ${why}`, { file, cause: error });
  } finally {
    overrideTable().delete(id);
  }
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(ns)) {
    Object.defineProperty(out, key, {
      value: ns[key],
      writable: true,
      enumerable: true,
      configurable: true,
    });
  }
  return out;
}
