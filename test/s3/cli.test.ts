/** `persist show` / `verify` on S3 addresses (DataSet read in place, archive downloaded). */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { runCli } from "../../src/cli/run.js";
import { Archive, DataSet, load } from "../../src/index.js";
import { S3Store } from "../../src/store/s3-store.js";
import { startViewer } from "../../src/view/server.js";
import { spawnCli } from "../cli/helpers.js";
import { tempDir } from "../helpers/tmp.js";
import { startViewerProcess } from "../view/browser.js";
import { type Gateway, requireGateway } from "./gateway.js";

async function cli(
  gw: Gateway,
  args: string[],
): Promise<{ code: number; out: string; err: string }> {
  // The CLI takes its connection from the standard AWS_* variables, as a user's shell would.
  const saved = { ...process.env };
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: gw.endpoint,
    AWS_ACCESS_KEY_ID: gw.options.credentials?.accessKeyId,
    AWS_SECRET_ACCESS_KEY: gw.options.credentials?.secretAccessKey,
  });
  let out = "";
  let err = "";
  try {
    const code = await runCli(args, {
      stdout: { write: (t: string) => (out += t) },
      stderr: { write: (t: string) => (err += t) },
    });
    return { code, out, err };
  } finally {
    for (const key of ["AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]) {
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    }
  }
}

test("persist show and verify on a DataSet and an archive in S3", async (t) => {
  const gw = requireGateway(t);
  if (!gw) return;
  const url = gw.freshUrl("cli");
  const ds = await DataSet.open(`${url}/ds`, { mode: "w", s3: gw.options, arrayThreshold: 5 });
  await ds.insert({ a: new Float64Array(10) }, { info: { mu: 1 } });
  await ds.insert("two", { info: { mu: 2 } });
  const archive = new Archive({ arrayThreshold: 5 });
  archive.insert({ results: new Float32Array(9) });
  await archive.save(url, { name: "run1", s3: gw.options });

  const show = await cli(gw, ["show", `${url}/ds`, "--json"]);
  assert.equal(show.code, 0, show.err);
  assert.match(show.out, /"mu": ?2/);
  const verify = await cli(gw, ["verify", `${url}/ds`]);
  assert.equal(verify.code, 0, verify.err);
  assert.match(verify.out, /2 items/);

  const showArchive = await cli(gw, ["show", `${url}/run1`]);
  assert.equal(showArchive.code, 0, showArchive.err);
  assert.match(showArchive.out, /results\s+Float32Array/);
  assert.ok(showArchive.out.includes(`${url}/run1/index.mjs`), showArchive.out);
  const verifyArchive = await cli(gw, ["verify", `${url}/run1`]);
  assert.equal(verifyArchive.code, 0, verifyArchive.err);

  const missing = await cli(gw, ["show", `${url}/nothing`]);
  assert.equal(missing.code, 1);
  assert.match(missing.err, /no archive at/);
});

test("the persist executable prints no AWS SDK Node-version warning on S3 addresses", async (t) => {
  const gw = requireGateway(t);
  if (!gw) return;
  const url = gw.freshUrl("cli-warning");
  const ds = await DataSet.open(`${url}/ds`, { mode: "w", s3: gw.options });
  await ds.insert(1, { info: { mu: 1 } });
  await ds.close();
  const env = {
    AWS_ENDPOINT_URL: gw.endpoint,
    AWS_ACCESS_KEY_ID: gw.options.credentials?.accessKeyId,
    AWS_SECRET_ACCESS_KEY: gw.options.credentials?.secretAccessKey,
    AWS_REGION: gw.options.region,
    // the user's environment may not mention it; the executable decides
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: undefined,
  };
  for (const args of [
    ["show", `${url}/ds`],
    ["verify", `${url}/ds`, "--json"],
  ]) {
    const r = await spawnCli(args, env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "", `stderr of persist ${args.join(" ")}`);
  }
});

