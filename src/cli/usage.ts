/**
 * Command lines of `persist`. Parsed with node:util parseArgs: four commands with a handful of
 * flags do not justify a CLI framework dependency, and parseArgs gives strict unknown-flag errors.
 */
import { type ParseArgsConfig, parseArgs } from "node:util";

export const USAGE = `Usage: persist <command> [options]

Commands:
  show PATH [--json]                               names, kinds, shapes/dtypes, sizes, infos
  get PATH NAME [--json]                           print one item (archive export or DataSet item)
  verify PATH                                      read every item and array; list problems
  convert PATH --format npy|npz|hdf5 [--out DIR]   re-save with arrays in another format

PATH is a saved archive (entry module, package directory, module-layout .mjs) or a DataSet
directory. Archives are read with the safe loader: nothing in them is executed.

Run "persist <command> --help" for details. Exit codes: 0 ok, 1 problem found, 2 usage error.
`;

const HELP: Record<Command, string> = {
  show: `Usage: persist show PATH [--json]

Lists what PATH holds: for an archive each export's name, kind (object, array, Map, NDArray,
Float64Array, class name, ...), dtype and shape of arrays, entry counts, and the files with their
sizes; for a DataSet each item's name, kind, size on disk and info.

Options:
  --json   print one JSON object instead of a table:
           archive: {"type": "archive", "entry", "layout": "package"|"module",
             "dataFormat": "npy"|"npz"|"hdf5"|null, "defaultExport": name|null, "bytes",
             "files": [{"path", "bytes"}], "items": [{"name", "kind", "dtype"?, "shape"?,
             "entries"?, "module"?}]}
           DataSet: {"type": "dataset", "path", "bytes", "items": [{"name", "kind", "dtype"?,
             "shape"?, "entries"?, "module"?, "bytes", "info", "error"?}]} (info as get --json)
           "module" is the import specifier of an instance's class or of a function: such
           imports are never loaded; they are shown by name.
  -h, --help
`,
  get: `Usage: persist get PATH NAME [--json]

Prints export NAME of an archive, or item NAME of a DataSet.

Options:
  --json   print JSON: NDArrays and typed arrays as {"dtype", "shape", "data"} (data flat in C order;
           complex elements as [re, im]; f2 as numbers; b1 as booleans), BigInt as decimal strings,
           NaN/Infinity/-Infinity as strings, undefined as null, Map as {"$type": "Map", "entries":
           [[k, v], ...]}, Set as {"$type": "Set", "values": [...]}, Date as {"$type": "Date",
           "iso": string|null}, class instances as {"$type": ClassName, ...fields}
  -h, --help
`,
  verify: `Usage: persist verify PATH

Reads every item and every data file (npy, npz, hdf5) of an archive or DataSet. Prints a short
summary and exits 0 when all is well; lists each problem on stderr and exits 1 otherwise.

Options:
  -h, --help
`,
  convert: `Usage: persist convert PATH --format npy|npz|hdf5 [--out DIR]

Re-saves an archive or DataSet with its external arrays in another format. Arrays that were
external stay external. DataSet infos and key order are kept.

Options:
  --format F   npy (a folder of .npy files), npz (one zip) or hdf5 (one .h5 file)
  --out DIR    write the converted archive or DataSet to DIR (which must not exist yet) and leave
               PATH untouched; for a module-layout archive DIR is the folder that receives
               NAME.mjs and its data files. Without --out, PATH is replaced atomically (the
               new copy is built beside it, then swapped in with renames); other files in a
               package or DataSet folder are kept. Writers of a DataSet wait for its write
               lock until an in-place conversion is done.
  -h, --help
`,
};

export type Command = "show" | "get" | "verify" | "convert";

export const FORMATS = ["npy", "npz", "hdf5"] as const;
export type Format = (typeof FORMATS)[number];

export type Parsed =
  | { command: "help"; text: string }
  | { command: "version" }
  | { command: "show"; path: string; json: boolean }
  | { command: "get"; path: string; name: string; json: boolean }
  | { command: "verify"; path: string }
  | { command: "convert"; path: string; format: Format; out: string | undefined };

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
};

export function parseCommandLine(argv: readonly string[]): Parsed {
  const [first, ...rest] = argv;
  if (first === undefined) throw new UsageError("no command given", USAGE);
  if (first === "--help" || first === "-h" || first === "help") {
    // `persist help convert` is `persist convert --help`
    const about = first === "help" ? rest[0] : undefined;
    return { command: "help", text: about !== undefined && isCommand(about) ? HELP[about] : USAGE };
  }
  if (first === "--version" || first === "-v") return { command: "version" };
  if (!isCommand(first)) throw new UsageError(`unknown command "${first}"`, USAGE);
  const command = first;
  const usage = HELP[command];
  // Each command accepts only its own flags, so a flag of another command is a usage error.
  const options: NonNullable<ParseArgsConfig["options"]> = {
    help: { type: "boolean", short: "h" },
  };
  if (command === "show" || command === "get") options.json = { type: "boolean" };
  if (command === "convert") {
    options.format = { type: "string" };
    options.out = { type: "string" };
  }
  let values: { json?: boolean; help?: boolean; format?: string; out?: string };
  let positionals: string[];
  try {
    const parsed = parseArgs({ args: [...rest], options, allowPositionals: true, strict: true });
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
    case "show":
      return { command, path, json: values.json ?? false };
    case "get":
      return { command, path, name: positionals[1]!, json: values.json ?? false };
    case "verify":
      return { command, path };
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
