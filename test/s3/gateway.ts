/**
 * The S3 gateway the tests talk to: a real Ceph radosgw that `.ci/run` (or a developer, with
 * `eval "$(bash ci/rgw/start.sh)"`) started and described in S3_ENDPOINT, S3_ACCESS_KEY,
 * S3_SECRET_KEY, S3_BUCKET. Without it the tests skip loudly; with PERSIST_REQUIRE_S3=1 (CI) a
 * missing gateway is a failure. Every test works under its own fresh prefix, removed at the end.
 */
import { randomBytes } from "node:crypto";
import { after, type TestContext } from "node:test";
import { type S3Options, S3Store } from "../../src/store/s3-store.js";

export interface Gateway {
  endpoint: string;
  bucket: string;
  options: S3Options;
  /** A fresh `s3://bucket/<unique>` address (deleted when the test file ends). */
  freshUrl(label?: string): string;
}

let cached: Gateway | undefined;
const prefixes: string[] = [];

export function gatewayConfig(): Gateway | undefined {
  const { S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY, S3_BUCKET } = process.env;
  if (!S3_ENDPOINT || !S3_ACCESS_KEY || !S3_SECRET_KEY || !S3_BUCKET) return undefined;
  if (cached) return cached;
  const options: S3Options = {
    endpoint: S3_ENDPOINT,
    region: process.env.S3_REGION || "us-east-1",
    credentials: { accessKeyId: S3_ACCESS_KEY, secretAccessKey: S3_SECRET_KEY },
    forcePathStyle: true,
  };
  cached = {
    endpoint: S3_ENDPOINT,
    bucket: S3_BUCKET,
    options,
    freshUrl(label = "t") {
      const prefix = `persist-test/${label}-${Date.now().toString(36)}-${randomBytes(4).toString("hex")}`;
      if (prefixes.length === 0) after(removePrefixes);
      prefixes.push(prefix);
      return `s3://${S3_BUCKET}/${prefix}`;
    },
  };
  return cached;
}

async function removePrefixes(): Promise<void> {
  if (process.env.PERSIST_KEEP_TMP || !cached) return;
  const gw = cached;
  await Promise.all(
    prefixes.map(async (prefix) => {
      const store = new S3Store(`s3://${gw.bucket}/${prefix}`, gw.options);
      const keys = (await store.list("").catch(() => [])).map((e) => e.key);
      for (let i = 0; i < keys.length; i += 32) {
        await Promise.all(keys.slice(i, i + 32).map((k) => store.delete(k).catch(() => undefined)));
      }
    }),
  );
}

/**
 * The gateway, or undefined after skipping the test loudly; with PERSIST_REQUIRE_S3=1 a missing
 * gateway fails the test instead.
 */
export function requireGateway(t: TestContext): Gateway | undefined {
  const gw = gatewayConfig();
  if (gw) return gw;
  const msg =
    "no S3 gateway: S3_ENDPOINT/S3_ACCESS_KEY/S3_SECRET_KEY/S3_BUCKET are not set " +
    '(start one with: eval "$(bash ci/rgw/start.sh)")';
  if (process.env.PERSIST_REQUIRE_S3 === "1") throw new Error(`PERSIST_REQUIRE_S3=1 but ${msg}`);
  console.warn(`\n*** SKIPPING S3 test: ${msg} ***\n`);
  t.skip(msg);
  return undefined;
}
