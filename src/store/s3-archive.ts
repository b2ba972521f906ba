/**
 * Archives on object storage: `Archive.save("s3://bucket/prefix", …)` and `load("s3://…")`.
 *
 * Saving writes the archive into a private temp folder exactly as a local save would (same files,
 * same checks), then uploads its files, the entry module LAST, so an entry module in the store
 * always has its data beside it. Loading downloads the entry module and the files beside it that
 * the archive owns into a temp folder and loads that with the ordinary (safe by default) loader,
 * so an archive in S3 gets the same checks as one on disk.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Archive, SaveOptions, SaveResult } from "../archive.js";
import { ArchiveError, NotFoundError } from "../errors.js";
import { RUNTIME_FILE } from "./layout.js";
import { parseS3Url, S3_IN_FLIGHT, type S3Options, S3Store } from "./s3-store.js";
import { inBatches } from "./settle.js";
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

/**
 * Downloads the archive at `url` (a package prefix, or an entry module key ending in .mjs) into a
 * temp folder and runs `use` on the local entry path; the folder is removed afterwards.
 */
export async function withDownloadedArchive<T>(
  url: string,
  s3: S3Options | undefined,
  use: (entry: string) => Promise<T>,
): Promise<T> {
  const parsed = parseS3Url(url);
  const { bucket } = parsed;
  // A package's entry module names the package: download the whole folder.
  const prefix = parsed.prefix.replace(/\/index\.mjs$/, "");
  if (prefix === "") throw new ArchiveError(`load(${url}): name the archive, not the bucket`);
  const slash = prefix.lastIndexOf("/");
  const home = `s3://${bucket}${slash < 0 ? "" : `/${prefix.slice(0, slash)}`}`;
  const base = prefix.slice(slash + 1);
  const store = new S3Store(home, s3);
  let keys: string[];
  let entry: string;
  if (base.endsWith(".mjs")) {
    // Module layout: run1.mjs, run1_arrays/… or run1_arrays.npz/.h5, the runtime beside it.
    const stem = base.slice(0, -4);
    keys = [base, RUNTIME_FILE, ...(await store.list(`${stem}_arrays`)).map((e) => e.key)];
    entry = base;
  } else {
    keys = (await store.list(`${base}/`)).map((e) => e.key);
    entry = base; // the package folder: load() reads its package.json
    if (keys.length === 0) {
      throw new NotFoundError(`no archive at ${url}: no objects under ${url}/`, { file: url });
    }
  }
  return withTempDir(async (tmp) => {
    await downloadInto(store, keys, tmp, 0, (key) => {
      if (key === RUNTIME_FILE) return;
      throw new NotFoundError(`no archive at ${url}: ${home}/${key} does not exist`, {
        file: `${home}/${key}`,
      });
    });
    return use(join(tmp, ...entry.split("/")));
  });
}

/** True when `url` is the prefix of a DataSet on object storage (it has the DataSet marker). */
export async function isS3DataSet(url: string, s3?: S3Options): Promise<boolean> {
  const store = new S3Store(url, s3);
  return (await store.get(".persist-dataset.json")) !== undefined;
}
