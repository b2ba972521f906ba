/** Archive.save("s3://…") and load("s3://…") against the real gateway. */
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { test } from "node:test";
import { Archive, ArchiveError, load, NDArray, NotFoundError } from "../../src/index.js";
import { S3Store } from "../../src/store/s3-store.js";
import { tempDir } from "../helpers/tmp.js";
import { requireGateway } from "./gateway.js";

function sample(): Archive {
  const archive = new Archive({ arrayThreshold: 10 });
  const shared = { tag: "shared" };
  archive.insert({
    results: { a: shared, b: shared, big: new Float64Array(50).map((_, i) => i * 1.5) },
    grid: new NDArray(
      new Int16Array(60).map((_, i) => i - 30),
      [3, 4, 5],
      { order: "F" },
    ),
    when: new Date(0),
  });
  return archive;
}

function check(exports: Record<string, unknown>): void {
  const results = exports.results as { a: object; b: object; big: Float64Array };
  assert.equal(results.a, results.b, "shared reference restored");
  assert.deepEqual(
    results.big,
    new Float64Array(50).map((_, i) => i * 1.5),
  );
  const grid = exports.grid as NDArray;
  assert.deepEqual([grid.shape, grid.order], [[3, 4, 5], "F"]);
  assert.deepEqual(
    grid.data,
    new Int16Array(60).map((_, i) => i - 30),
  );
  assert.deepEqual(exports.when, new Date(0));
}

for (const dataFormat of ["npy", "npz", "hdf5"] as const) {
  test(`package archive with ${dataFormat} data: save to S3, load back (safe and trusted)`, async (t) => {
    const gw = requireGateway(t);
    if (!gw) return;
    const url = gw.freshUrl(`arch-${dataFormat}`);
    const saved = await sample().save(url, { name: "run1", dataFormat, s3: gw.options });
    assert.equal(saved.entry, `${url}/run1/index.mjs`);
    assert.ok(saved.files.includes(`${url}/run1/package.json`));
    const keys = (await new S3Store(url, gw.options).list("")).map((e) => e.key);
    assert.ok(keys.includes("run1/index.mjs"));
    check(await load(`${url}/run1`, { s3: gw.options }));
    check(await load(`${url}/run1/index.mjs`, { s3: gw.options }));
    if (dataFormat !== "hdf5") check(await load(`${url}/run1`, { s3: gw.options, trusted: true }));
  });
}

test("module layout in S3; force to replace; missing archives", async (t) => {
  const gw = requireGateway(t);
  if (!gw) return;
  const url = gw.freshUrl("arch-mod");
  await sample().save(url, { name: "run2", package: false, s3: gw.options });
  check(await load(`${url}/run2.mjs`, { s3: gw.options }));
  await assert.rejects(
    sample().save(url, { name: "run2", package: false, s3: gw.options }),
    /already exists; pass \{ force: true \}/,
  );
  const other = new Archive();
  other.insert({ results: 1 });
  await other.save(url, { name: "run2", package: false, force: true, s3: gw.options });
  assert.deepEqual(await load(`${url}/run2.mjs`, { s3: gw.options }), { results: 1 });
  await assert.rejects(load(`${url}/nothing`, { s3: gw.options }), NotFoundError);
  await assert.rejects(load(`${url}/nothing.mjs`, { s3: gw.options }), NotFoundError);
  await assert.rejects(load("s3://b", { s3: gw.options }), ArchiveError);
});

test("a failed S3 load leaves no temp folder behind, even with downloads in flight", async (t) => {
  const gw = requireGateway(t);
  if (!gw) return;
  const url = gw.freshUrl("arch-partial");
  const archive = new Archive({ arrayThreshold: 10 });
  // Big array files, so that their downloads are still running when the missing entry fails.
  archive.insert({
    parts: Array.from({ length: 6 }, (_, i) => new Float64Array(1_000_000).fill(i)),
  });
  await archive.save(url, { name: "run3", package: false, s3: gw.options });
  await new S3Store(url, gw.options).delete("run3.mjs");
  const tmp = await tempDir("persist-s3-tmp-");
  const before = process.env.TMPDIR;
  process.env.TMPDIR = tmp; // os.tmpdir() reads it on every call
  try {
    await assert.rejects(load(`${url}/run3.mjs`, { s3: gw.options }), NotFoundError);
  } finally {
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
  }
  // Downloads still running after the rejection would write (re-creating the folder) later on.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  assert.deepEqual(await readdir(tmp), [], "the download folder is gone");
});
