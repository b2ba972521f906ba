/**
 * Command lines of `persist`. Parsed with node:util parseArgs: four commands with a handful of
 * flags do not justify a CLI framework dependency, and parseArgs gives strict unknown-flag errors.
 */
import { type ParseArgsConfig, parseArgs } from "node:util";
import { compileSort, compileWhere, ExpressionError } from "./where.js";

export const USAGE = `Usage: persist <command> [options]

Commands:
  show PATH [--where EXPR] [--sort FIELD] [--limit N] [--json]
                                                   names, kinds, shapes/dtypes, sizes, infos
  get PATH NAME [--json]                           print one item (archive export or DataSet item)
  verify PATH [--json]                             read every item and array; list problems
  convert PATH --format npy|npz|hdf5 [--out DIR]   re-save with arrays in another format
  view PATH [--port N] [--host H] [--no-open]      browse an archive or DataSet in a web browser

PATH is a saved archive (entry module, package directory, module-layout .mjs) or a DataSet
directory. Archives are read with the safe loader: nothing in them is executed.

Run "persist <command> --help" for details. Exit codes: 0 ok, 1 problem found, 2 usage error.
`;

const HELP: Record<Command, string> = {
  show: `Usage: persist show PATH [--where EXPR] [--sort FIELD] [--limit N] [--json]

Lists what PATH holds: for an archive each export's name, kind (object, array, Map, NDArray,
Float64Array, class name, ...), dtype and shape of arrays, entry counts, the arrays nested inside
exports (results.field NDArray <f8 [3, 4096]), and the files with their sizes; for a DataSet each
item's name, kind, size on disk and info. Only headers of external arrays are read.

Options:
  --where EXPR   DataSet only: keep the items whose info matches EXPR, e.g.
                 'omega > 1 && k < 5', 'tag == "first" || !(ok)', 'params.n >= 3'.
                 Comparisons == != < <= > >=, && || ! and parentheses over numbers, "strings"
                 (or 'strings'), true, false, null and field paths into the info (a.b.c,
                 a["odd key"], a[0]); "info" alone is the whole info. A missing field is
                 undefined: every comparison with it is false. Nothing is evaluated as code.
  --sort FIELD   DataSet only: order items by that info field (a path as in --where; prefix
                 "-" for descending); items without it come last
  --limit N      DataSet only: show at most N items (after --where and --sort)
  --json         print one JSON object instead of a table:
           archive: {"type": "archive", "entry", "layout": "package"|"module",
             "dataFormat": "npy"|"npz"|"hdf5"|null, "defaultExport": name|null, "bytes",
             "files": [{"path", "bytes"}], "items": [{"name", "kind", "dtype"?, "shape"?,
             "entries"?, "module"?}], "arrays": [{"path", "kind", "dtype", "shape"}]}
           DataSet: {"type": "dataset", "path", "bytes", "count", "items": [{"name", "kind",
             "dtype"?, "shape"?, "entries"?, "module"?, "bytes", "info", "error"?}]}
             (info as get --json; "count" is the number of items before --where/--limit)
           "module" is the import specifier of an instance's class or of a function: such
           imports are never loaded; they are shown by name.
  -h, --help
`,
  get: `Usage: persist get PATH NAME [--json]

Prints export NAME of an archive, or item NAME of a DataSet.

Options:
  --json   print JSON, streamed as it is read (arrays of any size, nesting of any depth):
           NDArrays and typed arrays as {"dtype", "shape", "data"}: data flat in C order, one
             line per row of the last axis (rows over 1024 elements wrap); complex elements as
             [re, im]; f2 as numbers; b1 as booleans; i8/u8 as decimal strings
           BigInt as decimal strings; NaN/Infinity/-Infinity as strings; undefined as null
           arrays with holes as {"$type": "SparseArray", "length": n, "entries": [[index,
             value], ...]}: only the elements present, so output is proportional to them
           Map as {"$type": "Map", "entries": [[k, v], ...]}, Set as {"$type": "Set",
             "values": [...]}, Date as {"$type": "Date", "iso": string|null}, RegExp as
             {"$type": "RegExp", "source", "flags"}, errors as {"$type": name, "message",
             "cause"?}, class instances as {"$type": ClassName, ...fields}; instances of
             imported classes as {"$type", "$module", "$factory"?, "$args": [...]}
           {"$cycle": "PATH"} where a value refers back to a value that encloses it (a cycle):
             PATH names that enclosing value from NAME, e.g. {"$cycle": "cfg.parent"};
             shared values that are not cycles are written out at each place
  -h, --help
`,
  verify: `Usage: persist verify PATH [--json]

Reads every item and every data file (npy, npz, hdf5) of an archive or DataSet, and checks that
modules are complete (not truncated). Prints a short summary and exits 0 when all is well; lists
each problem on stderr and exits 1 otherwise. On a terminal a progress bar counts the bytes read.

Options:
  --json   print {"ok": bool, "type": "archive"|"dataset", "path", "summary",
           "problems": [string, ...]} on stdout (exit code as without --json)
  -h, --help
`,
  convert: `Usage: persist convert PATH --format npy|npz|hdf5 [--out DIR]

Re-saves an archive or DataSet with its external arrays in another format. Arrays that were
external stay external. DataSet infos and key order are kept.

Options:
  --format F   npy (a folder of .npy files), npz (one zip) or hdf5 (one .h5 file)
  --out DIR    write the converted archive or DataSet to DIR (which must not exist yet, or be
               an empty directory: an existing DIR is a usage error, exit 2) and leave PATH
               untouched; for a module-layout archive DIR is the folder that receives
               NAME.mjs and its data files. Without --out, PATH is replaced atomically (the
               new copy is built beside it, then swapped in with renames); other files in a
               package or DataSet folder are kept. Writers of a DataSet wait for its write
               lock until an in-place conversion is done.
  -h, --help
`,
  view: `Usage: persist view PATH [--port N] [--host 127.0.0.1] [--no-open]

Serves a read-only web viewer of an archive or DataSet and prints its URL (which carries an
access token: requests without it are refused). A DataSet shows as a table of items with their
infos (sortable, filterable, updated live while others insert); items and archives as a tree
with plots of their arrays. Runs until Ctrl-C. Archives are read with the safe loader.

Options:
  --port N     port to listen on (default: any free port)
  --host H     address to bind (default 127.0.0.1; only the machine itself can connect)
  --no-open    do not try to open a web browser
  -h, --help
`,
};

