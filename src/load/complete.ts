/**
 * Truncation check (issue 8, shared decision in HELPERS.md): from format 2 on, every module the
 * emitter writes ends with the line `// persist-archive: end of archive`. A module whose header
 * says format >= 2 but whose last line is not that marker was cut short (a crash mid-copy, a full
 * disk, a partial download); loading it would silently drop the values after the cut.
 */
import { FormatError } from "../errors.js";

/** Last line of every format >= 2 module (the emitter writes the same constant). */
export const ARCHIVE_END_MARKER = "// persist-archive: end of archive";

// `// persist-archive archive, format 2. ...` (the emitter's header) or `// persist-archive: format 2`.
const HEADER_RE = /^\uFEFF?[ \t]*\/\/ persist-archive(?: archive,|:) format (\d{1,6})\b/;

/** The format number the module's first line declares, or undefined (no header: format 1 or hand-written). */
export function declaredFormat(text: string): number | undefined {
  const m = HEADER_RE.exec(text.slice(0, 200));
  return m ? Number(m[1]) : undefined;
}

/**
 * True when the module's header says format >= 2 and its last line is not the end marker.
 * Trailing line breaks and spaces after the marker are allowed; nothing else is. O(1) apart from
 * the header: it only looks at the two ends of the text.
 */
export function isTruncated(text: string): boolean {
  const format = declaredFormat(text);
  if (format === undefined || format < 2) return false;
  let end = text.length;
  for (;;) {
    const c = text.charCodeAt(end - 1);
    if (c === 10 || c === 13 || c === 32 || c === 9) end--;
    else break;
  }
  const start = end - ARCHIVE_END_MARKER.length;
  if (start < 0 || !text.startsWith(ARCHIVE_END_MARKER, start)) return true;
  // The marker must be a whole line of its own.
  const before = start === 0 ? 10 : text.charCodeAt(start - 1);
  return before !== 10 && before !== 13;
}

/** Throws FormatError "truncated" when isTruncated(text). Call it before interpreting `text`. */
export function checkComplete(text: string, file: string): void {
  if (!isTruncated(text)) return;
  throw new FormatError(
    `${file} is truncated: its header says format ${declaredFormat(text)}, which ends with the ` +
      `line "${ARCHIVE_END_MARKER}", but the file stops before it. Restore the file from a complete ` +
      "copy (or save the archive again).",
    { file },
  );
}
