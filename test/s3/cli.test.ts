/** `persist show` / `verify` on S3 addresses (DataSet read in place, archive downloaded). */
import assert from "node:assert/strict";
import { test } from "node:test";
import { runCli } from "../../src/cli/run.js";
import { Archive, DataSet } from "../../src/index.js";
import { spawnCli } from "../cli/helpers.js";
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
