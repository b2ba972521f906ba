/**
 * One writer process of bench/s3.ts: `_s3-writer.ts URL WRITER COUNT ENDPOINT MODE` opens the S3
 * DataSet (credentials from the S3_* variables; MODE "lanes": the defaults, writer lanes; "auto" or
 * "never": no lanes, every insert a commit of the shared log, with that groupCommit),
 * prints "ready", waits for "go" on stdin, inserts COUNT items, then prints one JSON
 * line: the ms taken and the S3 requests the inserts sent, by kind (counted at the SDK client, so
 * retries and lost claim races are included).
 */
import { once } from "node:events";
import { S3Client } from "@aws-sdk/client-s3";
import { DataSet } from "../src/index.js";

const requests: Record<string, number> = {};
const send = S3Client.prototype.send;
S3Client.prototype.send = function (this: S3Client, command: unknown, ...rest: unknown[]) {
  const c = command as { constructor: { name: string }; input?: { IfNoneMatch?: string } };
  const kind = c.constructor.name.replace(/(Object|Objects)?(V2)?Command$/, "");
  const key = c.input?.IfNoneMatch ? `${kind}IfAbsent` : kind;
  requests[key] = (requests[key] ?? 0) + 1;
  return (send as (...a: unknown[]) => unknown).call(this, command, ...rest);
} as typeof S3Client.prototype.send;

const [url, writer, count, endpoint, mode] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  "lanes" | "auto" | "never",
];
const ds = await DataSet.open(url, {
  mode: "w",
  arrayThreshold: 10,
  s3: {
    endpoint,
    ...(mode === "lanes" ? {} : { groupCommit: mode, laneSize: 0 }),
    credentials: {
      accessKeyId: process.env.S3_ACCESS_KEY ?? "",
      secretAccessKey: process.env.S3_SECRET_KEY ?? "",
    },
  },
});
process.stdout.write("ready\n");
await once(process.stdin, "data");
for (const k of Object.keys(requests)) delete requests[k];
const t0 = performance.now();
for (let i = 0; i < Number(count); i++) {
  await ds.insert({ writer, i, data: new Float64Array(64).fill(i) }, { info: { writer, i } });
}
process.stdout.write(`${JSON.stringify({ ms: performance.now() - t0, requests })}\n`);
process.exit(0);
