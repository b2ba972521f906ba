/**
 * `index.mjs` of a format-2 DataSet: the same fixed module in every DataSet (never appended to).
 * It replays `index.journal` with nothing but the platform (node:fs for file: URLs, fetch
 * elsewhere), checking each record's CRC-32 and ignoring a torn tail, so that
 * `import { info } from "<ds>/index.mjs"` works whatever a crash or power loss left at the end of
 * the journal. It is plain JavaScript kept here as text because it is written into DataSets, not
 * run by the library (tests import it for real). Infos stored as archive-language expressions
 * (Map, Date, NaN, ...) are evaluated as JavaScript: native import executes the DataSet anyway;
 * the safe path is the library's `ds.infos()`.
 */
export const INDEX_MODULE_FILE = "index.mjs";

export const INDEX_MODULE = `// persist-archive DataSet index, format 2. Do not edit: the index is ./index.journal, a
// checksummed append-only journal (persist-archive's docs/dataset-format.md). This module replays
// it, so that \`import { info } from "./index.mjs"\` gives every item's info (null where none was
// given), whatever torn tail a crash or power loss left.
const url = new URL("./index.journal", import.meta.url);
const bytes =
  url.protocol === "file:"
    ? new Uint8Array((await import("node:fs")).readFileSync(url))
    : await fetchJournal(url);

/** The journal over http(s): a missing or refused journal is named, not parsed as one. */
async function fetchJournal(url) {
  const response = await fetch(url);
  if (!response.ok) {
    throw new Error(\`\${url.href}: HTTP \${response.status} \${response.statusText}: the DataSet's index.journal could not be fetched (is the whole DataSet folder served?)\`);
  }
  return new Uint8Array(await response.arrayBuffer());
}

const utf8 = new TextDecoder();
const table = new Uint32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  table[n] = c >>> 0;
}

/** CRC-32 of bytes[start, end) as 8 hex digits. */
function crc(start, end) {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = table[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ((c ^ 0xffffffff) >>> 0).toString(16).padStart(8, "0");
}

/** The operations of the record in bytes[start, end), or undefined when it is not complete. */
function record(start, end) {
  if (end - start < 11 || bytes[start + 8] !== 0x20) return undefined;
  if (utf8.decode(bytes.subarray(start, start + 8)) !== crc(start + 9, end)) return undefined;
  try {
    const ops = JSON.parse(utf8.decode(bytes.subarray(start + 9, end)));
    return Array.isArray(ops) ? ops : undefined;
  } catch {
    return undefined;
  }
}

export const info = {};
let pos = bytes.indexOf(10) + 1;
if (pos === 0 || utf8.decode(bytes.subarray(0, pos)) !== "persist-archive DataSet journal 2\\n") {
  throw new Error(\`\${url.href}: not a persist-archive DataSet journal (format 2)\`);
}
let torn = 0;
for (let line = 2; pos < bytes.length; line++) {
  const end = bytes.indexOf(10, pos);
  const ops = end < 0 ? undefined : record(pos, end);
  if (ops === undefined) {
    torn ||= line; // a torn tail unless a complete record follows
  } else if (torn) {
    throw new Error(\`\${url.href}:\${torn}: damaged record followed by intact ones; run persist verify\`);
  } else {
    for (const op of ops) {
      if ("delete" in op) delete info[op.delete];
      else info[op.set] = "expr" in op ? Function(\`"use strict"; return (\${op.expr});\`)() : op.info;
    }
  }
  pos = end < 0 ? bytes.length : end + 1;
}
`;
