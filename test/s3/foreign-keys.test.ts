/**
 * Objects in an archive's or DataSet's prefix that no store operation accepts, put there by other
 * clients: "folder" markers (`run1/`, which S3 consoles and sync tools create) and keys with empty,
 * "." or ".." segments. They are not ours: loads, write-opens and stale-upload cleanup go on as if
 * they were not there (before, each one listed made every such call fail), and none of them is
 * ever written outside the download folder.
 */
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { DeleteObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { Archive, DataSet, load } from "../../src/index.js";
import { tempDir } from "../helpers/tmp.js";
import { type Gateway, requireGateway } from "./gateway.js";

/** A client that puts any key as given (the store refuses these keys, by design). */
function rawClient(gw: Gateway): S3Client {
  return new S3Client({
    endpoint: gw.endpoint,
    region: gw.options.region ?? "us-east-1",
    forcePathStyle: true,
    ...(gw.options.credentials === undefined ? {} : { credentials: gw.options.credentials }),
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}

/** Puts `keys` (relative to `url`'s prefix) and returns a function that deletes them again. */
async function putForeign(
  gw: Gateway,
  url: string,
  keys: readonly string[],
): Promise<() => Promise<void>> {
  const client = rawClient(gw);
  const prefix = url.slice(`s3://${gw.bucket}/`.length);
  for (const key of keys) {
    const Body = key.endsWith("/")
      ? new Uint8Array(0)
      : new TextEncoder().encode("export default 666;\n");
    await client.send(new PutObjectCommand({ Bucket: gw.bucket, Key: `${prefix}/${key}`, Body }));
  }
  return async () => {
    for (const key of keys) {
      await client.send(new DeleteObjectCommand({ Bucket: gw.bucket, Key: `${prefix}/${key}` }));
    }
    client.destroy();
  };
}

/** Runs `fn` with os.tmpdir() pointing at a fresh folder; returns what was left in its parent. */
async function withPrivateTmp(fn: () => Promise<void>): Promise<string[]> {
  const outer = await tempDir("persist-s3-foreign-");
  const inner = join(outer, "tmp");
  await (await import("node:fs/promises")).mkdir(inner);
  const before = process.env.TMPDIR;
  process.env.TMPDIR = inner; // os.tmpdir() reads it on every call
  try {
    await fn();
  } finally {
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
  }
  return [...(await readdir(outer)), ...(await readdir(inner)).map((f) => `tmp/${f}`)];
}

test("an archive among folder markers and foreign keys loads, and nothing lands outside", async (t) => {
  const gw = requireGateway(t);
  if (!gw) return;
  const url = gw.freshUrl("foreign-archive");
  const archive = new Archive({ arrayThreshold: 4 });
  archive.insert({ results: { data: new Float64Array(16).fill(2.5), label: "run" } });
  await archive.save(url, { name: "run1", s3: gw.options });
  await archive.save(url, { name: "run2", package: false, s3: gw.options });
  const removeForeign = await putForeign(gw, url, [
    "run1/",
    "run1/sub/",
    "run1//double.mjs",
    "run1/./dot.mjs",
    "run1/../escaped.mjs",
    "run1/a/../../../../escaped-far.mjs",
    "run2_arrays/",
  ]);
  try {
    const left = await withPrivateTmp(async () => {
      for (const target of [`${url}/run1`, `${url}/run1/index.mjs`, `${url}/run2.mjs`]) {
        const got = (await load(target, { s3: gw.options })) as {
          results: { data: Float64Array; label: string };
        };
        assert.deepEqual(got.results.data, new Float64Array(16).fill(2.5), target);
        assert.equal(got.results.label, "run");
      }
    });
    assert.deepEqual(left, ["tmp"], "every download folder removed, nothing written beside it");
  } finally {
    await removeForeign();
  }
});

test("folder markers and foreign keys among a DataSet's objects stop no write-open or cleanup", async (t) => {
  const gw = requireGateway(t);
  if (!gw) return;
  const url = gw.freshUrl("foreign-dataset");
  const ds = await DataSet.open(url, { mode: "w", s3: gw.options });
  await ds.insert({ v: new Float64Array(8).fill(1) }, { info: { i: 0 } });
  const removeForeign = await putForeign(gw, url, [
    "items/",
    "items/abc/",
    "items/x//item.mjs",
    "items/../item.mjs",
    "log/",
    "snapshots/",
    "lanes/",
    "lanes/abc/",
    "lanes/abc//000001.json",
  ]);
  try {
    // With no grace, every unreferenced upload is stale: the write-open's cleanup runs over all.
    await DataSet.open(url, { mode: "w", s3: { ...gw.options, staleUploadGrace: 0 } });
    const writer = await DataSet.open(url, { mode: "w", s3: gw.options });
    assert.equal(await writer.insert(2), "x_1");
    const reader = await DataSet.open(url, { s3: gw.options });
    assert.deepEqual(await reader.keys(), ["x_0", "x_1"]);
    assert.deepEqual(await reader.get("x_0"), { v: new Float64Array(8).fill(1) });
    assert.deepEqual(await reader.infos(), { x_0: { i: 0 }, x_1: null });
  } finally {
    await removeForeign();
  }
});
