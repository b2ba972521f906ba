/**
 * A reader that stops early closes the pipe: `persist show big.ds | head -1`,
 * `persist get --json ... | head -c 100`. The command ends quietly with exit 0 (no EPIPE trace).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { Archive } from "../../src/archive.js";
import { DataSet } from "../../src/dataset/dataset.js";
import { tempDir } from "../helpers/tmp.js";
import { MAIN, ROOT } from "./helpers.js";

/** Runs `persist ARGS | READER` in bash; the exit code of persist and its stderr. */
function piped(args: string[], reader: string): { code: number; stderr: string; out: string } {
  const persist = [process.execPath, "--import", "tsx", MAIN, ...args]
    .map((a) => `'${a.replaceAll("'", "'\\''")}'`)
    .join(" ");
  const r = spawnSync(
    "bash",
    ["-c", `${persist} 2>"$ERR" | ${reader}; echo "persist=\${PIPESTATUS[0]}" >&2; cat "$ERR" >&2`],
    {
      cwd: ROOT,
      encoding: "utf8",
      env: { ...process.env, ERR: join(args[1]!, "..", "stderr.txt") },
    },
  );
  const match = /persist=(\d+)\n([\s\S]*)$/.exec(r.stderr);
  assert.ok(match, r.stderr);
  return { code: Number(match[1]), stderr: match[2]!, out: r.stdout };
}

test("closed pipes end quietly with exit 0: show, show --json, get, get --json", async () => {
  const dir = await tempDir();
  const archive = new Archive({ arrayThreshold: 100 });
  const many: Record<string, number> = {};
  for (let i = 0; i < 20_000; i++) many[`key${i}`] = i;
  archive.insert({ big: new Float64Array(2_000_000).fill(0.25), many });
  const { entry } = await archive.save(join(dir, "a"), { name: "run" });
  const ds = await DataSet.open(join(dir, "ds"), { mode: "w" });
  for (let i = 0; i < 300; i++) await ds.set(`item${i}`, i, { info: { i, text: "x".repeat(400) } });
  await ds.close();
  const cases: [string[], string, RegExp][] = [
    [["show", join(dir, "ds")], "head -1", /^DataSet /],
    [["show", join(dir, "ds"), "--json"], "head -c 100", /^\{\n {2}"type": "dataset"/],
    [["get", entry, "big", "--json"], "head -c 100", /^\{\n {2}"dtype": "<f8"/],
    [["get", entry, "many"], "head -1", /^\{\n/],
    [["get", entry, "many", "--json"], "head -1", /^\{\n/],
  ];
  for (const [args, reader, start] of cases) {
    const r = piped(args, reader);
    const what = `persist ${args.slice(0, 1).join(" ")} ${args.slice(2).join(" ")} | ${reader}`;
    assert.equal(r.stderr, "", what);
    assert.equal(r.code, 0, what);
    assert.match(r.out, start, what);
  }
});