test("persist convert on S3: in place, to a local --out, to an S3 --out (never over one)", async (t) => {
  const gw = requireGateway(t);
  if (!gw) return;
  const url = gw.freshUrl("convert");
  const archive = new Archive({ arrayThreshold: 5 });
  const values = { xs: Float64Array.from({ length: 40 }, (_, i) => i / 3), n: 7 };
  archive.insert(values);
  await archive.save(url, { name: "run1", s3: gw.options });
  const store = new S3Store(url, gw.options);
  const keys = async (prefix: string) => (await store.list(prefix)).map((e) => e.key).sort();
  assert.ok((await keys("run1/")).some((k) => k.endsWith(".npy")));

  const inPlace = await cli(gw, ["convert", `${url}/run1`, "--format", "npz"]);
  assert.equal(inPlace.code, 0, inPlace.err);
  assert.equal(
    inPlace.out,
    `converted archive ${url}/run1 -> ${url}/run1/index.mjs: 1 external arrays in npz\n`,
  );
  const now = await keys("run1/");
  assert.ok(
    now.some((k) => k.endsWith(".npz")),
    now.join(" "),
  );
  assert.ok(!now.some((k) => k.endsWith(".npy")), now.join(" "));
  assert.deepEqual(await load(`${url}/run1`, { s3: gw.options }), values);

  const dir = await tempDir();
  const local = await cli(gw, [
    "convert",
    `${url}/run1`,
    "--format",
    "npy",
    "--out",
    join(dir, "copy"),
  ]);
  assert.equal(local.code, 0, local.err);
  assert.deepEqual(await load(join(dir, "copy")), values);

  const copy = await cli(gw, ["convert", `${url}/run1`, "--format", "npy", "--out", `${url}/run2`]);
  assert.equal(copy.code, 0, copy.err);
  assert.deepEqual(await load(`${url}/run2`, { s3: gw.options }), values);
  assert.ok((await keys("run2/")).some((k) => k.endsWith(".npy")));

  const taken = await cli(gw, [
    "convert",
    join(dir, "copy"),
    "--format",
    "npz",
    "--out",
    `${url}/run2`,
  ]);
  assert.equal(taken.code, 2, taken.err);
  assert.match(taken.err, /already exists/);
  assert.deepEqual(await load(`${url}/run2`, { s3: gw.options }), values);
});

test("persist view on S3: a DataSet read in place (table, live count, tree, plot), an archive", async (t) => {
  const gw = requireGateway(t);
  if (!gw) return;
  const url = gw.freshUrl("view");
  const ds = await DataSet.open(`${url}/ds`, { mode: "w", s3: gw.options, arrayThreshold: 5 });
  await ds.insert(
    { x: Float64Array.from({ length: 50 }, (_, i) => Math.sin(i)) },
    { info: { mu: 1 } },
  );
  await ds.insert("two", { info: { mu: 2 } });
  const saved = { ...process.env };
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: gw.endpoint,
    AWS_ACCESS_KEY_ID: gw.options.credentials?.accessKeyId,
    AWS_SECRET_ACCESS_KEY: gw.options.credentials?.secretAccessKey,
  });
  const token = "s3viewtokens3viewtoken";
  const viewer = await startViewer(`${url}/ds`, { token });
  const api = async (route: string, params: Record<string, string> = {}): Promise<any> => {
    const q = new URLSearchParams({ token, ...params });
    const r = await fetch(`http://127.0.0.1:${viewer.port}/api/${route}?${q}`);
    const body = await r.json();
    assert.equal(r.status, 200, JSON.stringify(body));
    return body;
  };
  try {
    const summary = await api("summary");
    assert.equal(summary.count, 2);
    const page = await api("table");
    assert.deepEqual(page.columns, ["mu"]);
    assert.deepEqual(
      page.rows.map((r: { name: string; cells: unknown[] }) => [r.name, r.cells]),
      [
        ["x_0", [1]],
        ["x_1", [2]],
      ],
    );
    const tree = await api("tree", { item: "x_0" });
    assert.equal(tree.c[0].k, "x");
    const plot = await api("array", { item: "x_0", at: JSON.stringify(["k:x"]), width: "100" });
    assert.equal(plot.kind, "line");
    assert.equal(plot.size, 50);
    // another writer inserts: the summary's version and count change
    const third = await ds.insert(3, { info: { mu: 3 } });
    const later = await api("summary");
    assert.notEqual(later.version, summary.version);
    assert.equal(later.count, 3);
    // a change that keeps the count (an info changed; a delete and an insert) shows too
    await ds.setInfo(third, { mu: 33 });
    const changed = await api("summary");
    assert.notEqual(changed.version, later.version);
    await ds.delete(third);
    await ds.insert(4, { info: { mu: 4 } });
    const replaced = await api("summary");
    assert.equal(replaced.count, 3);
    assert.notEqual(replaced.version, changed.version);
  } finally {
    await viewer.close();
    await ds.close();
    process.env = saved;
  }

  const archive = new Archive({ arrayThreshold: 5 });
  archive.insert({ signal: Float32Array.from({ length: 30 }, (_, i) => i) });
  await archive.save(url, { name: "run1", s3: gw.options });
  const child = await withEnv(gw, () => startViewerProcess(`${url}/run1`));
  try {
    const r = await fetch(`${child.origin}/api/tree?token=${child.token}&item=`);
    assert.equal(r.status, 200);
    const tree = (await r.json()) as any;
    assert.equal(tree.c[0].k, "signal");
    assert.equal(tree.c[0].plot, "line");
  } finally {
    assert.equal(await child.stop(), 0);
  }
});

/** Runs `fn` with the gateway in the AWS_* variables (what child processes inherit). */
async function withEnv<T>(gw: Gateway, fn: () => Promise<T>): Promise<T> {
  const saved = { ...process.env };
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: gw.endpoint,
    AWS_ACCESS_KEY_ID: gw.options.credentials?.accessKeyId,
    AWS_SECRET_ACCESS_KEY: gw.options.credentials?.secretAccessKey,
  });
  try {
    return await fn();
  } finally {
    process.env = saved;
  }
}
