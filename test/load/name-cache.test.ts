/**
 * The lexer hands out one string per distinct name through a small cache (lexer.ts cachedName):
 * names of up to 7 characters are matched by their packed characters, longer ones by comparing
 * characters. Thousands of names, short and long, sharing cache slots in every order, must each
 * come back as themselves.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { interpretSource } from "../../src/load/load.js";

const FIRST = "abcxyzABCXYZ$_";
const REST = `${FIRST}0189`;

/** Deterministic names of 1–12 characters from a seed. */
function names(seed: number, count: number): string[] {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
  const out = new Set<string>();
  while (out.size < count) {
    const length = 1 + (next() % 12);
    let name = FIRST[next() % FIRST.length]!;
    while (name.length < length) name += REST[next() % REST.length]!;
    out.add(name);
  }
  return [...out];
}

test("thousands of names sharing cache slots each read back as themselves", async () => {
  const keys = names(7, 6000).filter((k) => k !== "__proto__");
  // Each object repeats some earlier keys, so cached and fresh names interleave.
  const objects = keys.map((k, i) => [k, keys[(i * 7919) % keys.length]!, keys[i >> 1]!]);
  const text = `export const rows = [\n${objects
    .map((ks, i) => `  { ${[...new Set(ks)].map((k) => `${k}: ${i}`).join(", ")} },`)
    .join("\n")}\n];\n`;
  const { rows } = (await interpretSource(text, { file: "names.mjs" })) as {
    rows: Record<string, number>[];
  };
  assert.equal(rows.length, objects.length);
  rows.forEach((row, i) => {
    assert.deepEqual(Object.keys(row), [...new Set(objects[i])], `row ${i}`);
  });
});

test("any names, as keys and as bindings, read back as themselves", async () => {
  const identifier = fc.stringMatching(/^[A-Za-z$][A-Za-z0-9_$]{0,11}$/);
  await fc.assert(
    fc.asyncProperty(fc.array(identifier, { minLength: 1, maxLength: 60 }), async (ks) => {
      const text = `export const o = [${ks.map((k) => `{ ${k}: 1 }`).join(", ")}];\n`;
      const { o } = (await interpretSource(text, { file: "n.mjs" })) as {
        o: Record<string, number>[];
      };
      assert.deepEqual(
        o.map((x) => Object.keys(x)[0]),
        ks,
      );
    }),
    { numRuns: 300 },
  );
});
