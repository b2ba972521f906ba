/**
 * `persist convert PATH --format npy|npz|hdf5 [--out DIR]`: re-save an archive or DataSet with
 * its external arrays in another format.
 *
 * Which arrays stay external: an Archive (and each DataSet item) was saved with one
 * arrayThreshold T, so every external array has more than T elements and every inline one at most
 * T. Re-saving with T' = (smallest external array's element count) - 1 therefore keeps exactly the
 * external arrays external, whatever T was (T is not recorded anywhere). The sizes come from the
 * data files the module names in its loadArrays statement. Only a hand-edited archive with an
 * inline array larger than its smallest external one would get an extra external array; the
 * command says so when that happens.
 */
import { randomBytes } from "node:crypto";
import { cp, mkdir, readdir, rename, rm, rmdir, stat } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { Archive } from "../archive.js";
import { readArrayFiles } from "../arrays/containers.js";
import { itemFilesOnDisk } from "../dataset/codec.js";
import { DataSet } from "../dataset/dataset.js";
import { LOCK_FILE } from "../dataset/layout.js";
import { ArchiveError } from "../errors.js";
import { fsyncDir } from "../store/atomic.js";
import { PACKAGE_FILES as PACKAGE_LAYOUT_FILES } from "../store/layout.js";
import { PROCESS_TAG } from "../store/process.js";
import { errorText, isInputError } from "./errors.js";
import { loadWithStandIns, readDataSetItem } from "./stand-ins.js";
import {
  type ArchiveTarget,
  type DataFiles,
  type DataSetTarget,
  dataFilesOf,
  resolveTarget,
} from "./target.js";
import { type Io, Printer, Progress, watchBytes } from "./terminal.js";
import { type Format, UsageError } from "./usage.js";
import { dataBytes } from "./verify.js";

export async function convert(
  path: string,
  format: Format,
  out: string | undefined,
  io: Io,
): Promise<number> {
  if (path.startsWith("s3://") || out?.startsWith("s3://")) {
    return convertOnS3(path, format, out, io);
  }
  const target = await resolveTarget(path);
  if (out !== undefined) {
    await mustBeFree(resolve(out));
    // (a UsageError: exit code 2)
    const source = target.type === "dataset" ? target.path : target.home;
    const inside = relative(source, resolve(out));
    if (target.type === "dataset" || target.layout === "package") {
      if (inside === "" || !(inside.startsWith("..") || isAbsolute(inside))) {
        throw new ArchiveError(
          `--out ${resolve(out)} is inside ${source}; choose a path outside it`,
        );
      }
    }
  }
  try {
    if (target.type === "dataset") return await convertDataSet(target, format, out, io);
    return await convertArchive(target, format, out, io);
  } catch (error) {
    if (!isInputError(error)) throw error;
    // Say what failed and that nothing changed; the cause may name a staging file.
    const what = target.type === "dataset" ? `DataSet ${target.path}` : `archive ${target.entry}`;
    const unchanged = out === undefined ? "it is unchanged" : "nothing was written";
    throw new ArchiveError(
      `cannot convert ${what} to ${format} (${unchanged}): ${errorText(error)}`,
      {
        cause: error,
      },
    );
  }
}

/** The arrayThreshold that keeps exactly the arrays in `data` external (Infinity: none). */
export async function keepExternalThreshold(data: DataFiles | undefined): Promise<number> {
  if (!data || data.names.length === 0) return Number.POSITIVE_INFINITY;
  const arrays = await readArrayFiles(data.location, data.format, data.names, { root: data.root });
  const smallest = Math.min(...Object.values(arrays).map((a) => a.size));
  return Math.max(0, smallest - 1);
}

async function convertArchive(
  target: ArchiveTarget,
  format: Format,
  out: string | undefined,
  io: Io,
): Promise<number> {
  // reads the data twice (threshold, load) and writes it once
  const progress = watchBytes(io.stderr, "convert", 3 * (await dataBytes(target.data)));
  try {
    return await convertArchiveWith(target, format, out, io);
  } finally {
    progress.stop();
  }
}

