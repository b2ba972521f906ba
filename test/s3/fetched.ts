/** Counting what the S3 store is asked for (lazy reads, the cost of an insert). */
import { S3Store } from "../../src/store/s3-store.js";

/** Counts the bytes S3Store reads return while `fn` runs. */
export async function bytesFetched(
  fn: () => Promise<unknown>,
): Promise<{ bytes: number; gets: number }> {
  const proto = S3Store.prototype;
  const get = proto.get;
  const getRange = proto.getRange;
  const seen = { bytes: 0, gets: 0 };
  proto.get = async function (this: S3Store, key: string) {
    const out = await get.call(this, key);
    seen.gets++;
    seen.bytes += out?.length ?? 0;
    return out;
  };
  proto.getRange = async function (this: S3Store, key: string, start: number, end: number) {
    const out = await getRange.call(this, key, start, end);
    seen.gets++;
    seen.bytes += out.length;
    return out;
  };
  try {
    await fn();
  } finally {
    proto.get = get;
    proto.getRange = getRange;
  }
  return seen;
}

/** Counts the S3Store calls (get, getRange, put, putIfAbsent, list, delete) made while `fn` runs. */
export async function storeCalls(fn: () => Promise<unknown>): Promise<Record<string, number>> {
  const proto = S3Store.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  const methods = ["get", "getRange", "put", "putIfAbsent", "list", "delete"];
  const saved = methods.map((m) => proto[m] as (...a: unknown[]) => unknown);
  const calls: Record<string, number> = {};
  methods.forEach((m, i) => {
    proto[m] = function (this: unknown, ...args: unknown[]) {
      calls[m] = (calls[m] ?? 0) + 1;
      return (saved[i] as (...a: unknown[]) => unknown).apply(this, args);
    };
  });
  try {
    await fn();
  } finally {
    methods.forEach((m, i) => {
      proto[m] = saved[i] as (...a: unknown[]) => unknown;
    });
  }
  return calls;
}
