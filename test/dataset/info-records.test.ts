/**
 * Infos stored as archive-language expressions (`expr` records: Dates, Maps, NaN, …) are each read
 * on their own. A record whose expression is not exactly one expression is a FormatError naming
 * its journal line; it never changes the infos of other items, which once happened because all
 * expressions were joined into one array literal and read together.
 */
import assert from "node:assert/strict";
import { appendFileSync, readFileSync } from "node:fs";
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

/**
 * Records a hostile writer could append (valid checksums), each setting x_0's info to `exprs`,
 * and what x_0 then reads as: an error, or (only for a comment after one value) that value.
 */
const CASES: [string, string[], "error" | number][] = [
  ["two expressions in one", ["1, 2"], "error"],
  ["a comment reaching into the next record", ["1 /*", "*/ 2"], "error"],
  ["a bracket left open for the next record", ["[1", "], 2"], "error"],
  ["a statement break", ["1]; export const other = [2"], "error"],
  ["a line comment after one value", ["1 // x"], 1],
  ["nothing", [""], "error"],
];

for (const [what, exprs, reads] of CASES) {
  test(`an info record with ${what}: x_0 reads ${reads === "error" ? "as a FormatError at its line" : reads}; other items keep theirs`, async () => {
    const { path, ds } = await threeItems();
    const journal = join(path, "index.journal");
    for (const expr of exprs) {
      appendFileSync(journal, encodeRecord([{ set: "x_0", expr } as never]));
    }
    // x_1 and x_2 are read on their own: unaffected, whatever x_0's records say.
    const reader = await DataSet.open(path);
    assert.deepEqual(await reader.info("x_1"), expected(1));
    assert.deepEqual(await reader.info("x_2"), expected(2));
    if (reads === "error") {
      const lastLine = readFileSync(journal, "utf8").trimEnd().split("\n").length;
      for (const call of [() => reader.infos(), () => reader.info("x_0")]) {
        await assert.rejects(call(), (err: unknown) => {
          assert.ok(err instanceof FormatError, String(err));
          assert.match(err.message, /the info recorded there cannot be read/);
          assert.equal(err.file, journal);
          assert.equal(err.line, lastLine, "the record that set x_0 last");
          return true;
        });
      }
    } else {
      assert.deepEqual(await reader.infos(), { x_0: reads, x_1: expected(1), x_2: expected(2) });
    }
    await ds.setInfo("x_0", { repaired: true });
    assert.deepEqual(await (await DataSet.open(path)).infos(), {
      x_0: { repaired: true },
      x_1: expected(1),
      x_2: expected(2),
    });
  });
}
