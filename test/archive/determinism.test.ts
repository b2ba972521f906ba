/** Same input → byte-identical text, in this process and in a fresh one. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { Archive } from "../../src/index.js";

const BUILD = `
import { Archive, NDArray } from "./src/index.js";
const shared = { k: [1, 2, 3] };
const cyc = { name: "c" };
cyc.self = cyc;
const m = new Map([["a", shared], ["b", cyc]]);
m.set("m", m);
const a = new Archive();
a.insert({ shared, cyc, m, list: [shared, shared, new Set([cyc])], nd: new NDArray(new Float32Array(6), [2, 3]), d: new Date(5) });
process.stdout.write(a.toString());
`;

function buildInChild(): string {
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", BUILD], {
    encoding: "utf8",
    cwd: process.cwd(),
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test("toString() is byte-identical across calls and across processes", () => {
  const one = buildInChild();
  const two = buildInChild();
  assert.equal(one, two);
  assert.match(one, /list = \[shared, shared, /, "shared values are referenced by their binding");
});

test("ids are given in visit order", () => {
  const a1 = { a: 1 };
  const b1 = { b: 1 };
  const archive = new Archive();
  archive.insert({ first: [a1, a1, b1, b1] });
  const text = archive.toString();
  assert.ok(text.indexOf("const _g0 = { a: 1 }") >= 0, text);
  assert.ok(text.indexOf("const _g1 = { b: 1 }") > text.indexOf("const _g0"), text);
});

test("each inserted name is one `export const name = ...;` statement", () => {
  const archive = new Archive();
  const o: Record<string, unknown> = { x: 1 };
  o.self = o;
  archive.insert({ o, p: [1, 2], q: "s" });
  const text = archive.toString();
  for (const name of ["o", "p", "q"])
    assert.equal(text.split(`export const ${name} = `).length, 2, name);
  assert.match(text, /\no\.self = o;\n/);
});
