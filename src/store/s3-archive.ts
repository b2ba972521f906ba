/**
 * Archives on object storage: `Archive.save("s3://bucket/prefix", …)` and `load("s3://…")`.
 *
 * Saving writes the archive into a private temp folder exactly as a local save would (same files,
 * same checks), then uploads its files, the entry module LAST, so an entry module in the store
 * always has its data beside it. Loading downloads the entry module and the files beside it that
 * the archive owns into a temp folder and loads that with the ordinary (safe by default) loader,
 * so an archive in S3 gets the same checks as one on disk; a lazy load downloads only the
 * modules and reads the data files by ranged GETs.
 */
import { readFile } from "node:fs/promises";
import { join, posix, relative, sep } from "node:path";
import type { Archive, SaveOptions, SaveResult } from "../archive.js";
import { ArchiveError, NotFoundError } from "../errors.js";
import {
  entryModule,
  type InterpretSourceOptions,
  interpretSource,
  MAX_MODULE_BYTES,
} from "../load/load.js";
import { importTrusted } from "../load/trusted.js";
import { readConfinedText } from "./confined.js";
import { RUNTIME_FILE } from "./layout.js";
import { objectOpener } from "./s3-lazy.js";
import { parseS3Url, S3_IN_FLIGHT, type S3Options, S3Store } from "./s3-store.js";
import { inBatches } from "./settle.js";
import type { StoreEntry } from "./store.js";
import { downloadInto, filesBelow, withTempDir } from "./temp-dir.js";

/** Archive.save() to `s3://bucket/prefix`: the same files as a local save, uploaded. */
export async function saveToS3(
  archive: Archive,
  url: string,
  options: SaveOptions & { s3?: S3Options },
): Promise<SaveResult> {
  const { s3, ...local } = options;
  const store = new S3Store(url, s3);
  return withTempDir(async (tmp) => {
    const saved = await archive.save(tmp, { ...local, backup: false });
    const entry = saved.entry
      .slice(tmp.length + 1)
      .split(/[\\/]/)
      .join("/");
    const files = await filesBelow(tmp);
    // The archive's own files: a package folder, or the module-layout names beside the entry.
    const top = entry.includes("/") ? `${entry.split("/")[0]}/` : "";
    if (!options.force) {
      const taken = await store.get(entry);
      if (taken !== undefined) {
        throw new ArchiveError(
          `Archive.save(): ${store.location}/${entry} already exists; pass { force: true } to replace it`,
          { file: `${store.location}/${entry}` },
        );
      }
    }
    if (top !== "" && options.force) {
      // Replace the package as a whole: files of the old version that the new one lacks go.
      const keep = new Set(files);
      const old = (await store.list(top)).filter((e) => !keep.has(e.key) && e.key !== entry);
      await inBatches(old, S3_IN_FLIGHT, (e) => store.delete(e.key));
    }
    const rest = files.filter((f) => f !== entry);
    await inBatches(rest, S3_IN_FLIGHT, async (f) => store.put(f, await readFile(join(tmp, f))));
    await store.put(entry, await readFile(join(tmp, entry)));
    return {
      entry: `${store.location}/${entry}`,
      files: files.map((f) => `${store.location}/${f}`),
    };
  });
}

/** An archive's objects: the store holding its folder, the keys to read, its entry's key. */
interface Located {
  store: S3Store;
  /** Every object of the archive (data files with their sizes). */
  objects: { key: string; entry?: StoreEntry }[];
  /** The entry module, or the package folder (load() reads its package.json). */
  entry: string;
}

/** Finds the archive at `url`: a package prefix, or an entry module key ending in .mjs. */
async function locate(url: string, s3: S3Options | undefined): Promise<Located> {
  const parsed = parseS3Url(url);
  const { bucket } = parsed;
  // A package's entry module names the package: the whole folder is the archive.
  const prefix = parsed.prefix.replace(/\/index\.mjs$/, "");
  if (prefix === "") throw new ArchiveError(`load(${url}): name the archive, not the bucket`);
  const slash = prefix.lastIndexOf("/");
  const home = `s3://${bucket}${slash < 0 ? "" : `/${prefix.slice(0, slash)}`}`;
  const base = prefix.slice(slash + 1);
  const store = new S3Store(home, s3);
  if (base.endsWith(".mjs")) {
    // Module layout: run1.mjs, run1_arrays/… or run1_arrays.npz/.h5, the runtime beside it.
    const stem = base.slice(0, -4);
    const data = (await store.list(`${stem}_arrays`)).map((entry) => ({ key: entry.key, entry }));
    return { store, objects: [{ key: base }, { key: RUNTIME_FILE }, ...data], entry: base };
  }
  const objects = (await store.list(`${base}/`)).map((entry) => ({ key: entry.key, entry }));
  if (objects.length === 0) {
    throw new NotFoundError(`no archive at ${url}: no objects under ${url}/`, { file: url });
  }
  return { store, objects, entry: base };
}

