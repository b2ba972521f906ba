/**
 * Archive: insert named values, get an ES module back (`toString()`), or save it as an importable
 * package or module with its arrays in npy / npz / HDF5 files beside it.
 */
import { mkdir, readFile, rm, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { writeArrayFiles } from "./arrays/containers.js";
import { emitDeclarations } from "./emit/dts.js";
import { type ArraysPlacement, emitModule } from "./emit/module.js";
import { ArchiveError, DuplicateError, UnsupportedValueError } from "./errors.js";
import { buildGraph, type Graph, type Root } from "./graph/build.js";
import { NDArray, type TypedArray } from "./runtime/persist-runtime.mjs";
import { writeFileAtomic, writeNewFile } from "./store/atomic.js";
import {
  arraysName,
  checkSaveName,
  DATA_FORMATS,
  type DataFormat,
  layoutFor,
  moduleLayoutNames,
  packageJson,
  RUNTIME_FILE,
} from "./store/layout.js";
import { exists, makeStaging, publishDirectory, publishFiles } from "./store/publish.js";
import { checkArchiveName } from "./values/names.js";

/** Options of `new Archive(options)`. */
export interface ArchiveOptions {
  /**
   * Typed arrays / NDArrays with MORE elements than this (ArrayBuffers and DataViews: bytes) are
   * stored in data files beside the module instead of inline. Default Infinity (all inline).
   */
  arrayThreshold?: number;
  /** At most one name; the saved module's default export is that item. */
  singleItem?: boolean;
  /** Names that may start with "_" anyway. */
  allowedNames?: string[];
}

/** Options of {@link Archive.save}: the archive's name, layout, data format and overwriting. */
export interface SaveOptions {
  /** Required unless singleItem (then defaults to the item's name). */
  name?: string;
  /** Package layout (a folder with package.json); default true. */
  package?: boolean;
  /** Format of the data files for external arrays; default "npy". */
  dataFormat?: DataFormat;
  /** Replace an existing archive of that name; default false. */
  force?: boolean;
  /** With force, keep the replaced files as `*.bak`; default false. */
  backup?: boolean;
  /** For `s3://bucket/prefix` targets: how to reach the store (default: the AWS_* variables). */
  s3?: import("./store/s3-store.js").S3Options;
}

/** What {@link Archive.save} wrote. */
export interface SaveResult {
  /** Absolute path of the module to import. */
  entry: string;
  /** Absolute paths of every file and folder written. */
  files: string[];
}

const RUNTIME_SOURCE = new URL("./runtime/persist-runtime.mjs", import.meta.url);
let runtimeBytes: Promise<Buffer> | undefined;

/** The runtime's bytes, read once per process (every save of an archive with arrays needs them). */
function runtimeSource(): Promise<Buffer> {
  runtimeBytes ??= readFile(RUNTIME_SOURCE);
  return runtimeBytes;
}

/** @internal See Archive.moduleFiles. */
export interface ModuleFiles {
  entry: string;
  text: string;
  declarations: (readonly [file: string, text: string])[];
  dataName: string;
  arrays: { name: string; array: NDArray }[];
  usesRuntime: boolean;
}

/**
 * A set of named values that becomes one ES module. `insert()` values under names, then
 * `toString()` gives the module's text, or `save(dir, { name })` writes it as an importable package
 * (`dir/name/index.mjs` with `package.json` and declarations) or module (`dir/name.mjs`), with
 * large arrays in npy / npz / HDF5 files beside it. Importing the saved module needs no library;
 * `load()` reads it without executing it.
 *
 * @example
 * ```ts
 * const archive = new Archive({ arrayThreshold: 1000 });
 * archive.insert({ results: { n: 3, field: new Float64Array(4096) } });
 * const { entry } = await archive.save("archives", { name: "run1" });
 * ```
 */
export class Archive {
  private readonly items = new Map<string, unknown>();
  private readonly arrayThreshold: number;
  private readonly singleItem: boolean;
  private readonly allowed: ReadonlySet<string>;

  /** An empty archive; see {@link ArchiveOptions}. */
  constructor(options: ArchiveOptions = {}) {
    const threshold = options.arrayThreshold ?? Number.POSITIVE_INFINITY;
    if (typeof threshold !== "number" || Number.isNaN(threshold) || threshold < 0) {
      throw new ArchiveError(
        `Archive: arrayThreshold must be a number >= 0, got ${String(threshold)}`,
      );
    }
    this.arrayThreshold = threshold;
    this.singleItem = options.singleItem ?? false;
    this.allowed = new Set(options.allowedNames ?? []);
  }

  /**
   * @internal A single-item archive that is saved right away (DataSet items). insert() walks the
   * value to reject what cannot be archived; save() walks it again to write it. Here only save()
   * walks it, and rejects the same values with the same errors before anything is written.
   */
  static ofItem(name: string, value: unknown, options: { arrayThreshold?: number }): Archive {
    const archive = new Archive({ ...options, singleItem: true });
    checkArchiveName(name, archive.allowed, "Archive.ofItem()");
    checkNotThenable(name, value);
    archive.items.set(name, value);
    return archive;
  }

  /**
   * Adds named values. Names must be identifiers (not reserved words, not starting with "_" unless
   * allowed). The same value under the same name again is a no-op; a different one is a
   * DuplicateError. Values that cannot be archived are rejected here, naming their path.
   */
  insert(items: Record<string, unknown>): void {
    checkItemsObject(items);
    const fresh: Root[] = [];
    for (const [name, value] of Object.entries(items)) {
      checkArchiveName(name, this.allowed, "Archive.insert()");
      checkNotThenable(name, value);
      if (this.items.has(name)) {
        if (Object.is(this.items.get(name), value)) continue;
        throw new DuplicateError(
          `Archive.insert(): the name "${name}" already holds a different value; use archive.uniqueName("${name}") for a free name`,
          { valuePath: name },
        );
      }
      if (fresh.some(([n]) => n === name)) continue;
      fresh.push([name, value]);
    }
    if (this.singleItem && this.items.size + fresh.length > 1) {
      const names = [...this.items.keys(), ...fresh.map(([n]) => n)];
      throw new ArchiveError(
        `Archive.insert(): this archive is singleItem and can hold one name, but got ${names.map((n) => `"${n}"`).join(", ")}; use a new Archive for each item or drop singleItem`,
      );
    }
    // Walk now so that an unarchivable value is reported at insert(), with nothing inserted.
    guardDepth(fresh, () => buildGraph(fresh, { arrayThreshold: Number.POSITIVE_INFINITY }));
    for (const [name, value] of fresh) this.items.set(name, value);
  }

  /** Inserted names, in insertion order. */
  names(): string[] {
    return [...this.items.keys()];
  }

  /** `base` if unused, else `base_0`, `base_1`, ... (the first that is free). */
  uniqueName(base: string): string {
    checkArchiveName(base, this.allowed, "Archive.uniqueName()");
    if (!this.items.has(base)) return base;
    for (let i = 0; ; i++) {
      const name = `${base}_${i}`;
      if (!this.items.has(name)) return name;
    }
  }

  /**
   * The ES module source text. Without external arrays this is exactly what save() writes as the
   * entry module; with them, it shows the package layout with npy files.
   */
  toString(): string {
    return this.render({ location: "./_arrays", format: "npy" }).text;
  }

  /** Saves the archive as a package (default) or a module in `dir`. See SaveOptions. */
  async save(dir: string, options: SaveOptions = {}): Promise<SaveResult> {
    if (typeof dir === "string" && dir.startsWith("s3://")) {
      // Object storage (store/s3-archive.ts): a local save, uploaded; loaded only when used.
      const { saveToS3 } = await import("./store/s3-archive.js");
      return saveToS3(this, dir, options);
    }
    const name = options.name ?? (this.singleItem ? this.names()[0] : undefined);
    if (name === undefined) {
      throw new ArchiveError(
        this.singleItem
          ? "Archive.save(): nothing inserted, and no options.name to save under"
          : 'Archive.save(): options.name is required (e.g. save(dir, { name: "run1" }))',
      );
    }
    checkSaveName(name);
    const format = options.dataFormat ?? "npy";
    if (!DATA_FORMATS.includes(format)) {
      throw new ArchiveError(
        `Archive.save(): dataFormat must be one of ${DATA_FORMATS.join(", ")}, got ${String(format)}`,
      );
    }
    const asPackage = options.package ?? true;
    const force = options.force ?? false;
    const backup = options.backup ?? false;
    await prepareDir(dir);
    const layout = layoutFor(resolve(dir), name, asPackage);
    const owned = asPackage
      ? [layout.packageDir!]
      : moduleLayoutNames(layout).map((n) => join(layout.home, n));
    if (!force) {
      for (const path of owned) {
        if (await exists(path)) {
          throw new ArchiveError(
            `Archive.save(): ${path} already exists; pass { force: true } to replace it (and backup: true to keep the old files as *.bak)`,
            { file: path },
          );
        }
      }
    }

    const dataName = arraysName(layout, format);
    const { text, graph, usesRuntime } = this.render({ location: `./${dataName}`, format });
    const declarations = emitDeclarations(this.rootList(), graph, this.singleItem);
    const staging = await makeStaging(
      asPackage ? layout.packageDir! : join(layout.home, layout.entry),
    );
    try {
      const written: string[] = [];
      if (graph.externals.length > 0) {
        const arrays = graph.externals.map((e) => ({
          name: e.name,
          array: externalArray(graph.values[e.id]!),
        }));
        await writeArrayFiles(join(staging, dataName), format, arrays);
        written.push(dataName);
      }
      if (asPackage && usesRuntime) {
        // Written and fsynced like every other file of the package before it is published.
        await writeNewFile(join(staging, RUNTIME_FILE), await runtimeSource());
        written.push(RUNTIME_FILE);
      }
      for (const file of layout.declarations) {
        await writeNewFile(join(staging, file), declarations);
        written.push(file);
      }
      if (asPackage) {
        await writeNewFile(join(staging, "package.json"), packageJson(name));
        written.push("package.json");
      }
      await writeNewFile(join(staging, layout.entry), text);
      written.push(layout.entry);

      if (asPackage) {
        await publishDirectory(staging, layout.packageDir!, backup);
      } else {
        if (usesRuntime) await placeRuntime(layout.home);
        await publishFiles(staging, layout.home, written, moduleLayoutNames(layout), backup);
        await rm(staging, { recursive: true, force: true });
      }
      const files = written.map((f) => join(layout.home, f));
      if (!asPackage && usesRuntime) files.push(join(layout.home, RUNTIME_FILE));
      return { entry: join(layout.home, layout.entry), files };
    } catch (err) {
      await rm(staging, { recursive: true, force: true });
      throw err;
    }
  }

  /**
   * @internal What save() writes for a module-layout archive named `name` with arrays in `format`,
   * without writing anything: DataSet.insertMany writes many items' files and fsyncs them in one
   * round instead of one save (and one fsync round) per item.
   */
  moduleFiles(name: string, format: DataFormat): ModuleFiles {
    checkSaveName(name);
    const layout = layoutFor("", name, false);
    const dataName = arraysName(layout, format);
    const { text, graph, usesRuntime } = this.render({ location: `./${dataName}`, format });
    const declarations = emitDeclarations(this.rootList(), graph, this.singleItem);
    return {
      entry: layout.entry,
      text,
      declarations: layout.declarations.map((file) => [file, declarations] as const),
      dataName,
      arrays: graph.externals.map((e) => ({
        name: e.name,
        array: externalArray(graph.values[e.id]!),
      })),
      usesRuntime,
    };
  }

  private rootList(): Root[] {
    return [...this.items];
  }

  private render(arrays: ArraysPlacement): { text: string; graph: Graph; usesRuntime: boolean } {
    const roots = this.rootList();
    return guardDepth(roots, () => {
      const graph = buildGraph(roots, { arrayThreshold: this.arrayThreshold });
      const { text, usesRuntime } = emitModule({
        roots,
        graph,
        arrays,
        singleItem: this.singleItem,
      });
      return { text, graph, usesRuntime };
    });
  }
}

/** insert() takes `{ name: value, ... }`; anything else is a mistake worth a clear message. */
function checkItemsObject(items: unknown): void {
  if (items !== null && typeof items === "object" && !Array.isArray(items)) {
    if (!(items instanceof Map) && !(items instanceof Set)) return;
  }
  const got =
    items === null
      ? "null"
      : Array.isArray(items)
        ? "an array"
        : items instanceof Map
          ? "a Map (use insert(Object.fromEntries(map)))"
          : items instanceof Set
            ? "a Set"
            : typeof items;
  throw new ArchiveError(
    `Archive.insert() takes an object of name: value pairs, e.g. insert({ results }), but got ${got}`,
  );
}

/**
 * An export named `then` that is a function makes the module namespace a thenable: `await import()`
 * calls it instead of resolving (and never settles), and so would awaiting load().
 */
function checkNotThenable(name: string, value: unknown): void {
  if (name !== "then" || typeof value !== "function") return;
  throw new UnsupportedValueError(
    'Cannot archive then: a function exported as "then" makes the module a thenable, so `await import()` of the archive (and awaiting load()) would call it instead of returning the module, and never settle. To fix: insert it under another name, e.g. insert({ thenFn: then }).',
    { valuePath: name },
  );
}

/**
 * The walk and the emitter bound their own recursion (deep chains continue later, from a fresh
 * stack); should the stack still run out, report an archive error rather than crash. Reading the
 * values runs the user's code (getters, Proxy traps, `[persist.rep]()`, register() `args`): what
 * that code throws becomes an UnsupportedValueError too (its error is the `cause`), so insert()
 * and save() fail with this library's errors only.
 */
function guardDepth<T>(roots: readonly Root[], fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ArchiveError) throw err;
    const names = roots.map(([n]) => n).join(", ");
    if (err instanceof RangeError && /call stack/.test(err.message)) {
      throw new UnsupportedValueError(
        `Cannot archive ${names}: it is nested too deeply for the stack. To fix: store such chains as arrays (e.g. nodes in an array with indices as links), or split them into several inserted names.`,
        { valuePath: names, cause: err },
      );
    }
    const what = describeThrown(err);
    throw new UnsupportedValueError(
      `Cannot archive ${names}: reading its values threw ${what} (from a getter, a Proxy trap, a [persist.rep]() method or a register() args function; see this error's cause). To fix: make that code return a value, or insert a plain copy of the data.`,
      { valuePath: names, cause: err },
    );
  }
}

