/**
 * A TCP proxy that adds latency: every chunk is forwarded `delayMs` later, in order, both ways,
 * so a request/response pair costs 2 × delayMs more. bench/s3.ts puts it in front of the local
 * radosgw to give the shape of a cloud object store (tens of ms per request), where a serial
 * commit log is bounded by round trips rather than by the machine's CPU.
 */
import { createConnection, createServer, type Server, type Socket } from "node:net";

function delayed(from: Socket, to: Socket, delayMs: number): void {
  from.on("data", (chunk) => {
    setTimeout(() => to.write(chunk), delayMs);
  });
  from.on("end", () => setTimeout(() => to.end(), delayMs));
  from.on("error", () => to.destroy());
}

/** Listen on a free 127.0.0.1 port; returns the endpoint URL and a close(). */
export async function latencyProxy(
  target: string,
  delayMs: number,
): Promise<{ endpoint: string; close: () => Promise<void> }> {
  const url = new URL(target);
  const server: Server = createServer((client) => {
    const upstream = createConnection({ host: url.hostname, port: Number(url.port) });
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    delayed(client, upstream, delayMs);
    delayed(upstream, client, delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("proxy: no port");
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive connections of finished writers: nothing of ours remains open.
      }),
  };
}
