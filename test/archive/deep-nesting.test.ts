/**
 * "Nesting of any depth is archived" (README), for every container kind, at depths around the
 * walk's and the emitter's stack limits. Run in a fresh child process: how deep one stack reaches
 * depends on whether V8 has optimised the walk yet (interpreted frames are bigger), and a fresh
 * process is where a user's first insert runs. A 1,000-deep nested array was refused with "nested
 * too deeply for the stack" in a fresh process when the walk recursed 1,000 levels per stack.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const INDEX = fileURLToPath(new URL("../../src/index.ts", import.meta.url));

const CHILD = `
import { Archive, load } from ${JSON.stringify(INDEX)};
const makers = {
  array: (x) => [x],
  object: (x) => ({ x }),
  map: (x) => new Map([["k", x]]),
  set: (x) => new Set([x]),
  error: (x) => new Error("e", { cause: x }),
  mixed: (x, i) => (i % 3 === 0 ? [x] : i % 3 === 1 ? { x } : new Map([[i, x]])),
};
const failures = [];
for (const [kind, make] of Object.entries(makers)) {
  for (const n of [399, 400, 401, 999, 1000, 1001, 5000]) {
    let v = 1;
    for (let i = 0; i < n; i++) v = make(v, i);
    try {
      const archive = new Archive();
      archive.insert({ v });
      archive.toString();
    } catch (e) {
      failures.push(kind + " " + n + ": " + e.message.slice(0, 80));
    }
  }
}
console.log(JSON.stringify(failures));
`;

test("nested arrays, objects, Maps, Sets, Errors and mixes of 399–5,000 levels archive in a fresh process", () => {
  const out = execFileSync(
    process.execPath,
    ["--import", "tsx", "--input-type=module", "-e", CHILD],
    {
      encoding: "utf8",
    },
  );
  assert.deepEqual(JSON.parse(out), []);
});