export type Command = "show" | "get" | "verify" | "convert" | "view";

export const FORMATS = ["npy", "npz", "hdf5"] as const;
export type Format = (typeof FORMATS)[number];

export type Parsed =
  | { command: "help"; text: string }
  | { command: "version" }
  | { command: "show"; path: string; json: boolean; select: Selection }
  | { command: "get"; path: string; name: string; json: boolean }
  | { command: "verify"; path: string; json: boolean }
  | { command: "convert"; path: string; format: Format; out: string | undefined }
  | { command: "view"; path: string; port: number; host: string; open: boolean };

/** `show --where/--sort/--limit` (DataSets). */
export interface Selection {
  where: string | undefined;
  sort: string | undefined;
  limit: number | undefined;
}

/** A command line that does not parse: printed with the usage, exit code 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
    this.name = "UsageError";
  }
}

const POSITIONALS: Record<Command, string[]> = {
  show: ["PATH"],
  get: ["PATH", "NAME"],
  verify: ["PATH"],
  convert: ["PATH"],
  view: ["PATH"],
};

type Options = NonNullable<ParseArgsConfig["options"]>;

/** The flags each command accepts (each only its own, so another command's flag is an error). */
function optionsOf(command: Command): Options {
  const options: Options = { help: { type: "boolean", short: "h" } };
  switch (command) {
    case "show":
      options.json = { type: "boolean" };
      options.where = { type: "string" };
      options.sort = { type: "string" };
      options.limit = { type: "string" };
      break;
    case "get":
    case "verify":
      options.json = { type: "boolean" };
      break;
    case "convert":
      options.format = { type: "string" };
      options.out = { type: "string" };
      break;
    case "view":
      options.port = { type: "string" };
      options.host = { type: "string" };
      options["no-open"] = { type: "boolean" };
      break;
  }
  return options;
}

