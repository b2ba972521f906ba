/**
 * Writing items' files outside the lock, under names (stems) this writer has claimed
 * (claims.ts): the module `<stem>.mjs`, its declarations `<stem>.d.mts` and its npy data folder
 * `<stem>_arrays/`, each at its final name. Nobody reads them before the journal record that
 * lists them (the commit), so they need no staging folder and no renames: each file is created
 * exclusively, written, and then every file and folder is fsynced in one parallel round.
 *
 * Why synchronous calls: an async fs call costs two thread hand-offs (main thread → libuv pool →
 * main thread). On the 2-core bench machine that is ~45 µs of CPU and a scheduler wake-up per
 * call, while creating, writing a small file, closing or making a folder takes a few µs. Profiling
 * 4 writer processes showed most of their CPU in those hand-offs (context switches, futex and
 * eventfd wake-ups), not in the file system. So the metadata calls and small writes here are
 * synchronous; fsync (which waits for the disk) and writes of big arrays stay asynchronous.
 */
import * as fs from "node:fs";
import { constants } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { Archive, placeRuntime } from "../archive.js";
import { checkedForWrite, dataChunks, npyHeader } from "../arrays/npy.js";
import type { NDArray } from "../runtime/persist-runtime.mjs";
import { RUNTIME_FILE } from "../store/layout.js";
import { checkNotThenable, type ItemOptions, itemFiles, saveItem } from "./codec.js";

const fsyncAsync = promisify(fs.fsync);
const writeAsync = promisify(fs.write);

/** Create a new file, never following a symlink (O_EXCL fails on any existing entry). */
const NEW_FILE =
  constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);

/** Data larger than this is written asynchronously (a big synchronous write blocks the loop). */
const SYNC_WRITE_MAX = 64 * 1024;

/** How many fsyncs are in flight at once (libuv's pool runs 4 by default; more just queue). */
const FSYNC_WIDTH = 8;

/** A file to create: small text or bytes, or an array written as npy from its own memory. */
type NewFile = { path: string; text: string | Uint8Array } | { path: string; array: NDArray };

/**
 * Write the items durably (npy data; other formats go through Archive.save, one at a time).
 * Every value is rendered before anything is written, so an unarchivable one fails the batch
 * with nothing on disk. Leftovers of a dead writer under a claimed stem are removed first (the
 * stem is unlisted and ours now, so they are garbage; a symlink is never followed).
 * `listedItems`: about how many items the DataSet holds (to choose how to find leftovers).
 */
export async function stageItems(
  dir: string,
  items: readonly { stem: string; value: unknown }[],
  options: ItemOptions,
  listedItems = Number.POSITIVE_INFINITY,
): Promise<void> {
  if (options.dataFormat !== undefined && options.dataFormat !== "npy") {
    for (const { stem, value } of items) await saveItem(dir, stem, value, options);
    return;
  }
  const rendered = items.map(({ stem, value }) => {
    checkNotThenable(value, "the item", stem);
    const archive = Archive.ofItem(stem.split(".")[0]!, value, {
      arrayThreshold: options.arrayThreshold,
    });
    return { stem, files: archive.moduleFiles(stem, "npy") };
  });
  removeLeftovers(
    dir,
    rendered.map((r) => r.stem),
    listedItems,
  );
  if (rendered.some((r) => r.files.usesRuntime)) await ensureRuntime(dir);
  const files: NewFile[] = [];
  const folders: string[] = [dir];
  for (const { files: r } of rendered) {
    if (r.arrays.length > 0) {
      const data = join(dir, r.dataName);
      fs.mkdirSync(data);
      folders.push(data);
      for (const { name, array } of r.arrays)
        files.push({ path: join(data, `${name}.npy`), array });
    }
    for (const [file, text] of r.declarations) files.push({ path: join(dir, file), text });
    files.push({ path: join(dir, r.entry), text: r.text });
  }
  // Every entry exists once its file is created, so the folders' fsyncs need not wait for the
  // files': one round of fsyncs covers the data, the files' metadata and the folder entries.
  const tasks = [
    ...files.map((file) => () => writeNewFileSynced(file)),
    ...folders.map((folder) => () => fsyncFolder(folder)),
  ];
  await inParallel(tasks, FSYNC_WIDTH);
}

