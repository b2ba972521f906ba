/**
 * register(): make classes and functions you do not own archivable. A registered class instance is
 * archived as `new Cls(...args(v))` (or `Cls[factory](...)`); a registered function as an import.
 */
import { ArchiveError } from "../errors.js";
import { isIdentifierName } from "./names.js";

/** Any function or constructor (what {@link register} accepts besides abstract classes). */
// biome-ignore lint/suspicious/noExplicitAny: the registry stores constructors of any signature
export type AnyFunction = (...args: any[]) => unknown;

/**
 * How {@link register} archives a class's instances (`new Cls(...args(v))`, or
 * `Cls[factory](...)`) or a function (an import of `name` from `module`).
 */
export interface RegisterOptions<T = unknown> {
  /** Import specifier the archive uses (`"three"`, `"my-lib/geometry"`). */
  module: string;
  /** Export name in that module; defaults to the function's `name`. */
  name?: string;
  /** Constructor (or factory) arguments for an instance; classes only. */
  args?: (value: T) => readonly unknown[];
  /** Static factory method to call instead of `new`, e.g. `"from"`. */
  factory?: string;
}

export interface Registration {
  module: string;
  exportName: string;
  args: ((value: unknown) => readonly unknown[]) | undefined;
  factory: string | undefined;
}

const byTarget = new Map<Function, Registration>();
const byImport = new Map<string, Function>();

const importKey = (module: string, exportName: string) => `${module}\0${exportName}`;

/**
 * Registers a class or function. Instances of a registered class are archived through `args`
 * (without it, instances of the class cannot be archived, but the class itself can be, as a value).
 * Registering the same target again replaces its registration.
 */
export function register<C extends AnyFunction | (abstract new (...args: never[]) => unknown)>(
  target: C,
  options: RegisterOptions<C extends abstract new (...args: never[]) => infer I ? I : unknown>,
): void {
  if (typeof target !== "function") {
    throw new ArchiveError(`register(): expected a class or function, got ${typeof target}`);
  }
  if (typeof options?.module !== "string" || options.module === "") {
    throw new ArchiveError(
      `register(${target.name || "<anonymous>"}): options.module must be the import specifier to use, e.g. { module: "my-lib" }`,
    );
  }
  const exportName = options.name ?? target.name;
  if (!isIdentifierName(exportName)) {
    throw new ArchiveError(
      `register(): cannot import ${JSON.stringify(exportName)} by name; pass options.name with the export name`,
    );
  }
  if (options.factory !== undefined && !isIdentifierName(options.factory)) {
    throw new ArchiveError(`register(${exportName}): factory must be a method name`);
  }
  const old = byTarget.get(target);
  if (old) byImport.delete(importKey(old.module, old.exportName));
  byTarget.set(target, {
    module: options.module,
    exportName,
    args: options.args as Registration["args"],
    factory: options.factory,
  });
  byImport.set(importKey(options.module, exportName), target);
}

/** The registration of exactly this class or function, if any. */
export function registrationOf(target: Function): Registration | undefined {
  return byTarget.get(target);
}

/** True when `target` itself is registered (cheap check for the graph walk's fast paths). */
export function hasRegistration(target: Function): boolean {
  return byTarget.size > 0 && byTarget.has(target);
}

/** The class or function registered under this import, for the safe loader. */
export function findRegistered(module: string, exportName: string): unknown {
  return byImport.get(importKey(module, exportName));
}
