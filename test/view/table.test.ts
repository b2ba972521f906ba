/**
 * The viewer's item table on the server (ViewModel, no browser): the first page in insertion order
 * is served from the index and the infos of its own rows; the full table (every info parsed, for
 * sorting, filtering and all columns) is built afterwards, and the summary says when it is.
 */
import assert from "node:assert/strict";
import { appendFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { DataSet } from "../../src/dataset/dataset.js";
import { encodeRecord } from "../../src/dataset/records.js";
import { ViewModel } from "../../src/view/model.js";
import { tempDir } from "../helpers/tmp.js";

const N = 120;

async function makeDataSet(path: string): Promise<void> {
  const ds = await DataSet.open(path, { mode: "w" });
  await ds.insertMany(
    Array.from({ length: N }, (_, i) => i),
    {
      infos: Array.from({ length: N }, (_, i) =>
        // a field only the last items have: a column the first page cannot know of
        i >= N - 3 ? { omega: i / 7, k: i % 11, late: true } : { omega: i / 7, k: i % 11 },
      ),
    },
  );
  await ds.close();
}

test("an unreadable info far down does not stop the first pages; it is named in its row", async () => {
  const path = join(await tempDir(), "ds");
  await makeDataSet(path);
  // A hand edit of the index (a record with a valid checksum): the info of x_70 calls a function.
  await appendFile(join(path, "index.journal"), encodeRecord([{ set: "x_70", expr: 'eval("1")' }]));
  const model = await ViewModel.open(path);
  try {
    const first = await model.page({ offset: 0, limit: 50, sort: undefined, where: undefined });
    assert.equal(first.total, N);
    assert.deepEqual(first.columns, ["omega", "k"]);
    assert.deepEqual(
      first.rows.map((r) => r.name),
      Array.from({ length: 50 }, (_, i) => `x_${i}`),
    );
    assert.deepEqual(first.rows[14]!.cells, [2, 3]);
    const second = await model.page({ offset: 50, limit: 50, sort: "name", where: undefined });
    const broken = second.rows.find((r) => r.name === "x_70")!;
    assert.match(broken.error ?? "", /eval/);
    assert.ok(second.rows.filter((r) => r.error === undefined).length === 49);
    // sorting needs every info: that request names the problem
    await assert.rejects(
      model.page({ offset: 0, limit: 50, sort: "-omega", where: undefined }),
      /eval/,
    );
    // and the first pages are still served afterwards
    const again = await model.page({ offset: 0, limit: 10, sort: undefined, where: undefined });
    assert.equal(again.rows.length, 10);
    assert.equal((await model.summary()).count, N);
  } finally {
    await model.close();
  }
});

test("the summary marks the table as building until every column is known", async () => {
  const path = join(await tempDir(), "ds");
  await makeDataSet(path);
  const model = await ViewModel.open(path);
  try {
    const first = await model.page({ offset: 0, limit: 50, sort: undefined, where: undefined });
    assert.deepEqual(first.columns, ["omega", "k"]);
    const before = await model.summary();
    assert.match(String(before.version), /\|building$/);
    assert.equal(before.count, N);
    // a sorted page needs (and builds) the full table
    const sorted = await model.page({ offset: 0, limit: 3, sort: "-omega", where: undefined });
    assert.deepEqual(
      sorted.rows.map((r) => r.name),
      [`x_${N - 1}`, `x_${N - 2}`, `x_${N - 3}`],
    );
    const after = await model.summary();
    assert.equal(after.version, String(before.version).replace(/\|building$/, ""));
    assert.deepEqual(after.columns, ["omega", "k", "late"]);
    const full = await model.page({ offset: 0, limit: 50, sort: undefined, where: undefined });
    assert.deepEqual(full.columns, ["omega", "k", "late"]);
    assert.deepEqual(full.rows[0]!.cells, [0, 0, null]);
  } finally {
    await model.close();
  }
});
