import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { tempDir } from "../helpers/tmp.js";
import { hasEscapes, runInProcess, spawnCli } from "./helpers.js";

const STACK_LINE = /^\s+at .+\(?.*:\d+:\d+\)?$/m;

test("persist alone prints the usage on stderr and exits 2", async () => {
  const r = await spawnCli([]);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /no command given/);
  assert.match(r.stderr, /Usage: persist <command>/);
  for (const command of ["show", "get", "verify", "convert"])
    assert.match(r.stderr, new RegExp(`  ${command} PATH`));
});

test("usage errors exit 2 with the command's usage on stderr and nothing on stdout", async () => {
  const cases: [string[], RegExp, RegExp][] = [
    [["frobnicate"], /unknown command "frobnicate"/, /Usage: persist <command>/],
    [["show"], /missing PATH/, /Usage: persist show PATH/],
    [["show", "a", "b"], /unexpected argument "b"/, /Usage: persist show PATH/],
    [["show", "a", "--bogus"], /--bogus/, /Usage: persist show PATH/],
    [["get", "a"], /missing NAME/, /Usage: persist get PATH NAME/],
    [
      ["verify", "a", "--jsn"],
      /unknown option "--jsn"; did you mean "--json"\?/,
      /Usage: persist verify PATH/,
    ],
    [["show", "a", "--limt", "3"], /did you mean "--limit"\?/, /Usage: persist show PATH/],
    [["shw", "a"], /unknown command "shw"; did you mean "show"\?/, /Usage: persist <command>/],
    [["get", "a", "b", "--out", "x"], /unknown option "--out"/, /Usage: persist get PATH NAME/],
    [["show", "a", "--limit", "x"], /--limit must be a whole number/, /Usage: persist show/],
    [
      ["show", "a", "--where", "k = 1"],
      /--where: unexpected "=" \(use "=="\) at column 3/,
      /Usage: persist show/,
    ],
    [["show", "a", "--where", "(k > 1"], /--where: expected "\)"/, /Usage: persist show/],
    [["show", "a", "--sort", "a b"], /--sort: unexpected "b"/, /Usage: persist show/],
    [["view", "a", "--port", "70000"], /--port must be a port number/, /Usage: persist view PATH/],
    [["convert", "a"], /--format is required/, /Usage: persist convert PATH/],
    [
      ["convert", "a", "--format", "zip"],
      /--format must be npy, npz or hdf5, not "zip"/,
      /Usage: persist convert/,
    ],
    [["convert", "a", "--format"], /--format/, /Usage: persist convert/],
  ];
  const results = await Promise.all(cases.map(([args]) => runInProcess(args)));
  results.forEach((r, i) => {
    const [args, message, usage] = cases[i]!;
    assert.equal(r.code, 2, `persist ${args.join(" ")}: ${r.stderr}`);
    assert.equal(r.stdout, "", args.join(" "));
    assert.match(r.stderr, message, args.join(" "));
    assert.match(r.stderr, usage, args.join(" "));
    assert.doesNotMatch(r.stderr, STACK_LINE);
  });
});

test("--help on every command prints its usage on stdout and exits 0", async () => {
  const cases: [string[], RegExp][] = [
    [["--help"], /Usage: persist <command>/],
    [["-h"], /Usage: persist <command>/],
    [
      ["show", "--help"],
      /Usage: persist show PATH \[--where EXPR\] \[--sort FIELD\] \[--limit N\] \[--json\]/,
    ],
    [
      ["get", "--help"],
      /\{"\$cycle": "PATH"\}[\s\S]*"\$type": "SparseArray"|"\$type": "SparseArray"[\s\S]*\{"\$cycle": "PATH"\}/,
    ],
    [["verify", "--help"], /Usage: persist verify PATH \[--json\]/],
    [["view", "--help"], /Usage: persist view PATH \[--port N\]/],
    [["get", "--help"], /Usage: persist get PATH NAME \[--json\][\s\S]*"dtype", "shape", "data"/],
    [["verify", "-h"], /Usage: persist verify PATH/],
    [["convert", "--help"], /Usage: persist convert PATH --format npy\|npz\|hdf5 \[--out DIR\]/],
    [["help", "verify"], /^Usage: persist verify PATH/],
    [["help"], /^Usage: persist <command>/],
    // --help wins over missing arguments
    [["convert", "x", "--help"], /Usage: persist convert/],
  ];
  const results = await Promise.all(cases.map(([args]) => runInProcess(args)));
  results.forEach((r, i) => {
    const [args, usage] = cases[i]!;
    assert.equal(r.code, 0, args.join(" "));
    assert.match(r.stdout, usage, args.join(" "));
    assert.equal(r.stderr, "", args.join(" "));
    assert.equal(hasEscapes(r.stdout), false);
  });
});

test("--version prints the package version", async () => {
  const r = await runInProcess(["--version"]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^persist-archive \d+\.\d+\.\d+\n$/);
});

test("a bad path exits 1 naming the path, without a stack trace", async () => {
  const dir = await tempDir();
  const missing = join(dir, "nope");
  const plainDir = join(dir, "plain");
  await mkdir(plainDir);
  const textFile = join(dir, "notes.txt");
  await writeFile(textFile, "hello");
  const cases: [string[], string, RegExp][] = [
    [["show", missing], missing, /does not exist/],
    [["get", missing, "x"], missing, /does not exist/],
    [["verify", missing], missing, /does not exist/],
    [["convert", missing, "--format", "npz"], missing, /does not exist/],
    [["show", plainDir], plainDir, /neither a DataSet .* nor an archive package/],
    [["verify", textFile], textFile, /not an archive module/],
  ];
  const results = await Promise.all(cases.map(([args]) => runInProcess(args)));
  results.forEach((r, i) => {
    const [args, path, why] = cases[i]!;
    assert.equal(r.code, 1, args.join(" "));
    assert.equal(r.stdout, "");
    assert.ok(r.stderr.includes(path), r.stderr);
    assert.match(r.stderr, why);
    assert.match(r.stderr, new RegExp(`^persist ${args[0]}: `));
    assert.doesNotMatch(r.stderr, STACK_LINE);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  });
});

test("the executable: exit codes and streams of a usage error, --help, a bad path", async () => {
  const [usage, help, bad] = await Promise.all([
    spawnCli(["show", "x", "--bogus"]),
    spawnCli(["convert", "--help"]),
    spawnCli(["get", "/nonexistent/persist-cli-test", "x"]),
  ]);
  assert.equal(usage.code, 2);
  assert.equal(usage.stdout, "");
  assert.match(usage.stderr, /--bogus[\s\S]*Usage: persist show PATH/);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: persist convert PATH --format npy\|npz\|hdf5 \[--out DIR\]/);
  assert.equal(help.stderr, "");
  assert.equal(bad.code, 1);
  assert.equal(bad.stdout, "");
  assert.equal(
    bad.stderr,
    "persist get: no archive or DataSet at /nonexistent/persist-cli-test: the path does not exist\n",
  );
  for (const r of [usage, help, bad]) assert.equal(hasEscapes(r.stdout + r.stderr), false);
});