export function parseCommandLine(argv: readonly string[]): Parsed {
  const [first, ...rest] = argv;
  if (first === undefined) throw new UsageError("no command given", USAGE);
  if (first === "--help" || first === "-h" || first === "help") {
    // `persist help convert` is `persist convert --help`
    const about = first === "help" ? rest[0] : undefined;
    return { command: "help", text: about !== undefined && isCommand(about) ? HELP[about] : USAGE };
  }
  if (first === "--version" || first === "-v") return { command: "version" };
  if (!isCommand(first)) {
    throw new UsageError(
      `unknown command "${first}"${didYouMean(first, Object.keys(POSITIONALS))}`,
      USAGE,
    );
  }
  const command = first;
  const usage = HELP[command];
  const options = optionsOf(command);
  checkFlagNames(rest, options, usage);
  const args = joinDescending(rest);
  let values: {
    json?: boolean;
    help?: boolean;
    format?: string;
    out?: string;
    where?: string;
    sort?: string;
    limit?: string;
    port?: string;
    host?: string;
    "no-open"?: boolean;
  };
  let positionals: string[];
  try {
    const parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
    values = parsed.values as typeof values;
    positionals = parsed.positionals;
  } catch (error) {
    throw new UsageError((error as Error).message, usage);
  }
  if (values.help) return { command: "help", text: usage };
  const wanted = POSITIONALS[command];
  if (positionals.length !== wanted.length) {
    const missing = positionals.length < wanted.length;
    throw new UsageError(
      missing
        ? `missing ${wanted.slice(positionals.length).join(" ")}`
        : `unexpected argument "${positionals[wanted.length]}"`,
      usage,
    );
  }
  const path = positionals[0]!;
  if (path === "") throw new UsageError("PATH is empty", usage);
  switch (command) {
    case "show": {
      let limit: number | undefined;
      if (values.limit !== undefined) {
        if (!/^\d+$/.test(values.limit)) {
          throw new UsageError(`--limit must be a whole number, not "${values.limit}"`, usage);
        }
        limit = Number(values.limit);
      }
      for (const flag of ["where", "sort"] as const) {
        const text = values[flag];
        if (text === undefined) continue;
        if (text.trim() === "") throw new UsageError(`--${flag} is empty`, usage);
        try {
          if (flag === "where") compileWhere(text);
          else compileSort(text);
        } catch (error) {
          if (!(error instanceof ExpressionError)) throw error;
          throw new UsageError(`--${flag}: ${error.message}`, usage);
        }
      }
      return {
        command,
        path,
        json: values.json ?? false,
        select: { where: values.where, sort: values.sort, limit },
      };
    }
    case "get":
      return { command, path, name: positionals[1]!, json: values.json ?? false };
    case "verify":
      return { command, path, json: values.json ?? false };
    case "view": {
      let port = 0;
      if (values.port !== undefined) {
        port = Number(values.port);
        if (!/^\d+$/.test(values.port) || port > 65535) {
          throw new UsageError(`--port must be a port number 0-65535, not "${values.port}"`, usage);
        }
      }
      const host = values.host ?? "127.0.0.1";
      if (host === "") throw new UsageError("--host is empty", usage);
      return { command, path, port, host, open: !values["no-open"] };
    }
    case "convert": {
      const format = values.format;
      if (format === undefined) throw new UsageError("--format is required", usage);
      if (!isFormat(format)) {
        throw new UsageError(`--format must be npy, npz or hdf5, not "${format}"`, usage);
      }
      if (values.out === "") throw new UsageError("--out is empty", usage);
      return { command, path, format, out: values.out };
    }
  }
}

function isCommand(word: string): word is Command {
  return Object.hasOwn(POSITIONALS, word);
}

function isFormat(word: string): word is Format {
  return (FORMATS as readonly string[]).includes(word);
}

/** `--sort -field` (descending) as `--sort=-field`: parseArgs would take "-field" for a flag. */
function joinDescending(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const next = args[i + 1];
    if (args[i] === "--sort" && next !== undefined && /^-[A-Za-z_$]/.test(next)) {
      out.push(`--sort=${next}`);
      i++;
    } else {
      out.push(args[i]!);
    }
  }
  return out;
}

/**
 * Unknown flags are reported before parseArgs sees them, with the closest known flag
 * ("--jsn" → "did you mean --json?"). Flags after "--" are positionals.
 */
function checkFlagNames(args: readonly string[], options: Options, usage: string): void {
  const known = Object.keys(options);
  for (const arg of args) {
    if (arg === "--") return;
    if (!arg.startsWith("--")) continue;
    const name = arg.slice(2).split("=")[0]!;
    if (Object.hasOwn(options, name)) continue;
    const hint = didYouMean(name, known);
    throw new UsageError(`unknown option "--${name}"${hint.replace('"', '"--')}`, usage);
  }
}

/** `; did you mean "X"?` for the candidate closest to `word` (edit distance ≤ 2, or a word it
 * starts), else "". */
export function didYouMean(word: string, candidates: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  best ??= candidates.find((c) => word.length >= 2 && c.startsWith(word.toLowerCase()));
  return best === undefined ? "" : `; did you mean "${best}"?`;
}

/** Levenshtein distance, with a bound on the word length so a huge argument costs nothing. */
function editDistance(a: string, b: string): number {
  if (a.length > 64 || b.length > 64) return Number.POSITIVE_INFINITY;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}
