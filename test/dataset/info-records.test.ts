/**
 * Infos stored as archive-language expressions (`expr` records: Dates, Maps, NaN, …) are each read
 * on their own. A record whose expression is not exactly one expression is a FormatError naming
 * its journal line; it never changes the infos of other items, which once happened because all
 * expressions were joined into one array literal and read together.
 */
import assert from "node:assert/strict";
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { encodeRecord } from "../../src/dataset/records.js";
import { DataSet, FormatError } from "../../src/index.js";
import { tempDir } from "../helpers/tmp.js";

/** A DataSet of three items whose infos are expressions (a Date makes an info one). */
async function threeItems() {
  const path = join(await tempDir("persist-info-records-"), "ds");
  const ds = await DataSet.open(path, { mode: "w" });
  for (let i = 0; i < 3; i++) await ds.insert(i, { info: { i, when: new Date(i) } });
  return { path, ds };
}

const expected = (i: number) => ({ i, when: new Date(i) });

/** Records a hostile writer could append (valid checksums), each setting x_0's info to `exprs`. */
const CASES: [string, string[]][] = [
  ["two expressions in one", ["1, 2"]],
  ["a comment reaching into the next record", ["1 /*", "*/ 2"]],
  ["a bracket left open for the next record", ["[1", "], 2"]],
  ["a statement break", ["1]; export const other = [2"]],
  ["a line comment", ["1 // x"]],
  ["nothing", [""]],
];

for (const [what, exprs] of CASES) {
  test(`an info record with ${what} is a FormatError at its line; other items keep theirs`, async () => {
    const { path, ds } = await threeItems();
    const journal = join(path, "index.journal");
    for (const expr of exprs) {
      appendFileSync(journal, encodeRecord([{ set: "x_0", expr } as never]));
    }
    // x_1 and x_2 are read on their own: unaffected, whatever x_0's records say.
    const reader = await DataSet.open(path);
    assert.deepEqual(await reader.info("x_1"), expected(1));
    assert.deepEqual(await reader.info("x_2"), expected(2));
    let infos: Record<string, unknown> | undefined;
    try {
      infos = await reader.infos();
    } catch (err) {
      assert.ok(err instanceof FormatError, String(err));
      assert.match(err.message, /index\.journal:\d+: the info recorded there cannot be read/);
      assert.equal(err.file, journal);
    }
    if (infos !== undefined) {
      // Only "1 // x" is one expression (a comment may follow it): x_0 reads 1.
      assert.deepEqual(infos, { x_0: 1, x_1: expected(1), x_2: expected(2) });
    }
    await ds.setInfo("x_0", { repaired: true });
    assert.deepEqual(await (await DataSet.open(path)).infos(), {
      x_0: { repaired: true },
      x_1: expected(1),
      x_2: expected(2),
    });
  });
}