async function convertArchiveWith(
  target: ArchiveTarget,
  format: Format,
  out: string | undefined,
  io: Io,
  /** The archive's address as the user gave it (an S3 archive is converted from a local copy). */
  shownAs = target.entry,
): Promise<number> {
  const exports = await loadWithStandIns(target.entry);
  const arrayThreshold = await keepExternalThreshold(target.data);
  const names = Object.keys(exports);
  const named = names.filter((n) => n !== "default");
  const singleItem = names.includes("default");
  if (singleItem && !(named.length === 1 && Object.is(exports[named[0]!], exports.default))) {
    throw new ArchiveError(
      `${target.entry}: its default export is not its only named export, which Archive cannot ` +
        "write; convert only archives saved by persist-archive (or keep the hand edits in line)",
      { file: target.entry },
    );
  }
  const archive = new Archive({
    arrayThreshold,
    singleItem,
    allowedNames: named.filter((n) => n.startsWith("_")),
  });
  archive.insert(Object.fromEntries(named.map((n) => [n, exports[n]])));

  const onS3 = out?.startsWith("s3://");
  const entry = onS3
    ? await saveToS3(archive, target, format, out!, shownAs === out)
    : target.layout === "package"
      ? await savePackage(archive, target, format, out)
      : await saveModule(archive, target, format, out);
  const before = target.data?.names.length ?? 0;
  // (uploaded: the threshold keeps the same arrays external, see the top of this file)
  const after = onS3 ? before : ((await dataFilesOf(entry))?.names.length ?? 0);
  if (after > before) {
    new Printer(io.stderr)
      .line`persist convert: note: ${after - before} array(s) that were inline are now external (the archive had inline arrays larger than its smallest external one)`;
  }
  new Printer(io.stdout)
    .line`converted archive ${shownAs} -> ${entry}: ${after} external arrays in ${format}`;
  return 0;
}

/**
 * Module layout: save() replaces the module's own files (entry, declarations, data in any format)
 * atomically and leaves everything else in the folder alone. With --out, DIR receives them.
 */
async function saveModule(
  archive: Archive,
  target: ArchiveTarget,
  format: Format,
  out: string | undefined,
): Promise<string> {
  if (!target.entry.endsWith(".mjs")) {
    throw new ArchiveError(
      `${target.entry}: only .mjs modules (as Archive.save writes them) can be converted`,
      { file: target.entry },
    );
  }
  const dir = out === undefined ? target.home : resolve(out);
  const saved = await archive.save(dir, {
    name: target.name,
    package: false,
    dataFormat: format,
    force: out === undefined,
  });
  return saved.entry;
}

/**
 * Archives on S3 (`s3://bucket/prefix/run1` or `…/run1.mjs`): converted from a downloaded copy and
 * uploaded to `out`, or in place (the entry module uploaded last, so the old entry is replaced
 * only when the new data is in the store). Also a local archive to an S3 `--out`.
 */
async function convertOnS3(
  path: string,
  format: Format,
  out: string | undefined,
  io: Io,
): Promise<number> {
  const { isS3DataSet, withDownloadedArchive } = await import("../store/s3-archive.js");
  if (path.startsWith("s3://") && (await isS3DataSet(path))) {
    throw new ArchiveError(
      `cannot convert DataSet ${path}: converting a DataSet on S3 is not supported yet; ` +
        "its items can be read (persist show, get, view) as they are",
    );
  }
  if (out !== undefined && !out.startsWith("s3://")) await mustBeFree(resolve(out));
  const convertLocal = async (entry: string, shownAs: string) => {
    const target = await resolveTarget(entry);
    if (target.type !== "archive") {
      throw new ArchiveError(
        `cannot convert DataSet ${path} to S3: only archives can be converted to or on S3 yet`,
      );
    }
    const dest = out === undefined ? undefined : out.startsWith("s3://") ? out : resolve(out);
    try {
      return await convertArchiveWith(target, format, dest ?? path, io, shownAs);
    } catch (error) {
      if (!isInputError(error)) throw error;
      const unchanged = out === undefined ? "it is unchanged" : "nothing was written";
      throw new ArchiveError(
        `cannot convert archive ${shownAs} to ${format} (${unchanged}): ${errorText(error)}`,
        { cause: error },
      );
    }
  };
  if (!path.startsWith("s3://")) return convertLocal(path, path);
  return withDownloadedArchive(path, undefined, (local) => convertLocal(local, path));
}