/** Downloads `keys` of the located archive into `tmp` (a missing runtime file is no error). */
async function download(url: string, located: Located, keys: string[], tmp: string) {
  const { store } = located;
  await downloadInto(store, keys, tmp, 0, (key) => {
    if (key === RUNTIME_FILE) return;
    throw new NotFoundError(`no archive at ${url}: ${store.location}/${key} does not exist`, {
      file: `${store.location}/${key}`,
    });
  });
}

/**
 * Downloads the archive at `url` (a package prefix, or an entry module key ending in .mjs) into a
 * temp folder and runs `use` on the local entry path; the folder is removed afterwards.
 */
export async function withDownloadedArchive<T>(
  url: string,
  s3: S3Options | undefined,
  use: (entry: string) => Promise<T>,
): Promise<T> {
  const located = await locate(url, s3);
  return withTempDir(async (tmp) => {
    await download(
      url,
      located,
      located.objects.map((o) => o.key),
      tmp,
    );
    return use(join(tmp, ...located.entry.split("/")));
  });
}

/** Data files of an archive: what a lazy load reads by ranged GETs instead of downloading. */
const DATA_FILE = /\.(npy|npz|h5|hdf5)$/;

/**
 * `load("s3://…", { lazy: true })`: downloads the archive but for its data files, and loads it with
 * every external array as a LazyArray over its object, read with ranged GETs (store/s3-lazy.ts).
 * Safely: only the modules and package.json are downloaded, and files are named
 * `/s3/<bucket>/<prefix>/…` in messages and LazyArray.file (there is no local copy to name).
 * Trusted: the module is imported from the download (so everything but data is downloaded), and
 * its LazyArrays name the download's paths, gone once the load returns; they read from the store.
 */
export async function loadLazilyFromS3(
  url: string,
  s3: S3Options | undefined,
  options: Pick<InterpretSourceOptions, "modules" | "maxExpansion"> & { trusted?: boolean },
): Promise<Record<string, unknown>> {
  const located = await locate(url, s3);
  const data = new Map<string, StoreEntry>();
  for (const { key, entry } of located.objects) {
    if (entry !== undefined && DATA_FILE.test(key)) data.set(key, entry);
  }
  // The safe interpreter needs the modules and package.json, not the runtime or declarations.
  const small = located.objects
    .map((o) => o.key)
    .filter(
      (key) =>
        !data.has(key) &&
        (options.trusted || (posix.basename(key) !== RUNTIME_FILE && !key.endsWith(".d.mts"))),
    );
  return withTempDir(async (tmp) => {
    await download(url, located, small, tmp);
    const { entry, root } = await entryModule(join(tmp, ...located.entry.split("/")), undefined);
    if (options.trusted) {
      const keyOf = (path: string) => relative(tmp, path).split(sep).join("/");
      const open = objectOpener(located.store, data, root, keyOf);
      return importTrusted(entry, options.modules, { maxExpansion: options.maxExpansion, open });
    }
    const text = await readConfinedText(entry, {
      root,
      what: "archive module",
      maxBytes: MAX_MODULE_BYTES,
    });
    const home = posix.join("/", located.store.location.replace(/^s3:\/\//, "s3/"));
    const named = (local: string) => posix.join(home, ...relative(tmp, local).split(sep));
    const open = objectOpener(located.store, data, named(root), (path) =>
      posix.relative(home, path),
    );
    return interpretSource(text, {
      ...options,
      file: named(entry),
      root: named(root),
      lazy: true,
      open,
    });
  });
}

/** True when `url` is the prefix of a DataSet on object storage (it has the DataSet marker). */
export async function isS3DataSet(url: string, s3?: S3Options): Promise<boolean> {
  const store = new S3Store(url, s3);
  return (await store.get(".persist-dataset.json")) !== undefined;
}
