/**
 * Safe reads of untrusted files: archive modules, package.json, data files, DataSet files.
 *
 * A file is read only if
 *  - its real path (after every symlink, in every component) lies inside a given root folder, so
 *    a symlink in an archive cannot make the library read `/etc/passwd` or another user's data;
 *  - it is a regular file, checked with fstat on the opened descriptor. The open itself uses
 *    O_NONBLOCK, so a FIFO cannot block a libuv thread-pool thread (four blocked opens would
 *    starve every other fs call of the process), and O_NOFOLLOW on the resolved path, so the last
 *    component cannot be swapped for a symlink between the check and the open;
 *  - it is not larger than a byte limit, checked before anything is allocated.
 * On Linux the descriptor's real path is checked again after the open (/proc/self/fd), which also
 * closes the window in which a parent folder could be swapped.
 *
 * Buffers returned here are exact-size `Uint8Array`s over their own ArrayBuffer (never a slice of
 * Node's shared pool), so `.buffer` holds the file's bytes and nothing else.
 *
 * Hand-written: Node has no "open beneath" (openat2 RESOLVE_BENEATH) and no npm library does the
 * realpath + non-blocking open + fstat sequence for arbitrary roots.
 */

import { isAscii } from "node:buffer";
import {
  closeSync,
  constants,
  fstatSync,
  openSync,
  readlinkSync,
  readSync,
  realpathSync,
  type Stats,
} from "node:fs";
import { type FileHandle, open, readlink, realpath, stat } from "node:fs/promises";
import { isAbsolute, relative, resolve, sep } from "node:path";
import { FormatError, NotFoundError } from "../errors.js";

/** Default byte limit of readConfined(): 4 GiB, above which typed arrays cannot be built anyway. */
export const DEFAULT_MAX_BYTES = 2 ** 32;

const O_NONBLOCK = constants.O_NONBLOCK ?? 0;
const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;

export interface ConfinedOptions {
  /** The folder the file must really lie in (after symlinks). */
  root: string;
  /** Refuse files larger than this many bytes (FormatError). Default DEFAULT_MAX_BYTES. */
  maxBytes?: number;
  /** What the file is, for messages ("package.json", "array file", ...). Default "file". */
  what?: string;
  /** Name of the option that raises maxBytes, quoted in the too-big message. */
  maxBytesOption?: string;
}

/** True when `path` is `root` itself or lies below it (both absolute, already resolved). */
export function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  if (rel === "") return true;
  // `..evil.mjs` is a file inside; only `..` itself or `../...` leaves the root.
  return rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

function describe(options: ConfinedOptions): string {
  return options.what ?? "file";
}

