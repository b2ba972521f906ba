/**
 * A commit whose answer never comes back: the gateway created the object, but every answer to
 * the conditional put (and to its retries) is lost on the way. The insert fails with a StoreError,
 * since the writer cannot know; the item IS committed, and its uploaded objects must still be
 * there for readers (a writer that removed them "to clean up" left an item without its data).
 * The loss is made by an HTTP proxy in front of the real gateway that drops those answers.
 */
import assert from "node:assert/strict";
import { createServer, request } from "node:http";
import { test } from "node:test";
import { DataSet } from "../../src/index.js";
import { StoreError } from "../../src/store/store.js";
import { requireGateway } from "./gateway.js";

/** A proxy to `target` that drops the answers of conditional puts to keys matching `drop`. */
async function droppingProxy(target: string, drop: { pattern: RegExp | undefined }) {
  const url = new URL(target);
  const server = createServer((req, res) => {
    const lose =
      req.method === "PUT" &&
      req.headers["if-none-match"] === "*" &&
      drop.pattern?.test(req.url ?? "") === true;
    const upstream = request(
      {
        host: url.hostname,
        port: url.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        if (lose) {
          // The gateway did the work; the client never hears of it.
          answer.resume();
          answer.on("end", () => res.socket?.destroy());
          return;
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => res.socket?.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("proxy: no port");
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

for (const [what, laneSize, key] of [
  ["in a writer lane", 64, /\/lanes\//],
  ["in the shared log (laneSize 0)", 0, /\/log\/\d+\.json/],
] as const) {
  test(`an insert whose commit answer is lost fails, and leaves the committed item whole (${what})`, async (t) => {
    const gw = requireGateway(t);
    if (!gw) return;
    const drop: { pattern: RegExp | undefined } = { pattern: undefined };
    const proxy = await droppingProxy(gw.endpoint, drop);
    try {
      const url = gw.freshUrl("lost-answer");
      const s3 = {
        ...gw.options,
        endpoint: proxy.endpoint,
        maxAttempts: 2,
        retryDelay: 10,
        laneSize,
      };
      const ds = await DataSet.open(url, { mode: "w", s3 });
      assert.equal(await ds.insert({ first: new Float64Array(20).fill(1) }), "x_0");
      drop.pattern = key;
      const value = { lost: new Float64Array(200).fill(2.5) };
      await assert.rejects(ds.insert(value, { info: { k: 1 } }), StoreError);
      drop.pattern = undefined;
      const reader = await DataSet.open(url, { s3: gw.options });
      assert.deepEqual(await reader.keys(), ["x_0", "x_1"]);
      assert.deepEqual(await reader.get("x_1"), value);
      assert.deepEqual(await reader.info("x_1"), { k: 1 });
      // The writer goes on, past the item it could not know it had committed.
      assert.equal(await ds.insert(3), "x_2");
      await ds.close();
    } finally {
      await proxy.close();
    }
  });
}
