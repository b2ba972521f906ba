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

/**
 * Throws InvalidNameError unless `name` can be an archive export: a bindable identifier, and not
 * starting with `_` (reserved for the emitter's own bindings) unless explicitly allowed.
 */
export function checkArchiveName(name: unknown, allowed: ReadonlySet<string>, where: string): void {
  if (typeof name !== "string" || !isBindableName(name)) {
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
