/**
 * Every module the emitter writes starts with the format-2 header and ends with the end-of-archive
 * line, so readers can tell a complete module from one cut short.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { Archive, NDArray } from "../../src/index.js";
import { tempDir } from "../helpers/tmp.js";

const HEADER = /^\/\/ persist-archive archive, format 2\. /;
const END = "\n// persist-archive: end of archive\n";

function assertMarked(text: string, what: string): void {
  assert.match(text, HEADER, `${what}: header`);
  assert.ok(text.endsWith(END), `${what}: last line is the end marker`);
  assert.equal(text.indexOf(END), text.length - END.length, `${what}: marker only once`);
}

test("entry modules, single items and archives with external arrays carry header and end line", async () => {
  const cases: [string, Archive][] = [];
  const plain = new Archive();
  plain.insert({ a: 1, b: { c: [1, 2] } });
  cases.push(["plain", plain]);
  const single = new Archive({ singleItem: true });
  single.insert({ item: { x: 1 } });
  cases.push(["single item", single]);
  const withArrays = new Archive({ arrayThreshold: 2 });
  withArrays.insert({ nd: new NDArray(new Float64Array([1, 2, 3, 4]), [2, 2]) });
  cases.push(["external arrays", withArrays]);
  const empty = new Archive();
  cases.push(["empty", empty]);
  const dir = await tempDir();
  let n = 0;
  for (const [what, archive] of cases) {
    assertMarked(archive.toString(), `${what} toString()`);
    for (const pkg of [true, false]) {
      const { entry } = await archive.save(dir, { name: `m${n++}`, package: pkg });
      assertMarked(await readFile(entry, "utf8"), `${what} saved (package: ${pkg})`);
    }
  }
});
