/**
 * The Store contract, the same cases on both implementations: a temp folder (FsStore) and the real
 * S3 gateway (S3Store). Plus what only S3 has: bounded retries that end in a typed StoreError.
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { describe, type TestContext, test } from "node:test";
import { ArchiveError, NotFoundError } from "../../src/errors.js";
import { FsStore } from "../../src/store/fs-store.js";
import { parseS3Url, S3Store } from "../../src/store/s3-store.js";
import { type Store, StoreError } from "../../src/store/store.js";
import { tempDir } from "../helpers/tmp.js";
import { requireGateway } from "./gateway.js";

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined) =>
  b === undefined ? undefined : new TextDecoder().decode(b);

const kinds: [string, (t: TestContext) => Promise<Store | undefined>][] = [
  ["fs", async () => new FsStore(await tempDir("persist-store-"))],
  [
    "s3",
    async (t) => {
      const gw = requireGateway(t);
      return gw && new S3Store(gw.freshUrl("store"), gw.options);
    },
  ],
];

for (const [kind, make] of kinds) {
  describe(`${kind} store`, () => {
    test("put, get, replace, delete; missing keys", async (t) => {
      const store = await make(t);
      if (!store) return;
      assert.equal(await store.get("a/b.json"), undefined);
      await store.put("a/b.json", bytes("one"));
      assert.equal(text(await store.get("a/b.json")), "one");
      await store.put("a/b.json", bytes("two"));
      assert.equal(text(await store.get("a/b.json")), "two");
      await store.put("empty", new Uint8Array(0));
      assert.equal((await store.get("empty"))?.length, 0);
      await store.delete("a/b.json");
      await store.delete("a/b.json"); // deleting a missing key is fine
      assert.equal(await store.get("a/b.json"), undefined);
    });

    test("ranged reads: inside, at the end, past the end, empty, missing", async (t) => {
      const store = await make(t);
      if (!store) return;
      await store.put("r", bytes("0123456789"));
      assert.equal(text(await store.getRange("r", 2, 5)), "234");
      assert.equal(text(await store.getRange("r", 7, 20)), "789");
      assert.equal(text(await store.getRange("r", 10, 12)), "");
      assert.equal(text(await store.getRange("r", 3, 3)), "");
      await assert.rejects(store.getRange("missing", 0, 4), NotFoundError);
    });

    test("putIfAbsent: of 8 racing creators exactly one wins, and its bytes stay", async (t) => {
      const store = await make(t);
      if (!store) return;
      for (let round = 0; round < 3; round++) {
        const key = `race/${round}`;
        const wins = await Promise.all(
          Array.from(
            { length: 8 },
            (_, i): Promise<boolean> => store.putIfAbsent(key, bytes(`writer ${i}`)),
          ),
        );
        assert.equal(wins.filter(Boolean).length, 1, `round ${round}: ${wins}`);
        assert.equal(text(await store.get(key)), `writer ${wins.indexOf(true)}`);
        assert.equal(await store.putIfAbsent(key, bytes("late")), false);
      }
    });

    test("list: by prefix, in key order, after a key, sizes and times", async (t) => {
      const store = await make(t);
      if (!store) return;
      const keys = ["log/002.json", "log/000.json", "log/001.json", "logx", "snap/1", "a"];
      const before = Date.now() - 60_000;
      for (const k of keys) await store.put(k, bytes(k));
      const log = await store.list("log/");
      assert.deepEqual(
        log.map((e) => e.key),
        ["log/000.json", "log/001.json", "log/002.json"],
      );
      assert.equal(log[0]?.size, "log/000.json".length);
      assert.ok((log[0]?.lastModified.getTime() ?? 0) > before);
      assert.deepEqual(
        (await store.list("log")).map((e) => e.key),
        ["log/000.json", "log/001.json", "log/002.json", "logx"],
      );
      assert.deepEqual(
        (await store.list("log/", { startAfter: "log/000.json" })).map((e) => e.key),
        ["log/001.json", "log/002.json"],
      );
      assert.deepEqual((await store.list("nothing/")).length, 0);
      assert.equal((await store.list("")).length, keys.length);
    });

    test("keys that could escape are refused", async (t) => {
      const store = await make(t);
      if (!store) return;
      for (const key of ["", "/abs", "a/../b", "..", "a//b", "./a", "a\\b"]) {
        await assert.rejects(store.put(key, bytes("x")), ArchiveError, key);
        await assert.rejects(store.get(key), ArchiveError, key);
      }
    });
  });
}

test("fs list leaves out names no key can have, as s3 list does (foreign-keys.test.ts)", async () => {
  const dir = await tempDir("persist-store-");
  const store = new FsStore(dir);
  await store.put("items/a/item.mjs", bytes("x"));
  // A backslash is an ordinary character in a Linux file name, but never in a key.
  writeFileSync(join(dir, "items", "a", "b\\c.mjs"), "y");
  mkdirSync(join(dir, "items", "d\\e"));
  writeFileSync(join(dir, "items", "d\\e", "f.mjs"), "z");
  assert.deepEqual(
    (await store.list("items/")).map((e) => e.key),
    ["items/a/item.mjs"],
  );
});

test("s3 list pages through more than 1000 keys", async (t) => {
  const gw = requireGateway(t);
  if (!gw) return;
  const store = new S3Store(gw.freshUrl("pages"), gw.options);
  const keys = Array.from({ length: 1050 }, (_, i) => `k/${String(i).padStart(5, "0")}`);
  for (let i = 0; i < keys.length; i += 50) {
    await Promise.all(keys.slice(i, i + 50).map((k) => store.put(k, bytes("."))));
  }
  assert.deepEqual(
    (await store.list("k/")).map((e) => e.key),
    keys,
  );
  assert.equal((await store.list("k/", { startAfter: "k/01000" })).length, 49);
});

test("s3 addresses: bucket and prefix, or a clear error", () => {
  assert.deepEqual(parseS3Url("s3://bucket/a/b/"), { bucket: "bucket", prefix: "a/b" });
  assert.deepEqual(parseS3Url("s3://bucket"), { bucket: "bucket", prefix: "" });
  for (const bad of ["s3://", "s3://ab/x", "http://x/y", "s3://bucket/a/../b"]) {
    assert.throws(() => parseS3Url(bad), ArchiveError, bad);
  }
});

test("s3 network errors are retried with backoff, then surface as a StoreError", async () => {
  // A port that accepts and closes connections at once, then one that refuses them.
  const server = createServer((socket) => socket.destroy());
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  let connections = 0;
  server.on("connection", () => connections++);
  const options = {
    endpoint: `http://127.0.0.1:${port}`,
    credentials: { accessKeyId: "k", secretAccessKey: "s" },
    maxAttempts: 4,
    retryDelay: 5,
  };
  try {
    const store = new S3Store("s3://bucket/p", options);
    const err = await store.get("x").then(
      () => assert.fail("no error"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof StoreError, String(err));
    assert.ok(err instanceof ArchiveError);
    assert.equal(err.retryable, true);
    assert.match(err.message, /s3:\/\/bucket\/p: GET x failed after 4 attempts/);
    assert.equal(connections, 4);
  } finally {
    await new Promise((r) => server.close(r));
  }
  const refused = new S3Store("s3://bucket/p", {
    ...options,
    endpoint: `http://127.0.0.1:${port}`,
  });
  await assert.rejects(refused.put("x", bytes("x")), StoreError);
});

test("s3 answers that retrying cannot fix fail at once: wrong credentials", async (t) => {
  const gw = requireGateway(t);
  if (!gw) return;
  const store = new S3Store(gw.freshUrl("creds"), {
    ...gw.options,
    credentials: { accessKeyId: "NOPE", secretAccessKey: "wrong" },
    maxAttempts: 5,
  });
  const err = await store.put("x", bytes("x")).then(
    () => assert.fail("no error"),
    (e: unknown) => e,
  );
  assert.ok(err instanceof StoreError);
  assert.equal(err.retryable, false);
  assert.match(err.message, /after 1 attempt.*credentials/);
});
