/**
 * Archive-controlled text never reaches the terminal raw (issue 8.6): hostile strings, keys, Map
 * keys, error messages, import specifiers, infos and file names go through every command, in
 * table, text and JSON output and in error messages; only this program's own newlines (and its
 * own colour/progress sequences on a TTY) remain.
 */
import assert from "node:assert/strict";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { Archive } from "../../src/archive.js";
import { clean, isClean, jsonQuote } from "../../src/cli/escape.js";
import { DataSet } from "../../src/dataset/dataset.js";
import { tempDir } from "../helpers/tmp.js";
import { ROOT, runInProcess, spawnCli } from "./helpers.js";

/** Every class of character a terminal acts on. */
const EVIL =
  "\x1b]0;PWNED\x07\x1b[2J\x1b[31m\r\b\t\n\x00\x7f\x9b31m\x85" +
  "\u202aL\u202bR\u202cP\u202dO\u202eV\u2066I\u2067I\u2068I\u2069\u200f\u2028\ud800x\udfff";

function assertSafe(text: string, what: string): void {
  for (const [i, line] of text.split("\n").entries()) {
    assert.ok(
      isClean(line),
      `${what}, line ${i + 1} holds a raw control character: ${clean(line)}`,
    );
  }
}

test("clean escapes C0, DEL, C1, bidi controls and lone surrogates visibly, and nothing else", () => {
  assert.equal(clean("plain text, ünïcödé, 😀, \\x1b"), "plain text, ünïcödé, 😀, \\x1b");
  assert.equal(clean("\x1b[2J"), "\\x1b[2J");
  assert.equal(clean("a\nb\tc\rd"), "a\\nb\\tc\\rd");
  assert.equal(clean("\x00\x7f\x80\x9b\x9f"), "\\x00\\x7f\\x80\\x9b\\x9f");
  assert.equal(
    clean("\u202e\u2066\u2069\u200e\u061c\ufeff"),
    "\\u202e\\u2066\\u2069\\u200e\\u061c\\ufeff",
  );
  assert.equal(clean("\ud800|\udc00|\ud83d\ude00"), "\\ud800|\\udc00|😀");
  for (let code = 0; code < 0x10000; code++) {
    const c = String.fromCharCode(code);
    const escaped = clean(c);
    assert.ok(isClean(escaped), `U+${code.toString(16)}`);
    const control = code < 0x20 || (code >= 0x7f && code <= 0x9f);
    if (control) assert.notEqual(escaped, c, `U+${code.toString(16)} must be escaped`);
  }
  // jsonQuote is JSON with the same characters escaped, equal in value
  assert.equal(JSON.parse(jsonQuote(EVIL)), EVIL);
  assert.ok(isClean(jsonQuote(EVIL)));
});

