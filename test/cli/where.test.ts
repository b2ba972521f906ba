/** `show --where/--sort/--limit`: the expression language, and the command on a DataSet. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { compileSort, compileWhere, ExpressionError } from "../../src/cli/where.js";
import { DataSet } from "../../src/dataset/dataset.js";
import { tempDir } from "../helpers/tmp.js";
import { runInProcess } from "./helpers.js";

const INFO = {
  omega: 2.5,
  k: 3,
  tag: "first",
  ok: true,
  big: 10n,
  params: { n: 4, "odd key": "x", list: [10, 20] },
  m: new Map([["a", 1]]),
  nothing: null,
};

test("comparisons, logic, parentheses, literals and paths", () => {
  const cases: [string, boolean][] = [
    ["omega > 1 && k < 5", true],
    ["omega > 1 && k < 3", false],
    ["omega > 3 || k <= 3", true],
    ["!(omega > 3) && !false", true],
    ['tag == "first"', true],
    ["tag == 'first'", true],
    ['tag != "first"', false],
    ['tag < "z" && tag >= "first"', true],
    ["ok", true],
    ["ok == true && !nothing", true],
    ["nothing == null", true],
    ["big == 10 && big > 9.5", true],
    ["params.n >= 4", true],
    ['params["odd key"] == "x"', true],
    ["params.list[1] == 20", true],
    ["params.list[5] == 20", false],
    ["m.a == 1", true],
    ["k == -3 || k > -1", true],
    ["1.5e0 < omega", true],
    ["missing > 1", false],
    ["missing < 1", false],
    ["missing == missing", false],
    ["missing != 1", false],
    ["tag > 1", false],
    ["params > 1", false],
    ["info.k == 3", true],
    ["((((k == 3))))", true],
    ["constructor", false],
    ["__proto__", false],
    ["toString == toString", false],
    ["params.list.length == 2", true], // an own property of arrays
  ];
  for (const [text, expected] of cases) assert.equal(compileWhere(text)(INFO), expected, text);
  // non-object infos
  assert.equal(compileWhere("info == 3")(3), true);
  assert.equal(compileWhere("a > 1")(null), false);
  assert.equal(compileWhere("a > 1")("str"), false);
  // escapes in strings
  assert.equal(compileWhere('s == "a\\n\\u0041\\x42\\"\\\\"')({ s: 'a\nAB"\\' }), true);
});

test("malformed expressions are errors with a column; nothing is evaluated", () => {
  const bad = [
    "k = 3",
    "k & 1",
    "(k > 1",
    "k >",
    "> 1",
    "k > 1)",
    "'open",
    "a.",
    "a[b]",
    "k > 1 k",
    "process.exit(1)",
    "a; b",
    "`x`",
    `${"(".repeat(200)}1${")".repeat(200)}`,
    "x".repeat(20_000),
  ];
  for (const text of bad) {
    assert.throws(() => compileWhere(text), ExpressionError, text.slice(0, 40));
  }
  assert.throws(() => compileWhere("k = 3"), /unexpected "=" \(use "=="\) at column 3/);
});

test("sort by a field: numbers, strings, descending, missing last, stable", () => {
  const items: [string, unknown][] = [
    ["a", { x: 3, s: "b" }],
    ["b", { x: 1 }],
    ["c", { s: "a" }],
    ["d", { x: 2, s: "c" }],
    ["e", null],
    ["f", { x: 1 }],
  ];
  const order = (field: string) =>
    [...items]
      .sort(compileSort(field))
      .map(([name]) => name)
      .join("");
  assert.equal(order("x"), "bfdace");
  assert.equal(order("-x"), "adbfce");
  assert.equal(order("s"), "cadbef");
  assert.equal(order("-s"), "dacbef");
  assert.throws(() => compileSort("a b"), ExpressionError);
});

test("persist show DATASET --where --sort --limit, as table and JSON", async () => {
  const dir = await tempDir();
  const path = join(dir, "ds");
  const ds = await DataSet.open(path, { mode: "w" });
  for (let i = 0; i < 12; i++) {
    await ds.set(`run${i}`, { i }, { info: { omega: i / 2, k: i % 7, name: `n${i}` } });
  }
  await ds.close();
  const r = await runInProcess([
    "show",
    path,
    "--where",
    "omega > 1 && k < 5",
    "--sort",
    "-k",
    "--limit",
    "3",
    "--json",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const json = JSON.parse(r.stdout);
  assert.equal(json.count, 12);
  // omega > 1: i >= 3; k < 5: i%7 < 5 → i = 3, 4, 7, 8, 9, 10, 11 → k = 3, 4, 0, 1, 2, 3, 4
  assert.deepEqual(
    json.items.map((i: { name: string }) => i.name),
    ["run4", "run11", "run3"],
  );
  const table = await runInProcess(["show", path, "--where", "name == 'n5'"]);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /\(1 of 12 items,/);
  assert.match(table.stdout, /run5 +object 1 entry/);
  assert.doesNotMatch(table.stdout, /run4/);
  const none = await runInProcess(["show", path, "--where", "k > 100"]);
  assert.match(none.stdout, /\(0 of 12 items,/);
  const bad = await runInProcess(["show", path, "--where", "k >"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--where: expected a value, found end of expression at column 4/);
});
