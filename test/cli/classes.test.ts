/**
 * Archives that import classes and functions from other packages: the CLI never imports them
 * (stand-ins record the calls instead), yet shows, prints, verifies and converts them faithfully.
 */
import assert from "node:assert/strict";
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { Archive } from "../../src/archive.js";
import { DataSet } from "../../src/dataset/dataset.js";
import { register } from "../../src/values/registry.js";
import { persist } from "../../src/values/symbols.js";
import { tempDir } from "../helpers/tmp.js";
import { runInProcess, spawnCli } from "./helpers.js";

// Importing "./side-effect.mjs" would create a marker file: the CLI must never do it.
const SIDE_EFFECT = `import { writeFileSync } from "node:fs";
writeFileSync(new URL("./IMPORTED", import.meta.url), "imported");
export class Point { constructor(x, y) { this.x = x; this.y = y; } }
export class Day { static from(s) { return new Day(); } }
export function solve() {}
`;

class Point {
  static [persist.module] = "./side-effect.mjs";
  constructor(
    public x: number,
    public y: number,
  ) {}
  [persist.rep]() {
    return [this.x, this.y];
  }
}
class Day {
  constructor(public iso: string) {}
  static from(iso: string) {
    return new Day(iso);
  }
}
register(Day, { module: "./side-effect.mjs", factory: "from", args: (d) => [d.iso] });
function solve() {}
register(solve, { module: "./side-effect.mjs" });

async function saveClassArchive(dir: string): Promise<string> {
  const p = new Point(1, 2);
  const archive = new Archive();
  archive.insert({ p, pts: [p, new Point(3, 4)], day: Day.from("2020-01-02"), solver: solve });
  const { entry } = await archive.save(dir, { name: "geo" });
  await writeFile(join(dir, "geo", "side-effect.mjs"), SIDE_EFFECT);
  return entry;
}

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

test("show, get, verify and convert an archive with imported classes, never importing them", async () => {
  const dir = await tempDir();
  const entry = await saveClassArchive(dir);
  const pkg = join(dir, "geo");
  const [shown, pts, day, text, verified] = await Promise.all([
    spawnCli(["show", pkg, "--json"]),
    spawnCli(["get", pkg, "pts", "--json"]),
    runInProcess(["get", pkg, "day", "--json"]),
    spawnCli(["get", pkg, "day"]),
    spawnCli(["verify", pkg]),
  ]);
  assert.deepEqual(JSON.parse(shown.stdout).items, [
    { name: "p", kind: "Point", module: "./side-effect.mjs" },
    { name: "pts", kind: "array", entries: 2 },
    { name: "day", kind: "Day", module: "./side-effect.mjs" },
    { name: "solver", kind: "function", module: "./side-effect.mjs" },
  ]);
  assert.deepEqual(JSON.parse(pts.stdout), [
    { $type: "Point", $module: "./side-effect.mjs", $args: [1, 2] },
    { $type: "Point", $module: "./side-effect.mjs", $args: [3, 4] },
  ]);
  assert.deepEqual(JSON.parse(day.stdout), {
    $type: "Day",
    $module: "./side-effect.mjs",
    $factory: "from",
    $args: ["2020-01-02"],
  });
  assert.equal(text.stdout, `Day.from('2020-01-02') /* from "./side-effect.mjs" */\n`);
  assert.equal(verified.code, 0, verified.stderr);

  const converted = await spawnCli(["convert", pkg, "--format", "npz", "--out", join(dir, "copy")]);
  assert.equal(converted.code, 0, converted.stderr);
  // Same module text: the calls, the shared reference `p` and the function import are kept.
  assert.equal(
    await readFile(join(dir, "copy", "index.mjs"), "utf8"),
    await readFile(entry, "utf8"),
  );
  // The user's files in the package go along, in place too.
  assert.equal(await readFile(join(dir, "copy", "side-effect.mjs"), "utf8"), SIDE_EFFECT);
  const inPlace = await runInProcess(["convert", pkg, "--format", "npz"]);
  assert.equal(inPlace.code, 0, inPlace.stderr);
  assert.equal(
    await readFile(entry, "utf8"),
    await readFile(join(dir, "copy", "index.mjs"), "utf8"),
  );
  assert.equal(await readFile(join(pkg, "side-effect.mjs"), "utf8"), SIDE_EFFECT);
  assert.equal(await exists(join(pkg, "IMPORTED")), false, "the CLI imported archive code");
  assert.equal(await exists(join(dir, "copy", "IMPORTED")), false, "the CLI imported archive code");
});

test("a DataSet item holding a class instance is shown, printed and converted", async () => {
  const dir = await tempDir();
  const path = join(dir, "ds");
  const ds = await DataSet.open(path, { mode: "w", arrayThreshold: 4 });
  await ds.set(
    "where",
    { at: new Point(5, 6), when: Day.from("2021-03-04"), w: new Float64Array(8) },
    { info: { n: 1 } },
  );
  await ds.close();
  await writeFile(join(path, "side-effect.mjs"), SIDE_EFFECT);
  const before = await readFile(join(path, "where.mjs"), "utf8");
  const [shown, got] = await Promise.all([
    runInProcess(["show", path, "--json"]),
    runInProcess(["get", path, "where", "--json"]),
  ]);
  assert.equal(shown.code, 0, shown.stderr);
  assert.deepEqual(
    JSON.parse(shown.stdout).items.map((i: { name: string; kind: string }) => [i.name, i.kind]),
    [["where", "object"]],
  );
  assert.deepEqual(JSON.parse(got.stdout).at, {
    $type: "Point",
    $module: "./side-effect.mjs",
    $args: [5, 6],
  });
  const converted = await runInProcess(["convert", path, "--format", "npz"]);
  assert.equal(converted.code, 0, converted.stderr);
  const after = await readFile(join(path, "where.mjs"), "utf8");
  assert.equal(after, before.replace('"./where_arrays", "npy"', '"./where_arrays.npz", "npz"'));
  assert.equal(await exists(join(path, "IMPORTED")), false);
  // Files of the user's beside the items survive the conversion.
  assert.equal(await readFile(join(path, "side-effect.mjs"), "utf8"), SIDE_EFFECT);
});
