/**
 * One writer process of bench/s3.ts: `_s3-writer.ts URL WRITER COUNT` opens the S3 DataSet (S3_*
 * variables), prints "ready", waits for "go" on stdin, inserts COUNT items, prints the ms taken.
 */
import { once } from "node:events";
import { DataSet } from "../src/index.js";

const [url, writer, count] = process.argv.slice(2) as [string, string, string];
const ds = await DataSet.open(url, {
  mode: "w",
  arrayThreshold: 10,
  s3: {
    endpoint: process.env.S3_ENDPOINT,
    credentials: {
      accessKeyId: process.env.S3_ACCESS_KEY ?? "",
      secretAccessKey: process.env.S3_SECRET_KEY ?? "",
    },
  },
});
process.stdout.write("ready\n");
await once(process.stdin, "data");
const t0 = performance.now();
for (let i = 0; i < Number(count); i++) {
  await ds.insert({ writer, i, data: new Float64Array(64).fill(i) }, { info: { writer, i } });
}
process.stdout.write(`${performance.now() - t0}\n`);
process.exit(0);
