/**
 * Truncation (issue 8): a module whose header says format >= 2 must end with the line
 * `// persist-archive: end of archive`; one cut short (at a statement boundary, so it still parses)
 * is a FormatError "truncated", from load() and from isTruncated() (which the CLI's verify uses).
 */
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { FormatError } from "../../src/errors.js";
import { Archive } from "../../src/index.js";
import {
  ARCHIVE_END_MARKER,
  checkComplete,
  declaredFormat,
  isTruncated,
  load,
} from "../../src/load/index.js";
import { tempDir } from "../helpers/tmp.js";

const dir = await tempDir("persist-trunc-");
const HEADER2 =
  "// persist-archive archive, format 2. A plain ES module: import it, or load() it safely.";
const body = [
  "const _g0 = { a: 1 };",
  "export const first = [_g0, 2];",
  "export const second = { b: _g0 };",
  'export const third = "last";',
];
const complete = `${HEADER2}\n\n${body.join("\n")}\n${ARCHIVE_END_MARKER}\n`;
let n = 0;

async function write(text: string): Promise<string> {
  const file = join(dir, `m${++n}.mjs`);
  await writeFile(file, text);
  return file;
}

async function truncated(text: string): Promise<void> {
  assert.equal(isTruncated(text), true, text);
  const error = await load(await write(text)).catch((e: unknown) => e);
  assert.ok(error instanceof FormatError, String(error));
  assert.match((error as Error).message, /is truncated/);
}

test("a complete format-2 module loads; its end marker may be followed by blank lines", async () => {
  assert.equal(declaredFormat(complete), 2);
  assert.equal(isTruncated(complete), false);
  const out = await load(await write(complete));
  assert.equal(out.third, "last");
  for (const tail of ["", "\n\n", "\r\n", "  \n"]) {
    const text = complete.slice(0, -1) + tail;
    assert.equal(isTruncated(text), false, JSON.stringify(tail));
    await load(await write(text));
  }
  // The other header spelling of the shared decision.
  const alt = complete.replace(HEADER2, "// persist-archive: format 2");
  assert.equal(declaredFormat(alt), 2);
  await load(await write(alt));
});

test("cut at every statement boundary, a format-2 module is reported truncated", async () => {
  const lines = complete.split("\n");
  // Every prefix of whole lines that drops the marker line.
  for (let keep = 1; keep < lines.length - 2; keep++) {
    await truncated(`${lines.slice(0, keep).join("\n")}\n`);
  }
  // Cut inside the marker, or the marker not on a line of its own.
  await truncated(complete.slice(0, complete.length - 5));
  await truncated(complete.replace(`\n${ARCHIVE_END_MARKER}`, ` ${ARCHIVE_END_MARKER}`));
  await truncated(`${complete}export const extra = 1;\n`);
  await truncated(HEADER2);
});

test("format-1 and header-less modules need no marker", async () => {
  const v1 = complete.replace("format 2", "format 1").replace(`${ARCHIVE_END_MARKER}\n`, "");
  assert.equal(isTruncated(v1), false);
  assert.equal((await load(await write(v1))).third, "last");
  assert.equal(isTruncated("export const x = 1;\n"), false);
  assert.equal(isTruncated(""), false);
});

test("checkComplete throws a FormatError naming the file and what to do", () => {
  assert.throws(
    () => checkComplete(`${HEADER2}\nexport const x = 1;\n`, "/a/b.mjs"),
    (e: unknown) =>
      e instanceof FormatError && e.file === "/a/b.mjs" && /truncated.*Restore/s.test(e.message),
  );
});

test("what Archive.save writes is complete, and cutting its last line is detected", async () => {
  const archive = new Archive();
  archive.insert({ x: { a: [1, 2, 3] }, y: "two" });
  const { entry } = await archive.save(join(dir, "saved"), { name: "run" });
  const text = await readFile(entry, "utf8");
  assert.equal(isTruncated(text), false);
  if ((declaredFormat(text) ?? 1) >= 2) {
    const lines = text.trimEnd().split("\n");
    await truncated(`${lines.slice(0, -1).join("\n")}\n`);
  }
});