/** Saves `archive` as `url` (an S3 archive address, package or module layout like `target`). */
async function saveToS3(
  archive: Archive,
  target: ArchiveTarget,
  format: Format,
  url: string,
  replace: boolean,
): Promise<string> {
  const address = url.replace(/\/(index\.mjs)?$/, "");
  const slash = address.lastIndexOf("/");
  const parent = address.slice(0, slash);
  const base = address.slice(slash + 1);
  if (parent === "s3:/" || base === "") {
    throw new ArchiveError(`${url}: name the archive (s3://bucket/prefix/name), not the bucket`);
  }
  const modules = target.layout === "module";
  if (modules && !base.endsWith(".mjs")) {
    throw new ArchiveError(
      `${url}: ${target.entry} is a single module; give an address ending in .mjs (or convert a package)`,
    );
  }
  try {
    const saved = await archive.save(parent, {
      name: modules ? base.slice(0, -4) : base,
      package: !modules,
      dataFormat: format,
      force: replace,
    });
    return saved.entry;
  } catch (error) {
    if (!replace && /already exists/.test(errorText(error))) {
      throw new UsageError(
        `--out ${url} already exists; choose a new address (convert never overwrites)`,
        "",
      );
    }
    throw error;
  }
}

/** What Archive.save writes into a package directory; anything else there belongs to the user. */
const PACKAGE_FILES = new Set(PACKAGE_LAYOUT_FILES);

/**
 * Package layout: the package is saved into a staging folder beside its destination, the user's
 * other files in the package (notes, a node_modules with h5wasm, ...) are copied in, and the
 * result is swapped in with renames (or renamed to DIR with --out).
 */
async function savePackage(
  archive: Archive,
  target: ArchiveTarget,
  format: Format,
  out: string | undefined,
): Promise<string> {
  const dest = out === undefined ? target.home : resolve(out);
  const parent = sibling(dest, "convert");
  await mkdir(parent);
  try {
    const saved = await archive.save(parent, {
      name: basename(dest),
      package: true,
      dataFormat: format,
    });
    const built = dirname(saved.entry);
    await copyOtherFiles(target.home, built, (entry) => PACKAGE_FILES.has(entry));
    if (out === undefined) {
      await swapDirectories(built, dest);
    } else {
      await rmdir(dest).catch(() => {}); // an empty directory given as --out
      await rename(built, dest);
      await fsyncDir(dirname(dest));
    }
    return join(dest, basename(saved.entry));
  } finally {
    await rm(parent, { recursive: true, force: true });
  }
}

async function convertDataSet(
  target: DataSetTarget,
  format: Format,
  out: string | undefined,
  io: Io,
): Promise<number> {
  const dest = out === undefined ? target.path : resolve(out);
  const staging = sibling(dest, "convert");
  const build = () => copyDataSet(target.path, staging, format, io);
  let count: number;
  if (out !== undefined) {
    count = await build();
    await rmdir(dest).catch(() => {}); // an empty directory given as --out
    await rename(staging, dest);
    await fsyncDir(dirname(dest));
  } else {
    // Hold the source's write lock throughout, so that no write lands in the old copy after it was
    // read. Writers waiting for the lock address the DataSet by path and so continue on the new one.
    const source = await DataSet.open(target.path, { mode: "w" });
    try {
      count = await source.withLock(async () => {
        const n = await build();
        await swapDirectories(staging, target.path);
        return n;
      });
    } finally {
      await source.close();
    }
  }
  new Printer(io.stdout)
    .line`converted DataSet ${target.path} -> ${dest}: ${count} items, arrays in ${format}`;
  return 0;
}