function errno(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * The typed error for a failed realpath() ("resolve") or open() ("open") of `path`: missing →
 * NotFoundError; a symlink loop, or anything else → FormatError naming the errno.
 */
function pathError(
  error: unknown,
  path: string,
  step: "resolve" | "open",
  options: ConfinedOptions,
): never {
  const code = errno(error);
  const what = describe(options);
  if (code === "ENOENT" || code === "ENOTDIR") {
    throw new NotFoundError(`${what} ${path} does not exist`, { file: path, cause: error });
  }
  if (code === "ELOOP" && step === "resolve") {
    throw new FormatError(`${what} ${path} is a symlink loop; remove it`, {
      file: path,
      cause: error,
    });
  }
  // ELOOP at open: the last component became a symlink after realpath() (a swap in progress).
  throw new FormatError(`cannot ${step} ${what} ${path}: ${code ?? error}`, {
    file: path,
    cause: error,
  });
}

/** realpath() with typed errors. */
async function realPathOf(path: string, options: ConfinedOptions): Promise<string> {
  try {
    return await realpath(path);
  } catch (error) {
    pathError(error, path, "resolve", options);
  }
}

/** The real path of `root` (the folder itself may be reached through symlinks: that is trusted). */
export async function realRoot(root: string): Promise<string> {
  return realPathOf(resolve(root), { root, what: "folder" });
}

function outside(path: string, real: string, root: string, options: ConfinedOptions): never {
  throw new FormatError(
    `${describe(options)} ${path} resolves to ${real}, outside ${root}: files an archive refers ` +
      "to must lie inside its folder (replace the symlink with the file itself)",
    { file: path },
  );
}

function notRegular(path: string, info: Stats, options: ConfinedOptions): never {
  const kind = info.isDirectory()
    ? "a directory"
    : info.isFIFO()
      ? "a FIFO (named pipe)"
      : info.isSocket()
        ? "a socket"
        : info.isCharacterDevice() || info.isBlockDevice()
          ? "a device"
          : "not a regular file";
  throw new FormatError(
    `${describe(options)} ${path} is ${kind}, not a regular file: replace it with the real file`,
    { file: path },
  );
}

/**
 * Resolves `path` and checks that it lies inside `options.root`, without opening it (stat never
 * blocks on a FIFO). Returns the real path and its stats. Use for folders (`kind: "directory"`);
 * use openConfined() for files you are going to read.
 */
export async function checkConfined(
  path: string,
  options: ConfinedOptions & { kind?: "file" | "directory" },
): Promise<{ real: string; stats: Stats }> {
  const root = await realRoot(options.root);
  const full = resolve(path);
  const real = await realPathOf(full, options);
  if (!isInside(root, real)) outside(full, real, root, options);
  const stats = await stat(real);
  const kind = options.kind ?? "file";
  if (kind === "directory") {
    if (!stats.isDirectory()) {
      throw new FormatError(`${describe(options)} ${full} is not a directory`, { file: full });
    }
  } else if (!stats.isFile()) notRegular(full, stats, options);
  return { real, stats };
}

/**
 * Opens `path` read-only if it really lies inside `options.root` and is a regular file within the
 * byte limit. The caller closes the handle. Never blocks on FIFOs or devices.
 */
export async function openConfined(
  path: string,
  options: ConfinedOptions,
): Promise<{ handle: FileHandle; size: number; real: string }> {
  const root = await realRoot(options.root);
  const full = resolve(path);
  const real = await realPathOf(full, options);
  if (!isInside(root, real)) outside(full, real, root, options);
  let handle: FileHandle;
  try {
    handle = await open(real, constants.O_RDONLY | O_NONBLOCK | O_NOFOLLOW);
  } catch (error) {
    pathError(error, full, "open", options);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) notRegular(full, info, options);
    await checkDescriptorPath(handle, root, full, options);
    const max = options.maxBytes ?? DEFAULT_MAX_BYTES;
    if (info.size > max) {
      const option = options.maxBytesOption ? ` (raise ${options.maxBytesOption} to allow it)` : "";
      throw new FormatError(
        `${describe(options)} ${full} is ${info.size} bytes, more than the limit of ${max}${option}`,
        { file: full },
      );
    }
    return { handle, size: info.size, real };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/** Linux: where the descriptor really points, so a parent swapped after realpath() is caught. */
async function checkDescriptorPath(
  handle: FileHandle,
  root: string,
  full: string,
  options: ConfinedOptions,
): Promise<void> {
  if (process.platform !== "linux") return;
  let target: string;
  try {
    target = await readlink(`/proc/self/fd/${handle.fd}`);
  } catch {
    return; // no /proc (containers without it): the realpath check above stands alone
  }
  if (!isInside(root, target)) outside(full, target, root, options);
}

/**
 * Reads `count` bytes at `position` into a new exact-size Uint8Array; fewer when the file ends
 * (then the result is copied to an exact-size buffer of what was read).
 */
export async function readExact(
  handle: FileHandle,
  position: number,
  count: number,
): Promise<Uint8Array> {
  const out = new Uint8Array(count);
  let got = 0;
  while (got < count) {
    const { bytesRead } = await handle.read(
      out,
      got,
      Math.min(count - got, 1 << 30),
      position + got,
    );
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got === count ? out : out.slice(0, got);
}

/** Reads a whole confined file into an exact-size Uint8Array (see openConfined for the checks). */
export async function readConfined(path: string, options: ConfinedOptions): Promise<Uint8Array> {
  const { handle, size } = await openConfined(path, options);
  try {
    return await readExact(handle, 0, size);
  } finally {
    await handle.close();
  }
}

export async function readConfinedText(path: string, options: ConfinedOptions): Promise<string> {
  const bytes = await readConfined(path, options);
  // The Buffer is a view of `bytes`, not a copy. Pure ASCII text (what the emitter writes) decodes
  // as "ascii", a plain copy; on Node 20 "utf8" and TextDecoder take ~60x longer on the same bytes
  // (28 ms for 7 MB). Other text decodes as UTF-8 (invalid bytes become U+FFFD, a leading BOM is
  // kept, exactly like readFile(path, "utf8")).
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return buffer.toString(isAscii(buffer) ? "ascii" : "utf8");
}

/**
 * Synchronous openConfined() (same checks): the caller closes `fd`. For hot paths made of many
 * tiny calls, where an async call's thread hand-offs cost more than the call (DataSet journal).
 * The open never blocks on a FIFO (O_NONBLOCK), so this cannot hang the event loop either.
 */
export function openConfinedSync(
  path: string,
  options: ConfinedOptions,
): { fd: number; size: number; real: string } {
  const full = resolve(path);
  let root: string;
  let real: string;
  try {
    root = realpathSync(resolve(options.root));
    real = realpathSync(full);
  } catch (error) {
    pathError(error, full, "resolve", options);
  }
  if (!isInside(root, real)) outside(full, real, root, options);
  let fd: number;
  try {
    fd = openSync(real, constants.O_RDONLY | O_NONBLOCK | O_NOFOLLOW);
  } catch (error) {
    pathError(error, full, "open", options);
  }
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) notRegular(full, info, options);
    if (process.platform === "linux") {
      // Where the descriptor really points, so a parent swapped after realpath() is caught.
      let target: string | undefined;
      try {
        target = readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        // no /proc (containers without it): the realpath check above stands alone
      }
      if (target !== undefined && !isInside(root, target)) outside(full, target, root, options);
    }
    const max = options.maxBytes ?? DEFAULT_MAX_BYTES;
    if (info.size > max) {
      const option = options.maxBytesOption ? ` (raise ${options.maxBytesOption} to allow it)` : "";
      throw new FormatError(
        `${describe(options)} ${full} is ${info.size} bytes, more than the limit of ${max}${option}`,
        { file: full },
      );
    }
    return { fd, size: info.size, real };
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/**
 * Synchronous readConfined() for code that cannot await (same checks; the open never blocks on a
 * FIFO because of O_NONBLOCK, so this cannot hang the event loop either).
 */
export function readConfinedSync(path: string, options: ConfinedOptions): Uint8Array {
  const { fd, size } = openConfinedSync(path, options);
  try {
    const out = new Uint8Array(size);
    let got = 0;
    while (got < out.length) {
      const n = readSync(fd, out, got, Math.min(out.length - got, 1 << 30), got);
      if (n === 0) break;
      got += n;
    }
    return got === out.length ? out : out.slice(0, got);
  } finally {
    closeSync(fd);
  }
}
