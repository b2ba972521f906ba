/** Counting what lazy reads fetch from the store (lazy.test.ts, archive-lazy.test.ts). */
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
