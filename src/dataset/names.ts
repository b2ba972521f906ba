/** Which names a DataSet item may have: they become file names and `info["name"]` keys. */
import { InvalidNameError } from "../errors.js";
import { RESERVED_WORDS } from "../values/names.js";

// Words that cannot be bound by `export const` in a strict-mode module, plus globals the archive
// language uses, which an item name must not shadow.
const RESERVED = RESERVED_WORDS;

/** File names the DataSet itself uses (compared case-insensitively: macOS/Windows file systems). */
const RESERVED_FILES = new Set(["index", "package", "node_modules"]);

// ASCII only: the name is also a file name (Archive.save accepts ASCII names only, and file systems
// normalize Unicode differently).
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** Throws InvalidNameError unless `name` can name a DataSet item. */
export function checkItemName(name: unknown, dataset: string): asserts name is string {
  const why = problemWith(name);
  if (why === undefined) return;
  throw new InvalidNameError(
    `DataSet ${dataset}: ${JSON.stringify(name)} cannot name an item: ${why}. Use a JavaScript ` +
      'identifier that is not a reserved word and does not start with "_" (e.g. "run1", "x_7").',
    { valuePath: typeof name === "string" ? name : undefined },
  );
}

function problemWith(name: unknown): string | undefined {
  if (typeof name !== "string") return "it is not a string";
  if (name.length === 0) return "it is empty";
  if (name.includes("/") || name.includes("\\") || name.includes("..") || name.includes("\0")) {
    return "it contains a path separator, '..' or NUL";
  }
  if (!IDENTIFIER.test(name)) return "it is not an ASCII JavaScript identifier";
  if (name.startsWith("_")) return 'names starting with "_" are reserved for archive internals';
  if (RESERVED.has(name)) return "it is a reserved word";
  if (RESERVED_FILES.has(name.toLowerCase())) return "that file name is used by the DataSet itself";
  if (name.length > 200) return "it is too long for a file name";
  return undefined;
}
