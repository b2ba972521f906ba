/**
 * A plain static file server for tests, like any a user would put in front of an archive folder:
 * GET a path, get the file with a Content-Type from its extension (JavaScript modules as
 * text/javascript, which browsers require), or 404. No range requests, no directory listings,
 * nothing persist-specific.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { extname, join, relative, sep } from "node:path";

const TYPES: Record<string, string> = {
  ".mjs": "text/javascript",
  ".js": "text/javascript",
  ".html": "text/html; charset=utf-8",
  ".json": "application/json",
};

export interface StaticServer {
  origin: string;
  /** Paths the server was asked for, in order (to check what a page fetched). */
  requests: string[];
  close(): Promise<void>;
}

/**
 * Serves the files under `root` on 127.0.0.1 (a free port). `redirects` maps request paths to
 * where a 302 sends them (as servers configured with redirect rules do).
 */
export async function serveStatic(
  root: string,
  redirects: Record<string, string> = {},
): Promise<StaticServer> {
  const requests: string[] = [];
  const server: Server = createServer(async (req, res) => {
    const pathname = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    requests.push(pathname);
    const redirect = redirects[pathname];
    if (redirect !== undefined) {
      res.writeHead(302, { Location: redirect }).end();
      return;
    }
    const file = join(root, pathname);
    const rel = relative(root, file);
    const info =
      req.method === "GET" && !rel.startsWith(`..${sep}`) && rel !== ".."
        ? await stat(file).catch(() => undefined)
        : undefined;
    if (!info?.isFile()) {
      res.writeHead(404, { "Content-Type": "text/plain" }).end("not found");
      return;
    }
    res.writeHead(200, {
      "Content-Type": TYPES[extname(file)] ?? "application/octet-stream",
      "Content-Length": info.size,
    });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return {
    origin: `http://127.0.0.1:${address.port}`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