/**
 * Remove whatever dead writers left under `stems` (a symlink is never followed). Each stem has five
 * possible names. Probing them costs ~10 µs each on the bench machine: for insertMany's 1,000 items
 * that was 65 ms quiet, 140-250 ms under load, all before the first fsync; one listing of the
 * folder took 9-12 ms, ~1-2 µs per entry (about four per item already in the DataSet). So a big
 * batch into a small DataSet lists the folder once; a small batch probes.
 */
function removeLeftovers(dir: string, stems: readonly string[], listedItems: number): void {
  const present =
    stems.length > 1 && listedItems <= 4 * stems.length ? new Set(fs.readdirSync(dir)) : undefined;
  for (const stem of stems) {
    for (const file of itemFiles(stem)) {
      const path = join(dir, file);
      const exists = present
        ? present.has(file)
        : fs.lstatSync(path, { throwIfNoEntry: false }) !== undefined;
      if (exists) fs.rmSync(path, { recursive: true, force: true });
    }
  }
}

/** Create `file` (exclusively), write it and fsync it. */
async function writeNewFileSynced(file: NewFile): Promise<void> {
  const fd = fs.openSync(file.path, NEW_FILE, 0o666);
  try {
    if ("text" in file) {
      const bytes = typeof file.text === "string" ? Buffer.from(file.text, "utf8") : file.text;
      await writeAll(fd, bytes);
    } else {
      const array = checkedForWrite(file.array, file.path);
      await writeAll(fd, npyHeader(array));
      for (const chunk of dataChunks(array)) await writeAll(fd, chunk);
    }
    await fsyncAsync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

async function writeAll(fd: number, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    done +=
      bytes.length - done <= SYNC_WRITE_MAX
        ? fs.writeSync(fd, bytes, done, bytes.length - done)
        : (await writeAsync(fd, bytes, done, bytes.length - done)).bytesWritten;
  }
}

/** fsync a folder so the entries created in it are durable. */
async function fsyncFolder(folder: string): Promise<void> {
  const fd = fs.openSync(folder, constants.O_RDONLY | (constants.O_DIRECTORY ?? 0));
  try {
    await fsyncAsync(fd);
  } catch (err) {
    // Some file systems refuse fsync on folders (EINVAL/EISDIR); the entries are still there.
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "EINVAL" && code !== "EISDIR" && code !== "EPERM") throw err;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The DataSet's shared runtime file, placed (compared with ours, rewritten if different) once per
 * process and folder; later items only check that the same file is still there.
 */
const placedRuntime = new Map<string, string>();

async function ensureRuntime(dir: string): Promise<void> {
  const path = join(dir, RUNTIME_FILE);
  const seen = placedRuntime.get(dir);
  if (seen !== undefined && seen === identity(path)) return;
  await placeRuntime(dir);
  const now = identity(path);
  if (now !== undefined) placedRuntime.set(dir, now);
}

function identity(path: string): string | undefined {
  const s = fs.lstatSync(path, { throwIfNoEntry: false });
  return s?.isFile() ? `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}` : undefined;
}

/** Run `tasks`, `width` at a time; on a failure, stop starting new ones and wait for the rest. */
async function inParallel(tasks: readonly (() => Promise<void>)[], width: number): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (next < tasks.length && !failed) {
      try {
        await tasks[next++]!();
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const results = await Promise.allSettled(
    Array.from({ length: Math.min(width, tasks.length) }, worker),
  );
  const failure = results.find((r) => r.status === "rejected");
  if (failure !== undefined) throw (failure as PromiseRejectedResult).reason;
}
