/**
 * The Store interface on any S3-compatible object store (AWS S3, Ceph radosgw, ...), through
 * @aws-sdk/client-s3. Addresses are `s3://bucket/prefix`; every key lives under `prefix/`.
 *
 * Retries are ours, not the SDK's (its maxAttempts is 1): a bounded number of attempts with
 * exponential backoff and jitter on network errors, timeouts, 5xx and throttling, then a
 * StoreError. Doing it here lets putIfAbsent() resolve the one ambiguous case a blind retry gets
 * wrong: an attempt that created the object but whose answer was lost is followed by a retry that
 * gets 412; we then read the object back, and it is ours when it holds exactly our bytes.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { ArchiveError, NotFoundError } from "../errors.js";
import { checkKey, isValidKey, joinKey, type Store, type StoreEntry, StoreError } from "./store.js";

/** How to reach an S3-compatible store. Unset fields come from the standard AWS_* variables. */
/** Requests one operation keeps in flight at once: object stores are latency-bound per request. */
export const S3_IN_FLIGHT = 8;

export interface S3Options {
  /** e.g. "http://127.0.0.1:7480"; default AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, else AWS S3. */
  endpoint?: string;
  /** Default AWS_REGION, AWS_DEFAULT_REGION, else "us-east-1". */
  region?: string;
  /** Default AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN (the SDK's chain). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Path-style URLs (`endpoint/bucket/key`); default true when an endpoint is given. */
  forcePathStyle?: boolean;
  /** Attempts per request before a StoreError (default 8: about 25 s of backoff in all). */
  maxAttempts?: number;
  /** First backoff delay in ms (default 100), doubled per attempt up to 5 s, with jitter. */
  retryDelay?: number;
  /** ms before one request is abandoned and retried (default 30000). */
  requestTimeout?: number;
}

/** bucket and key prefix of an `s3://bucket/prefix` address. */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([^/]+)\/*(.*)$/.exec(url);
  const bucket = match?.[1];
  if (bucket === undefined || bucket.length < 3) {
    throw new ArchiveError(
      `${JSON.stringify(url)} is not an S3 address; write s3://bucket/prefix (bucket names have at least 3 characters)`,
    );
  }
  const prefix = (match?.[2] ?? "").replace(/\/+$/, "");
  if (prefix !== "") checkKey(prefix, url);
  return { bucket, prefix };
}

export function isS3Url(path: unknown): path is string {
  return typeof path === "string" && path.startsWith("s3://");
}

function env(name: string): string | undefined {
  const value = process.env[name];
  return value === undefined || value === "" ? undefined : value;
}

/** One S3Client per distinct configuration: clients keep connections alive, so share them. */
const clients = new Map<string, S3Client>();

function clientFor(options: S3Options): S3Client {
  const endpoint = options.endpoint ?? env("AWS_ENDPOINT_URL_S3") ?? env("AWS_ENDPOINT_URL");
  const region = options.region ?? env("AWS_REGION") ?? env("AWS_DEFAULT_REGION") ?? "us-east-1";
  const forcePathStyle = options.forcePathStyle ?? endpoint !== undefined;
  const requestTimeout = options.requestTimeout ?? 30_000;
  const id = JSON.stringify([
    endpoint,
    region,
    forcePathStyle,
    requestTimeout,
    options.credentials,
  ]);
  let client = clients.get(id);
  if (client === undefined) {
    client = new S3Client({
      ...(endpoint === undefined ? {} : { endpoint }),
      region,
      forcePathStyle,
      ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
      maxAttempts: 1,
      // SDK >= 3.729 adds checksums by default; RGW 16.2 answers a streaming PutObject with 411.
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
      requestHandler: { requestTimeout, connectionTimeout: Math.min(requestTimeout, 10_000) },
    });
    clients.set(id, client);
  }
  return client;
}

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

function statusOf(err: unknown): number | undefined {
  return (err as SdkError | undefined)?.$metadata?.httpStatusCode;
}

/**
 * Server errors and throttling may pass, other HTTP answers will not; no answer at all (connection
 * refused or reset, timeout: the gateway restarting) may pass too.
 */
function isRetryable(err: unknown): boolean {
  const status = statusOf(err);
  if (status !== undefined) return status >= 500 || status === 429 || status === 408;
  return true;
}

export class S3Store implements Store {
  readonly location: string;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly maxAttempts: number;
  private readonly retryDelay: number;

