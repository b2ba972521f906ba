/**
 * Parsing is linear: hostile text several MiB long (the 1 MiB of `import {` that once took 76 s
 * in `persist show`, unterminated comments and strings, long escape runs, deep brackets) finishes
 * with a typed error or a value well inside node:test's default timeout. No timed assertions: a
 * quadratic parser would simply not finish.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { ArchiveError } from "../../src/errors.js";
import { interpretSource, listImports } from "../../src/load/index.js";

const MiB = 1 << 20;

async function settles(text: string): Promise<unknown> {
  return interpretSource(text, { file: "/x/hostile.mjs" }).then(
    (v) => v,
    (e: unknown) => {
      assert.ok(e instanceof ArchiveError, `untyped: ${String(e)}`);
      return e;
    },
  );
}

const hostile: [string, string][] = [
  ["import { repeated", "import {".repeat((4 * MiB) / 8)],
  ["import { repeated on lines", "import {\n".repeat((4 * MiB) / 9)],
  ["import { a, repeated", `import { a,${" a,".repeat(MiB)}`],
  ["unterminated block comment", `/*${"*".repeat(4 * MiB)}`],
  ["many block comments", "/* x */".repeat((4 * MiB) / 7)],
  ["unterminated string", `export const x = "${"a".repeat(4 * MiB)}`],
  ["unterminated escaped string", `export const x = "${"\\x41".repeat(MiB)}`],
  ["\\u{ without close", `export const x = "${"\\u{".repeat(MiB)}`],
  ["deep brackets", `export const x = ${"[".repeat(4 * MiB)}`],
  ["deep objects", `export const x = ${"{a:".repeat(MiB)}`],
  ["many statements", "const _a = 1;\n".repeat(MiB / 4)],
  ["long name", `export const ${"a".repeat(4 * MiB)} = 1;`],
  ["long number", `export const x = ${"1".repeat(4 * MiB)};`],
  ["long bigint", `export const x = ${"1".repeat(2 * MiB)}n;`],
  ["many exports of one name", `const a = 1;\n${"export { a };\n".repeat(MiB / 8)}`],
];

for (const [name, text] of hostile) {
  test(`hostile input finishes: ${name} (${(text.length / MiB).toFixed(1)} MiB)`, async () => {
    await settles(text);
    listImports(text);
  });
}

test("listImports finds the imports of a module in one pass", () => {
  const found = listImports(
    'import { A as _A, B } from "m1";\nimport { C } from "m2";\nimport { D as _D } from "m1";\nexport const x = 1;\n',
  );
  assert.deepEqual(
    [...found].map(([k, v]) => [k, [...v]]),
    [
      ["m1", ["A", "B", "D"]],
      ["m2", ["C"]],
    ],
  );
});
