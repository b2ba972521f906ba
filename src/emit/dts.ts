/**
 * TypeScript declarations of an archive's exports, derived from the values themselves, so an
 * archive imported from TypeScript is typed without the library.
 *
 * Exports that no `declare const` may bind (`eval`, `arguments`) or that would shadow a global the
 * declarations refer to (`typeof Math.sin`, `typeof Symbol.for`, `typeof globalThis…`) are
 * declared under a private name and exported by name, as the module does:
 * `declare const _eval: number; export { _eval as eval };`.
 */
import type { Graph } from "../graph/build.js";
import { type NDArray, typedArrayName } from "../runtime/persist-runtime.mjs";
import { EMITTED_GLOBALS } from "../values/globals.js";
import { EXPORT_ONLY_NAMES, privateBindings } from "../values/names.js";
import { propertyKey, stringLiteral } from "./literals.js";

const MAX_DEPTH = 8;
const MAX_KEYS = 200;
const MAX_UNION = 6;

class TypeWriter {
  private readonly memo = new Map<number, string>();
  private readonly inProgress = new Set<number>();

  constructor(private readonly graph: Graph) {}

  of(value: unknown, depth: number): string {
    if (value === null) return "null";
    switch (typeof value) {
      case "number":
      case "string":
      case "boolean":
      case "bigint":
      case "undefined":
      case "symbol":
        return typeof value;
    }
    const id = this.graph.ids.get(value as object);
    if (id === undefined || depth > MAX_DEPTH || this.inProgress.has(id)) return "unknown";
    const memo = this.memo.get(id);
    if (memo !== undefined) return memo;
    this.inProgress.add(id);
    const out = this.build(id, depth);
    this.inProgress.delete(id);
    this.memo.set(id, out);
    return out;
  }

  /** The union of the values' types; `unknown` when there are none or too many. */
  private union(values: Iterable<unknown>, depth: number): string {
    const types = new Set<string>();
    for (const v of values) {
      types.add(this.of(v, depth + 1));
      if (types.size > MAX_UNION) return "unknown";
    }
    if (types.size === 0) return "unknown";
    const list = [...types];
    return list.length === 1 ? list[0]! : `(${list.join(" | ")})`;
  }

  private build(id: number, depth: number): string {
    const graph = this.graph;
    const v = graph.values[id] as Record<string, unknown>;
    switch (graph.kinds[id]!) {
      case "array":
        return `${this.union(Object.values(v), depth)}[]`;
      case "object": {
        // Keys and values as the walk read them (a getter runs once per save).
        const keys = graph.objectKeys[id]!;
        const start = graph.childStart[id]!;
        const values = graph.childValues.slice(start, start + keys.length);
        if (keys.length > MAX_KEYS) return `Record<string, ${this.union(values, depth)}>`;
        if (keys.length === 0) return "{}";
        return `{ ${keys.map((k, i) => `${propertyKey(k)}: ${this.of(values[i], depth + 1)}`).join("; ")} }`;
      }
      case "map": {
        const m = v as unknown as Map<unknown, unknown>;
        return `Map<${this.union(m.keys(), depth)}, ${this.union(m.values(), depth)}>`;
      }
      case "set":
        return `Set<${this.union(v as unknown as Set<unknown>, depth)}>`;
      case "date":
        return "Date";
      case "regexp":
        return "RegExp";
      case "error":
      case "boxed":
        return Object.getPrototypeOf(v).constructor.name;
      case "typedarray":
        return typedArrayName(v) as string;
      case "arraybuffer":
        return "ArrayBuffer";
      case "url":
        return "URL";
      case "searchparams":
        return "URLSearchParams";
      case "nodebuffer":
        return "Uint8Array"; // a Buffer in Node; a Uint8Array where there is no Buffer
      case "dataview":
        return "DataView";
      case "ndarray": {
        const data = (v as unknown as NDArray).data;
        // Structural, so the archive needs no declaration file for its runtime.
        return `{ readonly data: ${typedArrayName(data)}; readonly shape: readonly number[]; readonly order: "C" | "F"; readonly dtype: string; readonly size: number }`;
      }
      case "instance": {
        const { module, exportName } = graph.instances.get(id)!.ref;
        return `import(${stringLiteral(module)}).${exportName}`;
      }
      case "import": {
        const { module, exportName } = graph.importRefs.get(id)!;
        return `typeof import(${stringLiteral(module)}).${exportName}`;
      }
      case "global":
        return `typeof ${graph.globalPaths.get(id)}`;
    }
  }
}

/** Exports declared under a private name: see the file comment. */
function needsPrivateBinding(name: string): boolean {
  return EXPORT_ONLY_NAMES.has(name) || EMITTED_GLOBALS.has(name) || name === "globalThis";
}

/** The `.d.ts` text for the exports `roots` (and `export default` for single-item archives). */
export function emitDeclarations(
  roots: readonly (readonly [string, unknown])[],
  graph: Graph,
  singleItem: boolean,
): string {
  const writer = new TypeWriter(graph);
  const locals = privateBindings(
    roots.map(([name]) => name),
    needsPrivateBinding,
  );
  const lines = ["// Types of the archive's exports, written by persist-archive."];
  for (const [name, value] of roots) {
    const type = writer.of(value, 0);
    const local = locals.get(name);
    if (local === undefined) {
      lines.push(`export declare const ${name}: ${type};`);
    } else {
      lines.push(`declare const ${local}: ${type};`, `export { ${local} as ${name} };`);
    }
  }
  if (singleItem && roots.length === 1) {
    const name = roots[0]![0];
    lines.push(`export default ${locals.get(name) ?? name};`);
  }
  return `${lines.join("\n")}\n`;
}

/** File name of a DataSet index's declarations, beside its `index.mjs`. */
export const DATASET_INDEX_DECLARATIONS_FILE = "index.d.mts";

/**
 * The `index.d.mts` text of a DataSet index, so `import { info } from "<ds>/index.mjs"` is typed.
 * Infos are whatever the writers stored, so their type is `unknown` until the caller narrows it;
 * the keys are item names. The index's layout may change (it is a journal); its export may not.
 */
export function dataSetIndexDeclarations(): string {
  return [
    "// Types of this DataSet's index (index.mjs), written by persist-archive.",
    "/** Every item's info by item name, in insertion order (null where none was given). */",
    "export declare const info: Record<string, unknown>;",
    "",
  ].join("\n");
}
