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
 *
 * With `lazy` (the `persist-lazy` query, carried to relative imports like `persist-load`), the
 * runtime file's `loadArrays` is replaced by one that opens LazyArrays, and a load hook puts one
 * import in front of the module's first line (line numbers unchanged) that shadows the typed
 * array constructors, DataView and NDArray with Proxies: they build the same LazyArray views the
 * safe interpreter builds (arrays/lazy-forms.ts) when given a stand-in, and are the real
 * constructors otherwise (statics, prototype and instanceof included).
 */
import * as nodeModule from "node:module";
import { pathToFileURL } from "node:url";
import { openArraysLazily } from "../arrays/lazy.js";
import { hasLazyArgument, lazyConstruct, lazyNDArray } from "../arrays/lazy-forms.js";
import { ArchiveError } from "../errors.js";
import type { ArrayReadOptions } from "../runtime/persist-runtime.mjs";
import * as runtime from "../runtime/persist-runtime.mjs";
import { type ModuleMap, RUNTIME_SPECIFIER } from "./resolve.js";

const OVERRIDES_KEY = Symbol.for("persist-archive.trusted-modules");
const SHADOWS_KEY = Symbol.for("persist-archive.lazy-shadows");
/** Globals a lazy trusted load shadows in each module it imports. */
const SHADOWED = [...Object.keys(runtime.DEFAULT_KIND), "DataView"];

// Runs in Node's hooks thread; only sees strings.
const HOOKS = `
const SHADOWED = ${JSON.stringify(SHADOWED)};
export async function resolve(specifier, context, next) {
  const parent = context.parentURL;
  const at = parent ? parent.indexOf("persist-load=") : -1;
  if (at < 0) return next(specifier, context);
  const query = new URL(parent).searchParams;
  const id = query.get("persist-load");
  const lazy = query.get("persist-lazy");
  if (lazy && specifier === "persist-lazy:shadows") {
    let src = "const m = globalThis[Symbol.for('persist-archive.lazy-shadows')];\\n";
    SHADOWED.forEach((name) => { src += "export const " + name + " = m." + name + ";\\n"; });
    return { url: "data:text/javascript," + encodeURIComponent(src), shortCircuit: true };
  }
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
    if (lazy) url.searchParams.set("persist-lazy", lazy);
    return { ...result, url: url.href };
  }
  return result;
}

export async function load(url, context, next) {
  const result = await next(url, context);
  if (!url.startsWith("file:") || !url.includes("persist-lazy=") || result.format !== "module") {
    return result;
  }
  if (!new URL(url).searchParams.get("persist-lazy")) return result;
  const text = typeof result.source === "string" ? result.source : new TextDecoder().decode(result.source);
  const shadow = "import { " + SHADOWED.join(", ") + ' } from "persist-lazy:shadows"; ';
  // On the first line (after a hashbang): every line keeps its number.
  const at = text.startsWith("#!") ? text.indexOf("\\n") + 1 : 0;
  const source = at === 0 && text.startsWith("#!") ? text : text.slice(0, at) + shadow + text.slice(at);
  return { ...result, source };
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

/** The Proxies a lazy trusted load shadows typed array constructors and NDArray with. */
function installShadows(): void {
  const g = globalThis as unknown as Record<symbol, unknown>;
  if (g[SHADOWS_KEY]) return;
  const shadows: Record<string, unknown> = Object.create(null);
  for (const name of SHADOWED) {
    const Real = (globalThis as unknown as Record<string, new (...a: unknown[]) => object>)[name]!;
    shadows[name] = new Proxy(Real, {
      construct: (target, args, newTarget) =>
        hasLazyArgument(args)
          ? lazyConstruct(name, args)
          : Reflect.construct(target, args, newTarget),
    });
  }
  Object.defineProperty(globalThis, SHADOWS_KEY, { value: Object.freeze(shadows) });
}

const lazyNDArrayClass = new Proxy(runtime.NDArray, {
  construct: (target, args, newTarget) =>
    hasLazyArgument(args) ? lazyNDArray(args) : Reflect.construct(target, args, newTarget),
});

/** How a trusted lazy load reads data: the expansion bound, and where files come from. */
export interface TrustedLazyOptions {
  maxExpansion?: number | undefined;
  /** Opens the data files instead of the file system (an S3 archive's objects, s3-archive.ts). */
  open?: ArrayReadOptions["open"];
}

/** The runtime file as a lazy load sees it: LazyArrays from loadArrays, lazy NDArray views. */
function lazyRuntime(options: TrustedLazyOptions): Record<string, unknown> {
  const out: Record<string, unknown> = { ...runtime };
  out.NDArray = lazyNDArrayClass;
  out.loadArrays = (
    moduleUrl: string,
    location: string,
    format: string,
    names: readonly string[],
  ) => {
    // The module's own URL carries our query; the arrays lie beside its file all the same.
    const url = new URL(moduleUrl);
    url.search = "";
    const opts: ArrayReadOptions = {
      ...(options.maxExpansion === undefined ? {} : { maxExpansion: options.maxExpansion }),
      ...(options.open === undefined ? {} : { open: options.open }),
    };
    return openArraysLazily(url.href, location, format, names, opts);
  };
  return out;
}

/** Imports `file` as code, fresh, with `modules` taking precedence for its own imports. */
export async function importTrusted(
  file: string,
  modules: ModuleMap | undefined,
  lazy?: TrustedLazyOptions,
): Promise<Record<string, unknown>> {
  const id = `${process.pid}-${Date.now()}-${++counter}`;
  const url = new URL(pathToFileURL(file).href);
  url.searchParams.set("persist-load", id);
  if (lazy) {
    installShadows();
    url.searchParams.set("persist-lazy", "1");
    modules = { ...modules, [RUNTIME_SPECIFIER]: lazyRuntime(lazy) };
  }
  const specs = modules ? Object.keys(modules) : [];
  const hooks = registerHooks();
  if (specs.length > 0 || lazy) {
    if (!hooks) {
      throw new ArchiveError(
        `load(${JSON.stringify(file)}, { trusted: true, ${lazy ? "lazy" : "modules"} }) needs module.register() (Node >= 20.6)`,
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