  constructor(
    url: string,
    private readonly options: S3Options = {},
  ) {
    const { bucket, prefix } = parseS3Url(url);
    this.bucket = bucket;
    this.prefix = prefix;
    this.location = `s3://${bucket}${prefix === "" ? "" : `/${prefix}`}`;
    this.client = clientFor(options);
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 8);
    this.retryDelay = Math.max(1, options.retryDelay ?? 100);
  }

  /** The store for `s3://bucket/prefix/sub` (same client and settings). */
  sub(subPrefix: string): S3Store {
    return new S3Store(`${this.location}/${subPrefix}`, this.options);
  }

  private objectKey(key: string): string {
    checkKey(key, this.location);
    return joinKey(this.prefix, key);
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const Key = this.objectKey(key);
    return this.retry(`GET ${key}`, async () => {
      try {
        const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key }));
        return (await out.Body?.transformToByteArray()) ?? new Uint8Array(0);
      } catch (err) {
        if ((err as SdkError).name === "NoSuchKey" || statusOf(err) === 404) return undefined;
        throw err;
      }
    });
  }

  async getRange(key: string, start: number, end: number): Promise<Uint8Array> {
    if (!(Number.isSafeInteger(start) && Number.isSafeInteger(end) && 0 <= start && start <= end)) {
      throw new ArchiveError(`store ${this.location}: bad range [${start}, ${end}) of ${key}`);
    }
    if (start === end) return new Uint8Array(0);
    const Key = this.objectKey(key);
    return this.retry(`GET ${key} bytes ${start}-${end - 1}`, async () => {
      try {
        const out = await this.client.send(
          new GetObjectCommand({ Bucket: this.bucket, Key, Range: `bytes=${start}-${end - 1}` }),
        );
        return (await out.Body?.transformToByteArray()) ?? new Uint8Array(0);
      } catch (err) {
        const status = statusOf(err);
        if ((err as SdkError).name === "NoSuchKey" || status === 404) {
          throw new NotFoundError(`${this.location}/${key} does not exist`, {
            file: `${this.location}/${key}`,
          });
        }
        // Range starting at or past the end: S3 answers 416; the contract is "fewer bytes".
        if (status === 416) return new Uint8Array(0);
        throw err;
      }
    });
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    const Key = this.objectKey(key);
    await this.retry(`PUT ${key}`, () =>
      this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key, Body: bytes })),
    );
  }

  async putIfAbsent(key: string, bytes: Uint8Array): Promise<boolean> {
    const Key = this.objectKey(key);
    let attempted = false;
    const created = await this.retry(`PUT ${key} (If-None-Match: *)`, async () => {
      const retrying = attempted;
      attempted = true;
      try {
        await this.client.send(
          new PutObjectCommand({ Bucket: this.bucket, Key, Body: bytes, IfNoneMatch: "*" }),
        );
        return true;
      } catch (err) {
        const status = statusOf(err);
        if (status !== 412 && status !== 409) throw err;
        if (!retrying) return false;
        // An earlier attempt may have created it and lost the answer: ours if it holds our bytes.
        const existing = await this.get(key);
        return existing !== undefined && Buffer.from(existing).equals(Buffer.from(bytes));
      }
    });
    return created;
  }

  async list(prefix: string, options: { startAfter?: string } = {}): Promise<StoreEntry[]> {
    const root = this.prefix === "" ? "" : `${this.prefix}/`;
    const Prefix = root + prefix;
    const out: StoreEntry[] = [];
    let token: string | undefined;
    const StartAfter = options.startAfter === undefined ? undefined : root + options.startAfter;
    do {
      const page = await this.retry(`LIST ${prefix}`, () =>
        this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix,
            ContinuationToken: token,
            ...(token === undefined && StartAfter !== undefined ? { StartAfter } : {}),
          }),
        ),
      );
      for (const item of page.Contents ?? []) {
        if (item.Key === undefined || !item.Key.startsWith(root)) continue;
        const key = item.Key.slice(root.length);
        // Keys no store operation accepts are not ours: "folder" markers (`run1/`, made by S3
        // consoles and sync tools) or anything with empty, "." or ".." segments that another
        // client put there. Listed, every caller would fail on them (get and delete refuse
        // them): a download of the archive around them, and the stale-upload cleanup of every
        // write-open. Unlisted, an archive that needs such a file is simply missing it.
        if (!isValidKey(key)) continue;
        out.push({
          key,
          size: item.Size ?? 0,
          lastModified: item.LastModified ?? new Date(0),
        });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return out;
  }

  async delete(key: string): Promise<void> {
    const Key = this.objectKey(key);
    await this.retry(`DELETE ${key}`, () =>
      this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key })),
    );
  }

  /** Run `attempt` until it succeeds, a non-retryable error, or maxAttempts; then StoreError. */
  private async retry<T>(what: string, attempt: () => Promise<T>): Promise<T> {
    let delay = this.retryDelay;
    for (let n = 1; ; n++) {
      try {
        return await attempt();
      } catch (err) {
        if (err instanceof ArchiveError) throw err;
        const retryable = isRetryable(err);
        if (!retryable || n >= this.maxAttempts) throw this.storeError(what, err, n, retryable);
        await new Promise((r) => setTimeout(r, delay * (0.5 + Math.random())));
        delay = Math.min(delay * 2, 5_000);
      }
    }
  }

  private storeError(what: string, err: unknown, attempts: number, retryable: boolean): StoreError {
    const e = err as SdkError;
    const status = statusOf(err);
    const why = `${e?.name ?? "Error"}${status === undefined ? "" : ` (HTTP ${status})`}: ${e?.message ?? String(err)}`;
    let hint = "check the endpoint and that the store is up, then try again";
    if (status === 403)
      hint =
        "check the credentials (options.s3.credentials or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)";
    else if (e?.name === "NoSuchBucket") hint = `create bucket ${this.bucket} first`;
    return new StoreError(
      `${this.location}: ${what} failed after ${attempts} attempt${attempts === 1 ? "" : "s"}: ${why}; ${hint}`,
      { file: this.location, cause: err, retryable },
    );
  }
}
