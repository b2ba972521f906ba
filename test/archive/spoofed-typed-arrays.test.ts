// Typed arrays are written by their internal type: an own or inherited `constructor` that lies
// (an attacker's or a confused library's) must not change the class or dtype the archive names.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Archive, NDArray } from "../../src/index.js";

test("a Uint8Array whose constructor claims Float64Array is written as a Uint8Array", () => {
  const bytes = Object.assign(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), {
    constructor: { name: "Float64Array" },
  });
  const archive = new Archive();
  archive.insert({ bytes });
  const text = archive.toString();
  assert.match(text, /Uint8Array/);
  assert.doesNotMatch(text, /Float64Array/);
});

test("an NDArray's default dtype comes from its data's real type", () => {
  const data = new Int16Array([1, 2, 3, 4]);
  const a = new NDArray(data, [2, 2]);
  Object.defineProperty(data, "constructor", { value: { name: "Float64Array" } });
  const archive = new Archive();
  archive.insert({ a });
  const text = archive.toString();
  assert.doesNotMatch(text, /<f8|Float64Array/);
  assert.match(text, /Int16Array/);
});