/** `TypeError: boom` for what user code threw, whatever it was (even an object whose toString throws). */
function describeThrown(err: unknown): string {
  try {
    return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  } catch {
    return "a value that cannot be shown";
  }
}

/** `dir` must be a directory (created if missing), never a file. */
async function prepareDir(dir: string): Promise<void> {
  if (typeof dir !== "string" || dir === "")
    throw new ArchiveError("Archive.save(): dir must be a path");
  try {
    const s = await stat(dir);
    if (!s.isDirectory()) {
      throw new ArchiveError(
        `Archive.save(): ${dir} exists and is not a directory; choose a directory to save into`,
        {
          file: dir,
        },
      );
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    await mkdir(dir, { recursive: true });
  }
}

/** The NDArray a data file holds for an external value. */
function externalArray(value: object): NDArray {
  if (value instanceof NDArray) return value;
  if (value instanceof ArrayBuffer) return new NDArray(new Uint8Array(value), [value.byteLength]);
  const ta = value as TypedArray;
  const data =
    ta instanceof Uint8ClampedArray ? new Uint8Array(ta.buffer, ta.byteOffset, ta.length) : ta;
  return new NDArray(data, [ta.length]);
}

/**
 * The runtime beside module-layout archives is shared by every archive in that folder; it is
 * replaced (atomically) only when its bytes differ, e.g. after a library upgrade within format 1.
 */
export async function placeRuntime(home: string): Promise<void> {
  const source = await runtimeSource();
  const target = join(home, RUNTIME_FILE);
  try {
    if (source.equals(await readFile(target))) return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  await writeFileAtomic(target, source);
}
