/**
 * The HTTP server of `persist view` (node:http: a handful of read-only JSON endpoints and static
 * files need no web framework).
 *
 * Security, because the archive shown may come from anyone and the server is reachable by every
 * web page the user visits:
 * - it binds 127.0.0.1 unless told otherwise;
 * - every request must carry the random token of the printed URL (`?token=`), else 403, so that
 *   other local users and web pages that guess the port get nothing;
 * - the Host header must name the bound address and port, else 403: a DNS-rebinding page (evil.com
 *   resolving to 127.0.0.1) sends Host: evil.com;
 * - only GET and HEAD; nothing is written anywhere;
 * - responses forbid inline script and framing (Content-Security-Policy), sniffing, caching and
 *   referrers (the token is in the URL); the page inserts archive text with textContent only.
 */
import { timingSafeEqual } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { isInputError } from "../cli/errors.js";
import { ExpressionError } from "../cli/where.js";
import { NotFoundError } from "../errors.js";
import { buildTree, ViewModel } from "./model.js";
import { arrayPlot, type PlotQuery } from "./plot.js";

export interface ViewerOptions {
  host?: string;
  port?: number;
  /** The access token (random when not given). */
  token: string;
}

export interface Viewer {
  url: string;
  host: string;
  port: number;
  token: string;
  model: ViewModel;
  close(): Promise<void>;
}

const STATIC_DIR = fileURLToPath(new URL("./static/", import.meta.url));
const require = createRequire(import.meta.url);

/** Files the page loads, by URL path: our own, and uPlot from node_modules (offline, pinned). */
function staticFiles(): Record<string, string> {
  const uplot = require.resolve("uplot");
  const dist = join(uplot, "..");
  return {
    "/": join(STATIC_DIR, "index.html"),
    "/static/app.js": join(STATIC_DIR, "app.js"),
    "/static/app.css": join(STATIC_DIR, "app.css"),
    "/static/uplot.js": join(dist, "uPlot.iife.min.js"),
    "/static/uplot.css": join(dist, "uPlot.min.css"),
  };
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
};

const SECURITY_HEADERS = {
  "Content-Security-Policy":
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Cache-Control": "no-store",
  "X-Frame-Options": "DENY",
  "Cross-Origin-Resource-Policy": "same-origin",
};

/** Starts the viewer of `path`; resolves once it listens. */
export async function startViewer(path: string, options: ViewerOptions): Promise<Viewer> {
  const model = await ViewModel.open(path);
  const host = options.host ?? "127.0.0.1";
  const token = options.token;
  if (!/^[A-Za-z0-9_-]{16,}$/.test(token)) throw new Error("viewer token must be base64url");
  const files = staticFiles();
  let allowedHosts: Set<string> = new Set();
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error) => fail(res, error));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!allowedHosts.has((req.headers.host ?? "").toLowerCase())) {
      return send(res, 403, "text/plain", "forbidden: unexpected Host header\n");
    }
    const url = new URL(req.url ?? "/", "http://viewer.invalid");
    if (!tokenMatches(url.searchParams.get("token"), token)) {
      return send(
        res,
        403,
        "text/plain",
        "forbidden: open the URL persist view printed (it carries the access token)\n",
      );
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("Allow", "GET, HEAD");
      return send(res, 405, "text/plain", "read-only viewer\n");
    }
    const file = files[url.pathname];
    if (file !== undefined) {
      let body: string | Buffer = await readFile(file);
      // the page's own files are fetched with the token too (no inline script may pass it on)
      // and the kind of target ("archive" or "dataset"), so the page's first requests need not
      // wait for the summary
      if (url.pathname === "/") {
        const page = body.toString("utf8").replaceAll("__TOKEN__", token);
        body = page.replaceAll("__KIND__", model.target.type);
      }
      return send(res, 200, TYPES[extname(file)] ?? "application/octet-stream", body);
    }
    if (url.pathname.startsWith("/api/"))
      return json(res, await api(url.pathname, url.searchParams));
    return send(res, 404, "text/plain", "not found\n");
  }

  async function api(route: string, q: URLSearchParams): Promise<unknown> {
    switch (route) {
      case "/api/summary":
        return model.summary();
      case "/api/table":
        return model.page({
          offset: integer(q.get("offset"), 0),
          limit: Math.min(500, integer(q.get("limit"), 50)),
          sort: q.get("sort") || undefined,
          where: q.get("where") || undefined,
        });
      case "/api/tree":
        return buildTree(
          await model.value(q.get("item") ?? ""),
          steps(q),
          integer(q.get("from"), 0),
        );
      case "/api/source":
        return model.source(q.get("item") ?? "");
      case "/api/array": {
        const query: PlotQuery = {
          start: optionalInteger(q.get("start")),
          stop: optionalInteger(q.get("stop")),
          width: Math.min(4096, Math.max(16, integer(q.get("width"), 1000))),
          height: Math.min(1024, Math.max(16, integer(q.get("height"), 300))),
          part: (["abs", "phase", "re", "im"] as const).find((p) => p === q.get("part")) ?? "abs",
        };
        return arrayPlot(await model.value(q.get("item") ?? ""), steps(q), query);
      }
      case "/api/scatter":
        return model.scatter(q.get("x") ?? "", q.get("y") ?? "");
    }
    throw new NotFoundError(`no endpoint ${route}`);
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = host.includes(":") ? `[${host}]` : host;
  allowedHosts = new Set([`${shownHost}:${port}`.toLowerCase()]);
  if (host === "127.0.0.1" || host === "::1") allowedHosts.add(`localhost:${port}`);
  return {
    url: `http://${shownHost}:${port}/?token=${token}`,
    host,
    port,
    token,
    model,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await model.close();
    },
  };
}

function steps(q: URLSearchParams): string[] {
  const at = q.get("at");
  if (!at) return [];
  const parsed: unknown = JSON.parse(at);
  if (!Array.isArray(parsed) || !parsed.every((s) => typeof s === "string")) {
    throw new NotFoundError("at must be a JSON array of steps");
  }
  return parsed;
}

function integer(text: string | null, fallback: number): number {
  const n = text === null ? Number.NaN : Number(text);
  return Number.isSafeInteger(n) && n >= 0 ? n : fallback;
}

function optionalInteger(text: string | null): number | undefined {
  const n = integer(text, -1);
  return n < 0 ? undefined : n;
}

function tokenMatches(given: string | null, token: string): boolean {
  if (given === null) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    "Content-Type": type,
    "Content-Length": Buffer.byteLength(body),
  });
  res.end(res.req.method === "HEAD" ? undefined : body);
}

function json(res: ServerResponse, value: unknown): void {
  send(res, 200, "application/json; charset=utf-8", JSON.stringify(value));
}

function fail(res: ServerResponse, error: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const status =
    error instanceof NotFoundError
      ? 404
      : error instanceof ExpressionError || error instanceof SyntaxError
        ? 400
        : isInputError(error)
          ? 422
          : 500;
  const message = error instanceof Error ? error.message : String(error);
  send(res, status, "application/json; charset=utf-8", JSON.stringify({ error: message }));
}
