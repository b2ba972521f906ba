/**
 * Lazy arrays over object storage: `ds.get(name, { lazy: true })` on an S3 DataSet reads the
 * item's module and nothing else; its external arrays come back as LazyArrays whose data files
 * are read with ranged GETs (the npy header, the zip central directory, then only the rows asked
 * for). HDF5 files are the exception: h5wasm needs the whole file, so each read fetches it.
 *
 * The data files are opened by key, never by path: a path the module's `_loadArrays` names is
 * mapped to a key under the item's own prefix, and anything that would lie outside it (or is not
 * one of the item's objects) is refused, as a file outside the archive's folder is on disk.
 */
import { posix } from "node:path";
import { FormatError, NotFoundError } from "../errors.js";
import { interpretSource } from "../load/index.js";
import type { ArrayReadOptions } from "../runtime/persist-runtime.mjs";
import type { Store, StoreEntry } from "./store.js";

/** Smallest ranged GET: header reads are a few bytes each, and one request serves several. */
const READ_AHEAD = 64 << 10;

type DataHandle = Awaited<ReturnType<NonNullable<ArrayReadOptions["open"]>>>["handle"];

/**
 * A data file's object read like a file, by ranged GETs. Reads shorter than READ_AHEAD fetch
 * READ_AHEAD bytes and keep them for the next read; longer reads fetch exactly what is asked.
 */
function rangedHandle(store: Store, key: string, size: number): DataHandle {
  let cached: { start: number; bytes: Uint8Array } = { start: 0, bytes: new Uint8Array(0) };
  return {
    async read(buffer: Uint8Array, offset: number, length: number, position: number) {
      const n = Math.max(0, Math.min(length, size - position));
      if (n === 0) return { bytesRead: 0 };
      const from = position - cached.start;
      if (from >= 0 && from + n <= cached.bytes.length) {
        buffer.set(cached.bytes.subarray(from, from + n), offset);
        return { bytesRead: n };
      }
      if (n < READ_AHEAD) {
        const bytes = await store.getRange(key, position, Math.min(size, position + READ_AHEAD));
        cached = { start: position, bytes };
        const got = Math.min(n, bytes.length);
        buffer.set(bytes.subarray(0, got), offset);
        return { bytesRead: got };
      }
      const bytes = await store.getRange(key, position, position + n);
      buffer.set(bytes, offset);
      return { bytesRead: bytes.length };
    },
    // Each read is a request: gather small row ranges through a window of READ_AHEAD bytes.
    gatherWindow: READ_AHEAD,
    async close() {
      cached = { start: 0, bytes: new Uint8Array(0) };
    },
  };
}

/**
 * Opens data files by path as objects of `store`, read by ranged GETs: a path must lie in `root`
 * (a path-like name, `/s3/<bucket>/<prefix>/…`) and `keyOf` it must be one of `objects`;
 * anything else is refused, as a file outside the archive's folder is on disk.
 */
export function objectOpener(
  store: Store,
  objects: ReadonlyMap<string, StoreEntry>,
  root: string,
  keyOf: (path: string) => string,
): NonNullable<ArrayReadOptions["open"]> {
  return async (path: string) => {
    const rel = posix.relative(root, path);
    if (rel === "" || rel.startsWith("..") || posix.isAbsolute(rel)) {
      throw new FormatError(`${path}: outside ${root}; data files must lie in it`, { file: path });
    }
    const entry = objects.get(keyOf(path));
    if (!entry) {
      throw new NotFoundError(`${path}: data file is missing (no object ${keyOf(path)})`, {
        file: path,
      });
    }
    return { handle: rangedHandle(store, entry.key, entry.size), size: entry.size };
  };
}

/**
 * Item module `items/<id>/<stem>.mjs` of `store`, interpreted safely with every external array
 * as a LazyArray over the item's objects. `where` names the store in messages and LazyArray.file
 * (`/s3/<bucket>/<prefix>`: a path-like name, since the loader resolves array locations as paths).
 */
export async function loadItemLazily(
  store: Store,
  id: string,
  stem: string,
  where: string,
): Promise<unknown> {
  const prefix = `items/${id}/`;
  const entries = new Map<string, StoreEntry>();
  for (const entry of await store.list(prefix)) entries.set(entry.key, entry);
  const moduleKey = `${prefix}${stem}.mjs`;
  const bytes = entries.has(moduleKey) ? await store.get(moduleKey) : undefined;
  if (bytes === undefined) {
    throw new NotFoundError(`${store.location}/${moduleKey} does not exist`, {
      file: `${store.location}/${moduleKey}`,
    });
  }
  const root = posix.join("/", where.replace(/^s3:\/\//, "s3/"), "items", id);
  const file = posix.join(root, `${stem}.mjs`);
  const open = objectOpener(
    store,
    entries,
    root,
    (path) => `${prefix}${posix.relative(root, path)}`,
  );
  const text = new TextDecoder("utf-8", { fatal: false }).decode(bytes);
  const exports = await interpretSource(text, { file, root, lazy: true, open });
  return exports.default;
}
