/**
 * The import statements of a module: one per specifier, in first-use order, each export under a
 * `_Name` alias that clashes with no inserted name (`_Name_1` if it would).
 */
import type { ImportRef } from "../values/classify.js";
import { stringLiteral } from "./literals.js";

/** The runtime saved beside archives that hold NDArrays or external arrays. */
export const RUNTIME_SPECIFIER = "./_persist_runtime.v1.mjs";

export class ImportTable {
  private readonly modules = new Map<string, Map<string, string>>();
  private arrays: string | undefined;

  constructor(private readonly used: Set<string>) {}

  /** Local name for an import of `ref`, allocated on first use. */
  alias(ref: ImportRef): string {
    let names = this.modules.get(ref.module);
    if (!names) {
      names = new Map();
      this.modules.set(ref.module, names);
    }
    let local = names.get(ref.exportName);
    if (local === undefined) {
      local = this.fresh(`_${ref.exportName}`);
      names.set(ref.exportName, local);
    }
    return local;
  }

  /** Local name of a runtime export (`NDArray`, `loadArrays`). */
  runtime(exportName: "NDArray" | "loadArrays" | "NodeBuffer"): string {
    return this.alias({ module: RUNTIME_SPECIFIER, exportName });
  }

  /** The binding that holds the loaded external arrays. */
  arraysBinding(): string {
    this.arrays ??= this.fresh("_arrays");
    return this.arrays;
  }

  /** Whether anything is imported from `specifier`. */
  importsFrom(specifier: string): boolean {
    return this.modules.has(specifier);
  }

  statements(): string[] {
    const out: string[] = [];
    for (const [module, names] of this.modules) {
      const specs = [...names].map(([exp, local]) => (exp === local ? exp : `${exp} as ${local}`));
      out.push(`import { ${specs.join(", ")} } from ${stringLiteral(module)};`);
    }
    return out;
  }

  private fresh(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }
}
