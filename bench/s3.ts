/**
 * S3 DataSet speed against a local Ceph radosgw (the one S3_* describes, or one started here with
 * ci/rgw/start.sh, memstore): single-writer inserts/s, 4 writer processes' combined inserts/s, and
 * infos() of 10,000 items from a fresh reader (one snapshot + the log tail). Baseline in the same
 * run: a DataSet in a local folder, one writer.
 *
 * Two shapes of store: the local gateway as is (client and gateway share this machine's CPU, so
 * requests per insert decide), and the same gateway behind a proxy adding 2 × 15 ms per request,
 * like a cloud store (round trips decide). 4 writers run on one DataSet with writer lanes (the
 * default: each inserts in a lane of its own), without lanes (laneSize 0: every insert a commit of
 * the shared log) with groupCommit "never" and "auto", and on 4 separate DataSets: no shared log
 * at all, the ceiling for the machine.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DataSet } from "../src/index.js";
import { S3Store } from "../src/store/s3-store.js";
import { latencyProxy } from "./_latency-proxy.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const PER_WRITER = 40;
/** Added latency per direction in the cloud-like shape. */
const PROXY_DELAY_MS = 15;
const ROUNDS = 3;

function gatewayEnv(): { stop: () => void } {
  if (process.env.S3_ENDPOINT) return { stop: () => {} };
  console.log("  (starting a memstore radosgw with ci/rgw/start.sh)");
  const out = execFileSync("bash", [join(here, "../ci/rgw/start.sh")], {
    env: { ...process.env, RGW_OBJECTSTORE: "memstore" },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  });
  for (const m of out.matchAll(/([A-Z0-9_]+)=(\S+)/g)) process.env[m[1] as string] = m[2];
  return {
    stop: () => execFileSync("bash", [join(here, "../ci/rgw/stop.sh"), process.env.RGW_DIR ?? ""]),
  };
}

interface WriterRun {
  /** Combined inserts per second, wall clock from "go" to the last writer's exit. */
  rate: number;
  /** S3 requests per insert, all writers together, by kind (PutIfAbsent = a claim attempt). */
  perInsert: Record<string, number>;
}

/** One writer process per URL, released together: the combined rate and requests. */
async function writersRun(
  urls: readonly string[],
  endpoint: string,
  mode: "lanes" | "auto" | "never",
): Promise<WriterRun> {
  const writers = urls.length;
  const children = urls.map((url, w) =>
    spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        join(here, "_s3-writer.ts"),
        url,
        `w${w}`,
        String(PER_WRITER),
        endpoint,
        mode,
      ],
      { stdio: ["pipe", "pipe", "inherit"] },
    ),
  );
  const lines = children.map(
    (c) =>
      new Promise<string[]>((resolve) => {
        let text = "";
        c.stdout.on("data", (d) => {
          text += d;
        });
        c.on("exit", () => resolve(text.trim().split("\n")));
      }),
  );
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          c.stdout.once("data", () => resolve());
        }),
    ),
  );
  const t0 = performance.now();
  for (const c of children) c.stdin.write("go\n");
  const outputs = await Promise.all(lines);
  const wall = performance.now() - t0;
  const inserts = writers * PER_WRITER;
  const perInsert: Record<string, number> = {};
  for (const out of outputs) {
    const last = JSON.parse(out.at(-1) ?? "{}") as { requests?: Record<string, number> };
    if (last.requests === undefined) throw new Error(`a writer failed: ${out.join("\n")}`);
    for (const [kind, n] of Object.entries(last.requests)) {
      perInsert[kind] = (perInsert[kind] ?? 0) + n / inserts;
    }
  }
  return { rate: inserts / (wall / 1000), perInsert };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function requestsText(runs: WriterRun[]): string {
  const kinds = [...new Set(runs.flatMap((r) => Object.keys(r.perInsert)))].sort();
  const parts = kinds.map((k) => `${k} ${median(runs.map((r) => r.perInsert[k] ?? 0)).toFixed(2)}`);
  const total = median(runs.map((r) => Object.values(r.perInsert).reduce((a, b) => a + b, 0)));
  return `${total.toFixed(2)} requests/insert (${parts.join(", ")})`;
}

