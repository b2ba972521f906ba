/**
 * String escapes decode exactly (short and long literals, one-byte and two-byte results, lone
 * surrogates, astral code points), and their memory stays near the size of the result: a literal of
 * `\x41` escapes once built a rope of one node per escape (95 MiB of text took 950 MB).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import fc from "fast-check";
import { tempDir } from "../helpers/tmp.js";
import { importNative, interpret } from "./helpers.js";

const SINGLE: Record<number, string> = {
  8: "\\b",
  9: "\\t",
  10: "\\n",
  11: "\\v",
  12: "\\f",
  13: "\\r",
};

/** One code unit written in a randomly chosen legal way. */
function spell(unit: number, how: number): string {
  const hex = (v: number, w: number) => v.toString(16).padStart(w, "0");
  if (how === 0 && unit >= 32 && unit !== 34 && unit !== 92 && (unit < 0xd800 || unit > 0xdfff))
    return String.fromCharCode(unit);
  if (how === 1 && unit < 256) return `\\x${hex(unit, 2)}`;
  if (how === 2 && SINGLE[unit]) return SINGLE[unit]!;
  if (how === 3) return `\\u{${unit.toString(16)}}`;
  return `\\u${hex(unit, 4)}`;
}

const units = (maxLength: number, maxUnit: number) =>
  fc.array(fc.tuple(fc.integer({ min: 0, max: maxUnit }), fc.integer({ min: 0, max: 4 })), {
    maxLength,
  });

test("escaped literals decode to exactly their code units (short and long, narrow and wide)", async () => {
  for (const [maxLength, maxUnit] of [
    [40, 0xff],
    [40, 0xffff],
    [2000, 0xff],
    [2000, 0xffff],
  ] as const) {
    await fc.assert(
      fc.asyncProperty(units(maxLength, maxUnit), async (list) => {
        const expected = String.fromCharCode(...list.map(([u]) => u));
        const text = `export const s = "${list.map(([u, how]) => spell(u, how)).join("")}";\n`;
        assert.equal((await interpret(text)).s, expected);
      }),
      { numRuns: 60 },
    );
  }
});

test("astral \\u{...} escapes, line continuations and identity escapes match native import", async () => {
  const text =
    'export const a = "x\\u{1F600}y\\u{10FFFF}\\u{0}";\n' +
    "export const b = 'it\\'s \\\"q\\\" \\\\ \\a\\c \\\r\n" +
    "next';\n" +
    `export const c = "${"\\u{1F600}".repeat(300)}\\x41";\n` +
    `export const d = "${"\\xe9".repeat(3000)}";\n`;
  assert.deepEqual(await interpret(text), await importNative(text));
});

test("malformed escapes are refused with a location", async () => {
  for (const bad of [
    "\\x4",
    "\\u12",
    "\\u{}",
    "\\u{110000}",
    "\\u{123456789}",
    "\\01",
    "\\8",
    "\\u{41",
  ]) {
    await assert.rejects(interpret(`export const s = "${bad}";\n`), /escape|unterminated|octal/);
  }
});

test("a 1 MiB-unit literal of escapes decodes", async () => {
  const out = await interpret(`export const s = "${"\\x41".repeat(1 << 20)}";\n`);
  assert.equal(out.s, "A".repeat(1 << 20));
});

/**
 * Runs `body` (statements with `load` in scope and `await` allowed) in a child Node with
 * --expose-gc, so its memory is measured alone; returns the last JSON line it prints.
 */
function probeInChild(body: string): Record<string, unknown> {
  const loader = pathToFileURL(
    fileURLToPath(new URL("../../src/load/index.ts", import.meta.url)),
  ).href;
  const script = `const { load } = await import(${JSON.stringify(loader)});${body}`;
  const res = spawnSync(
    process.execPath,
    [
      "--expose-gc",
      "--import",
      "tsx",
      "--input-type=commonjs",
      "-e",
      `(async () => { ${script} })()`,
    ],
    { encoding: "utf8" },
  );
  assert.equal(res.status, 0, res.stderr);
  return JSON.parse(res.stdout.trim().split("\n").pop()!);
}

test("load() peak memory on an archive of escaped strings stays below 4x the file (child process)", async () => {
  const dir = await tempDir("persist-esc-");
  const file = join(dir, "esc.mjs");
  const line = `  "${'ab\\n\\x41\\u00e9\\"cd'.repeat(60)}",\n`;
  await writeFile(
    file,
    `export const data = [\n${line.repeat(Math.ceil((24 << 20) / line.length))}];\n`,
  );
  const size = (await stat(file)).size;
  const { delta, n } = probeInChild(
    "globalThis.gc(); const before = process.memoryUsage().rss;" +
      `const ns = await load(${JSON.stringify(file)});` +
      "const hwm = Number(/VmHWM:\\s+(\\d+)/.exec(require('node:fs').readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;" +
      "console.log(JSON.stringify({ delta: hwm - before, n: ns.data.length }));",
  ) as { delta: number; n: number };
  assert.ok(n > 0);
  assert.ok(delta < 4 * size, `peak ${(delta / size).toFixed(2)}x the file size`);
});

test("a loaded string does not keep the module text alive (child process)", async () => {
  const dir = await tempDir("persist-retain-");
  const file = join(dir, "retain.mjs");
  const pad = "1234567, ".repeat(4_000_000);
  await writeFile(
    file,
    `export const s = "a string longer than thirteen characters";\nexport const pad = [${pad}];\n`,
  );
  const { kept, s } = probeInChild(
    "globalThis.gc(); const before = process.memoryUsage();" +
      `let ns = await load(${JSON.stringify(file)}); ns = { s: ns.s };` +
      // A macrotask first: the finished load's own frames are released after the current job.
      "await new Promise((r) => setTimeout(r, 50));" +
      "globalThis.gc(); globalThis.gc(); const after = process.memoryUsage();" +
      "console.log(JSON.stringify({ kept: after.external + after.heapUsed - before.external - before.heapUsed, s: ns.s }));",
  ) as { kept: number; s: string };
  assert.equal(s, "a string longer than thirteen characters");
  // The module text is 36 MB; what one string keeps must be far below it.
  assert.ok(kept < 8 * 2 ** 20, `${(kept / 2 ** 20).toFixed(1)} MB kept alive by one string`);
});