test("no command writes to a stream except through the Printer", async () => {
  const dir = join(ROOT, "src", "cli");
  for (const file of await readdir(dir)) {
    if (file === "terminal.ts") continue;
    const text = await readFile(join(dir, file), "utf8");
    assert.doesNotMatch(text, /\.(stdout|stderr|stream)\.write\(/, file);
    assert.doesNotMatch(text, /\bconsole\.(log|error|warn|info)\(/, file);
  }
});

test("hostile archive text through show, get, verify and convert, as text and JSON", async () => {
  const root = await tempDir();
  // a folder name an attacker chose as well
  const dir = join(root, `d\x1b[2J\u202e`);
  await mkdir(dir);
  const error = new Error(EVIL);
  const archive = new Archive({ arrayThreshold: 4 });
  archive.insert({
    s: EVIL,
    o: { [EVIL]: EVIL, nested: { [EVIL]: [EVIL, EVIL] } },
    m: new Map([[EVIL, new Set([EVIL])]]),
    error,
    holes: Object.assign([], { 3: EVIL, length: 2 ** 32 - 1 }),
    arr: { [EVIL]: new Float64Array(8) },
  });
  const { entry } = await archive.save(dir, { name: "run" });
  // import specifiers and constructor arguments of imported classes, written by hand
  const imports = join(dir, "imports.mjs");
  await writeFile(
    imports,
    `import { X as _X } from ${JSON.stringify(EVIL)};\nexport const v = new _X(${JSON.stringify(EVIL)});\n`,
  );
  // an archive that fails to load with archive text in the message
  const broken = join(dir, "broken.mjs");
  await writeFile(broken, `export const ${"a"} = ${JSON.stringify(EVIL)} +;\n`);
  const runs: [string[], number][] = [
    [["show", entry], 0],
    [["show", entry, "--json"], 0],
    [["show", imports], 0],
    [["show", imports, "--json"], 0],
    [["verify", entry], 0],
    [["verify", entry, "--json"], 0],
    [["verify", broken], 1],
    [["verify", broken, "--json"], 1],
    [["show", broken], 1],
    [["get", broken, "a"], 1],
    [["get", imports, "v"], 0],
    [["get", imports, "v", "--json"], 0],
    [["get", entry, EVIL], 1],
    [["get", join(dir, `nothing${EVIL}`), "x"], 1],
    [["convert", entry, "--format", "npz", "--out", join(dir, "out")], 0],
    [["convert", entry, "--format", "npz", "--out", join(dir, "out")], 2],
    [["show", entry, `--${EVIL}`], 2],
    [[EVIL], 2],
  ];
  for (const name of ["s", "o", "m", "error", "holes", "arr"]) {
    runs.push([["get", entry, name], 0], [["get", entry, name, "--json"], 0]);
  }
  for (const [args, code] of runs) {
    const r = await runInProcess(args);
    const what = `persist ${args.map(clean).join(" ")}`;
    assert.equal(r.code, code, `${what}: ${clean(r.stderr)}`);
    assertSafe(r.stdout, `${what} stdout`);
    assertSafe(r.stderr, `${what} stderr`);
    if (args.includes("--json") && code === 0) JSON.parse(r.stdout);
  }
  // JSON output keeps the values exactly
  const s = await runInProcess(["get", entry, "o", "--json"]);
  assert.deepEqual(JSON.parse(s.stdout), { [EVIL]: EVIL, nested: { [EVIL]: [EVIL, EVIL] } });
  const v = await runInProcess(["get", imports, "v", "--json"]);
  assert.deepEqual(JSON.parse(v.stdout), { $type: "X", $module: EVIL, $args: [EVIL] });
  // the nested array is listed, its path escaped
  const shown = await runInProcess(["show", entry]);
  assert.match(shown.stdout, /arr\["\\u001b\]0;PWNED.*"\] +Float64Array <f8 \[8\]/);
});

test("hostile infos and items of a DataSet through show (table, JSON, --where), get and verify", async () => {
  const dir = await tempDir();
  const path = join(dir, "ds");
  const ds = await DataSet.open(path, { mode: "w", arrayThreshold: 4 });
  await ds.set("evil", { text: EVIL, [EVIL]: new Float32Array(10) }, { info: { tag: EVIL, n: 1 } });
  await ds.set("fine", [1, 2], { info: { tag: "ok", n: 2 } });
  await ds.close();
  const runs: [string[], number][] = [
    [["show", path], 0],
    [["show", path, "--json"], 0],
    [["show", path, "--where", "n >= 1", "--sort", "-tag"], 0],
    [["show", path, "--where", `tag == ${JSON.stringify(EVIL)}`, "--json"], 0],
    [["get", path, "evil"], 0],
    [["get", path, "evil", "--json"], 0],
    // (no NUL: a command line cannot hold one)
    [["get", path, `no${EVIL.replace("\x00", "")}`], 1],
    [["verify", path], 0],
    [["verify", path, "--json"], 0],
  ];
  for (const [args, code] of runs) {
    const r = await spawnCli(args);
    const what = `persist ${args.map(clean).join(" ")}`;
    assert.equal(r.code, code, `${what}: ${clean(r.stderr)}`);
    assertSafe(r.stdout, `${what} stdout`);
    assertSafe(r.stderr, `${what} stderr`);
  }
  const selected = await runInProcess([
    "show",
    path,
    "--where",
    `tag == ${JSON.stringify(EVIL)}`,
    "--json",
  ]);
  const json = JSON.parse(selected.stdout);
  assert.deepEqual(
    json.items.map((i: { name: string; info: unknown }) => [i.name, i.info]),
    [["evil", { tag: EVIL, n: 1 }]],
  );
});