export async function run(): Promise<void> {
  console.log("\nS3 DataSet (local Ceph radosgw; machine shared, so compare ratios)");
  // The AWS SDK warns in every writer process that Node 20 support ends in 2027: not news here.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const gateway = gatewayEnv();
  const options = {
    endpoint: process.env.S3_ENDPOINT,
    credentials: {
      accessKeyId: process.env.S3_ACCESS_KEY ?? "",
      secretAccessKey: process.env.S3_SECRET_KEY ?? "",
    },
  };
  const base = `s3://${process.env.S3_BUCKET}/bench-${Date.now().toString(36)}`;
  const dir = await mkdtemp(join(tmpdir(), "persist-bench-"));
  try {
    // Baseline: a DataSet in a local folder, one writer, same items.
    const local = await DataSet.open(join(dir, "ds"), { mode: "w", arrayThreshold: 10 });
    let t0 = performance.now();
    for (let i = 0; i < PER_WRITER; i++) {
      await local.insert({ i, data: new Float64Array(64).fill(i) }, { info: { i } });
    }
    const localRate = PER_WRITER / ((performance.now() - t0) / 1000);
    console.log(
      `  folder DataSet, 1 writer        ${localRate.toFixed(0).padStart(6)} inserts/s  (baseline)`,
    );
    // BENCH_S3_DELAYS=15 runs only the cloud-like shape, =0 only the local one.
    const delays = (process.env.BENCH_S3_DELAYS ?? `0,${PROXY_DELAY_MS}`).split(",").map(Number);
    for (const delay of delays) {
      const proxy = delay > 0 ? await latencyProxy(options.endpoint ?? "", delay) : undefined;
      const endpoint = proxy?.endpoint ?? options.endpoint ?? "";
      console.log(
        delay === 0
          ? "  local gateway (CPU-bound: client and gateway share 2 cores)"
          : `  gateway behind a proxy adding ${2 * delay} ms per request (cloud-like: round trips decide)`,
      );
      // Interleaved rounds (the machine is shared), medians.
      const runs = {
        one: [] as WriterRun[],
        oneLog: [] as WriterRun[],
        lanes: [] as WriterRun[],
        never: [] as WriterRun[],
        auto: [] as WriterRun[],
        separate: [] as WriterRun[],
      };
      for (let round = 0; round < ROUNDS; round++) {
        const at = `${base}/d${delay}r${round}`;
        const four = (name: string) => [0, 1, 2, 3].map(() => `${at}/${name}`);
        runs.one.push(await writersRun([`${at}/one`], endpoint, "lanes"));
        runs.oneLog.push(await writersRun([`${at}/onelog`], endpoint, "never"));
        runs.lanes.push(await writersRun(four("lanes"), endpoint, "lanes"));
        runs.never.push(await writersRun(four("never"), endpoint, "never"));
        runs.auto.push(await writersRun(four("auto"), endpoint, "auto"));
        const separate = [0, 1, 2, 3].map((w) => `${at}/sep${w}`);
        runs.separate.push(await writersRun(separate, endpoint, "lanes"));
      }
      await proxy?.close();
      const one = median(runs.one.map((r) => r.rate));
      const rows: [string, WriterRun[]][] = [
        ["1 writer process (default: lanes)        ", runs.one],
        ["1 writer, no lanes                       ", runs.oneLog],
        ["4 writers, one DataSet, lanes (default)  ", runs.lanes],
        ["4 writers, no lanes, groupCommit never   ", runs.never],
        ["4 writers, no lanes, groupCommit auto    ", runs.auto],
        ["4 writers on 4 separate DataSets         ", runs.separate],
      ];
      for (const [label, rs] of rows) {
        const rate = median(rs.map((r) => r.rate));
        const perRound = rs.map((r, i) => (r.rate / (runs.one[i] as WriterRun).rate).toFixed(2));
        console.log(
          `    ${label}${rate.toFixed(1).padStart(6)} inserts/s  ${(rate / one).toFixed(2)}× one writer (rounds: ${perRound.join(" ")})`,
        );
        console.log(`        ${requestsText(rs)}`);
      }
    }
    console.log(`  (medians of ${ROUNDS} interleaved rounds of ${PER_WRITER} inserts per writer)`);

    // BENCH_S3_WRITERS_ONLY=1 skips this part (when iterating on the writers).
    if (process.env.BENCH_S3_WRITERS_ONLY === "1") return;
    // infos() of 10,000 items: 200 commits of 50 (snapshots every 64 commits).
    const big = (await DataSet.open(`${base}/big`, { mode: "w", s3: options })) as unknown as {
      insertMany(v: unknown[], o: { infos: unknown[] }): Promise<string[]>;
    };
    t0 = performance.now();
    for (let c = 0; c < 200; c++) {
      const values = Array.from({ length: 50 }, (_, i) => c * 50 + i);
      await big.insertMany(values, {
        infos: values.map((v) => ({ v, mu: v / 7, tag: `t${v % 13}` })),
      });
    }
    const fill = performance.now() - t0;
    const reads: number[] = [];
    for (let r = 0; r < 3; r++) {
      t0 = performance.now();
      const reader = (await DataSet.open(`${base}/big`, { s3: options })) as unknown as {
        infos(): Promise<Record<string, unknown>>;
      };
      const infos = await reader.infos();
      if (Object.keys(infos).length !== 10_000) throw new Error("infos() lost items");
      reads.push(performance.now() - t0);
    }
    console.log(`  10,000 items inserted in 200 insertMany commits: ${(fill / 1000).toFixed(1)} s`);
    console.log(
      `  open + infos() of 10,000 items (fresh reader)   ${Math.min(...reads).toFixed(0)} ms best of 3`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
    const store = new S3Store(base, options);
    const keys = (await store.list("")).map((e) => e.key);
    for (let i = 0; i < keys.length; i += 64) {
      await Promise.all(keys.slice(i, i + 64).map((k) => store.delete(k)));
    }
    gateway.stop();
  }
}
