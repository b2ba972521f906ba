/**
 * The Store interface on a local folder: key "a/b.json" is the file `<root>/a/b.json`. Writes are
 * atomic (temp file, fsync, rename, fsync the folder: atomic.ts); putIfAbsent publishes its temp
 * file with link(), which fails with EEXIST when the name is taken, so exactly one racing creator
 * wins, as with S3's `If-None-Match: *`. Reads go through confined.ts: a key never reaches a file
 * outside the root through a symlink, and a FIFO never blocks.
 */
import { link, mkdir, readdir, rm, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { NotFoundError } from "../errors.js";
import { fsyncDir, tempPathFor, writeFileAtomic, writeNewFile } from "./atomic.js";
import { openConfined, readConfined, readExact } from "./confined.js";
import { checkKey, isValidKey, type Store, type StoreEntry } from "./store.js";

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOENT" || code === "ENOTDIR" || err instanceof NotFoundError;
}

export class FsStore implements Store {
  readonly location: string;

  constructor(root: string) {
    this.location = resolve(root);
  }

  private path(key: string): string {
    checkKey(key, this.location);
    return join(this.location, ...key.split("/"));
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      return await readConfined(this.path(key), { root: this.location, what: `object ${key}` });
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async getRange(key: string, start: number, end: number): Promise<Uint8Array> {
    const { handle, size } = await openConfined(this.path(key), {
      root: this.location,
      what: `object ${key}`,
    });
    try {
      const from = Math.min(start, size);
      return await readExact(handle, from, Math.max(0, Math.min(end, size) - from));
    } finally {
      await handle.close();
    }
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    const file = this.path(key);
    await mkdir(dirname(file), { recursive: true });
    await writeFileAtomic(file, bytes);
  }

  async putIfAbsent(key: string, bytes: Uint8Array): Promise<boolean> {
    const file = this.path(key);
    await mkdir(dirname(file), { recursive: true });
    const tmp = tempPathFor(file);
    await writeNewFile(tmp, bytes);
    try {
      await link(tmp, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw err;
    } finally {
      await rm(tmp, { force: true });
    }
    await fsyncDir(dirname(file));
    return true;
  }

  async list(prefix: string, options: { startAfter?: string } = {}): Promise<StoreEntry[]> {
    // Walk only the folder the prefix names (everything under "log/0001" is in "log/").
    const slash = prefix.lastIndexOf("/");
    const base = slash < 0 ? "" : prefix.slice(0, slash);
    const out: StoreEntry[] = [];
    await this.walk(base, out);
    return out
      .filter((e) => e.key.startsWith(prefix))
      .filter((e) => options.startAfter === undefined || e.key > options.startAfter)
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  private async walk(base: string, out: StoreEntry[]): Promise<void> {
    const dir = base === "" ? this.location : this.path(base);
    let entries: import("node:fs").Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (isMissing(err)) return;
      throw err;
    }
    for (const entry of entries) {
      // Temp files of atomic writes in flight are hidden (".name.pid.hex.tmp").
      if (entry.name.startsWith(".") && entry.name.endsWith(".tmp")) continue;
      const key = base === "" ? entry.name : `${base}/${entry.name}`;
      // Names no key can have (a backslash, say) are not ours, as in S3Store.list.
      if (!isValidKey(key)) continue;
      if (entry.isDirectory()) await this.walk(key, out);
      else if (entry.isFile()) {
        const info = await stat(join(dir, entry.name)).catch(() => undefined);
        if (info) out.push({ key, size: info.size, lastModified: info.mtime });
      }
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }
}
