/** Identifier rules shared by archive names, DataSet names and the emitter. */
import { InvalidNameError } from "../errors.js";

// Reserved words and names that cannot be bound by `export const` in a module (strict mode).
export const RESERVED_WORDS: ReadonlySet<string> = new Set(
  (
    "break case catch class const continue debugger default delete do else enum export extends " +
    "false finally for function if import in instanceof new null return super switch this throw " +
    "true try typeof var void while with yield let static implements interface package private " +
    "protected public await arguments eval undefined NaN Infinity"
  ).split(" "),
);

/**
 * Identifiers a module cannot bind with `const` but an archive can still export, through a private
 * binding (`const _eval = 1; export { _eval as eval };`): the strict-mode restricted names and the
 * three global constants the archive language writes as literals.
 */
export const EXPORT_ONLY_NAMES: ReadonlySet<string> = new Set([
  "arguments",
  "eval",
  "undefined",
  "NaN",
  "Infinity",
]);

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const UNICODE_IDENTIFIER = /^[\p{ID_Start}_$][\p{ID_Continue}$\u200c\u200d]*$/u;

/** True for an IdentifierName (reserved words included): usable after `.` or as a bare key. */
export function isIdentifierName(name: unknown): name is string {
  return typeof name === "string" && (IDENTIFIER.test(name) || UNICODE_IDENTIFIER.test(name));
}

/** True for a name that `export const name = …` can bind. */
export function isBindableName(name: string): boolean {
  return isIdentifierName(name) && !RESERVED_WORDS.has(name);
}

/** True for a name an archive can export: any identifier except the reserved words. */
export function isArchiveName(name: string): boolean {
  return isIdentifierName(name) && (!RESERVED_WORDS.has(name) || EXPORT_ONLY_NAMES.has(name));
}

/**
 * Throws InvalidNameError unless `name` can be an archive export: an identifier that is not a
 * reserved word (global names such as `Map`, `undefined` or `eval` are fine), and not
 * starting with `_` (reserved for the emitter's own bindings) unless explicitly allowed.
 */
export function checkArchiveName(name: unknown, allowed: ReadonlySet<string>, where: string): void {
  if (typeof name !== "string" || !isArchiveName(name)) {
    throw new InvalidNameError(
      `${where}: ${JSON.stringify(name)} is not a valid name; names must be JavaScript identifiers that are not reserved words (e.g. "run1", "results")`,
      { valuePath: typeof name === "string" ? name : undefined },
    );
  }
  if (name.startsWith("_") && !allowed.has(name)) {
    throw new InvalidNameError(
      `${where}: ${JSON.stringify(name)} starts with "_", which is reserved for the archive's own bindings; rename it or pass allowedNames: [${JSON.stringify(name)}]`,
      { valuePath: name },
    );
  }
}

/**
 * Private bindings for the exports that need one (`Map` → `_Map`, `eval` → `_eval`), so that a
 * module or declaration file can write `const _Map = …; export { _Map as Map };`. A private name
 * never collides with another export: it gets a `_1`, `_2` … suffix while it would.
 */
export function privateBindings(
  exportNames: readonly string[],
  needsOne: (name: string) => boolean,
): Map<string, string> {
  const taken = new Set(exportNames);
  const locals = new Map<string, string>();
  for (const name of exportNames) {
    if (!needsOne(name)) continue;
    let local = `_${name}`;
    for (let i = 1; taken.has(local); i++) local = `_${name}_${i}`;
    taken.add(local);
    locals.set(name, local);
  }
  return locals;
}