/**
 * Writes every item of the DataSet at `from` into a new DataSet at `to`, in key order, with its
 * info, keeping its external arrays external. Removes `to` on failure.
 */
async function copyDataSet(from: string, to: string, format: Format, io: Io): Promise<number> {
  const source = await DataSet.open(from, { mode: "r" });
  // One handle per threshold: items of one DataSet may have been written with different ones.
  const targets = new Map<number, DataSet>();
  const handleFor = async (threshold: number): Promise<DataSet> => {
    let handle = targets.get(threshold);
    if (!handle) {
      handle = await DataSet.open(to, { mode: "w", arrayThreshold: threshold, dataFormat: format });
      targets.set(threshold, handle);
    }
    return handle;
  };
  try {
    const keys = await source.keys();
    const progress = new Progress(io.stderr, "convert", keys.length);
    // The new DataSet's lock is taken once for all items (the handles share it: it is per path),
    // instead of once per item.
    const first = await handleFor(Number.POSITIVE_INFINITY);
    await first.withLock(async () => {
      for (const key of keys) {
        const value = await readDataSetItem(source, key);
        const info = await source.info(key);
        const data = await dataFilesOf(join(from, `${key}.mjs`));
        const handle = await handleFor(await keepExternalThreshold(data));
        await handle.set(key, value, { info });
        progress.tick();
      }
    });
    progress.finish();
    const itemOwned = new Set<string>();
    for (const key of keys) for (const f of await itemFilesOnDisk(from, key)) itemOwned.add(f);
    await copyOtherFiles(from, to, (entry) => itemOwned.has(entry) || entry === LOCK_FILE);
    return keys.length;
  } catch (error) {
    await rm(to, { recursive: true, force: true });
    throw error;
  } finally {
    for (const handle of targets.values()) await handle.close();
    await source.close();
  }
}

/**
 * Copies what else the user keeps in the folder (notes, modules, ...) so that converting loses
 * nothing: every top-level entry of `from` that is not `owned`, not already in `to` (written by the
 * conversion) and not a library temp file.
 */
async function copyOtherFiles(
  from: string,
  to: string,
  owned: (entry: string) => boolean,
): Promise<void> {
  const written = new Set(await readdir(to));
  for (const entry of await readdir(from)) {
    if (owned(entry) || written.has(entry)) continue;
    if (entry.startsWith(".") && entry.endsWith(".tmp")) continue;
    await cp(join(from, entry), join(to, entry), {
      recursive: true,
      errorOnExist: true,
      force: false,
    });
  }
}

/**
 * Puts directory `from` in place of `to` with two renames; the old one is deleted afterwards. If
 * the second rename fails, the old directory is moved back. (Node has no renameat2
 * RENAME_EXCHANGE; a crash between the renames leaves the old, complete copy under its aside name.)
 */
async function swapDirectories(from: string, to: string): Promise<void> {
  const aside = sibling(to, "old");
  await rename(to, aside);
  try {
    await rename(from, to);
  } catch (error) {
    await rename(aside, to);
    throw error;
  }
  await fsyncDir(dirname(to));
  await rm(aside, { recursive: true, force: true });
}

/** A hidden, unique path beside `path` (same file system, so renames are atomic). */
function sibling(path: string, what: string): string {
  const tag = `${PROCESS_TAG}.${randomBytes(4).toString("hex")}`;
  return join(dirname(path), `.${basename(path)}.${what}.${tag}.tmp`);
}

/** --out must name something new (or an empty directory): convert never overwrites. */
async function mustBeFree(path: string): Promise<void> {
  const info = await stat(path).catch(() => undefined);
  if (!info) return;
  if (info.isDirectory() && (await readdir(path)).length === 0) return;
  throw new UsageError(
    `--out ${path} already exists; choose a new path (convert never overwrites)`,
    "",
  );
}
