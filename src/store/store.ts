/**
 * Where bytes live, as one small interface (after zarrita.js's stores): a flat namespace of keys
 * ("a/b/c.json", "/"-separated, relative, never ".." or absolute) mapped to byte strings. Two
 * implementations: fs-store.ts (a folder; atomic rename writes, link-based put-if-absent) and
 * s3-store.ts (any S3-compatible object store; `If-None-Match: *` put-if-absent).
 *
 * What is NOT here, on purpose: rename, append and locks. Object storage has none of them, so
 * everything built on this interface (the S3 DataSet's commit log) only needs whole-object puts,
 * and one atomic primitive: create-if-absent.
 */
import { ArchiveError, type ArchiveErrorOptions } from "../errors.js";

/** One key found by list(). */
export interface StoreEntry {
  key: string;
  size: number;
  /** Last write time as the store reports it (server clock for S3, mtime for files). */
  lastModified: Date;
}

export interface Store {
  /** A description for error messages: `s3://bucket/prefix` or a folder path. */
  readonly location: string;
  /** The whole object; undefined when the key does not exist. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** Bytes [start, end) of the object (fewer at its end); NotFoundError when missing. */
  getRange(key: string, start: number, end: number): Promise<Uint8Array>;
  /** Create or replace the object; readers see the old or the new bytes, never a mix. */
  put(key: string, bytes: Uint8Array): Promise<void>;
  /**
   * Create the object only if no object has that key: true when this call created it, false when
   * one existed (or a racing call created it first). Atomic: of N racing calls exactly one wins.
   */
  putIfAbsent(key: string, bytes: Uint8Array): Promise<boolean>;
  /** Every key that starts with `prefix`, in ascending (byte) order; after `startAfter` if given. */
  list(prefix: string, options?: { startAfter?: string }): Promise<StoreEntry[]>;
  /** Remove the object; no error when it does not exist. */
  delete(key: string): Promise<void>;
}

/**
 * The store could not be reached or refused a request after the retries its options allow (network
 * down, gateway restarting, credentials rejected). `retryable` says whether trying later may help.
 */
export class StoreError extends ArchiveError {
  readonly retryable: boolean;
  constructor(message: string, options: ArchiveErrorOptions & { retryable?: boolean } = {}) {
    super(message, options);
    this.retryable = options.retryable ?? false;
  }
}

/**
 * Whether `key` is one a store reads and writes: relative, "/"-separated, with no empty, "." or
 * ".." segment (so that no key can name anything outside its store, on disk or in a download).
 */
export function isValidKey(key: string): boolean {
  return !(
    key.length === 0 ||
    key.length > 900 ||
    key.startsWith("/") ||
    key.includes("\\") ||
    key.includes("\0") ||
    key.split("/").some((s) => s === "" || s === "." || s === "..")
  );
}

/** Checks a key (see isValidKey). */
export function checkKey(key: string, location: string): void {
  if (!isValidKey(key)) {
    throw new ArchiveError(
      `store ${location}: ${JSON.stringify(key)} is not a valid key (relative, "/"-separated, no "." or ".." segments)`,
    );
  }
}

/** `a` and `b` joined with one "/" (either may be empty). */
export function joinKey(a: string, b: string): string {
  if (a === "") return b;
  if (b === "") return a;
  return `${a.replace(/\/+$/, "")}/${b.replace(/^\/+/, "")}`;
}
