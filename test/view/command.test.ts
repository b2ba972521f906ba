/**
 * `persist view PATH --port N --host 127.0.0.1` (API.md): the viewer binds the port and host it
 * is given, prints that URL, and serves the page with the token (no browser needed here).
 */
import assert from "node:assert/strict";
import { get } from "node:http";
import { createServer } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { Archive } from "../../src/index.js";
import { tempDir } from "../helpers/tmp.js";
import { startViewerProcess } from "./browser.js";

/** A TCP port nothing listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function statusOf(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on("error", reject);
  });
}

test("persist view --port N --host 127.0.0.1 serves on exactly that address", async () => {
  const dir = await tempDir("persist-view-command-");
  const archive = new Archive();
  archive.insert({ results: { omega: 5 } });
  await archive.save(dir, { name: "run1" });
  const port = await freePort();
  const viewer = await startViewerProcess(join(dir, "run1"), [
    "--port",
    String(port),
    "--host",
    "127.0.0.1",
  ]);
  try {
    assert.equal(viewer.origin, `http://127.0.0.1:${port}`);
    assert.equal(await statusOf(viewer.url), 200);
    assert.equal(await statusOf(`${viewer.origin}/`), 403, "the token is still required");
  } finally {
    assert.equal(await viewer.stop(), 0);
  }
});
