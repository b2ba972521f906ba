/**
 * The one place that decides which characters may reach a terminal. Everything an archive controls
 * (names, keys, strings, import specifiers, class names, error messages, file names) can hold
 * characters a terminal acts on: C0 controls (ESC starts CSI/OSC sequences that move the cursor,
 * clear the screen, set the window title or write to the clipboard), DEL, C1 controls (U+009B is a
 * one-character CSI on many terminals), and bidirectional overrides that make text display in an
 * order other than its bytes (U+202A–U+202E, U+2066–U+2069 and the marks). Lone surrogates cannot
 * be encoded as UTF-8 and would print as replacement characters that hide what the text holds.
 *
 * `clean` makes such text printable as one line: each of those characters becomes a visible escape
 * (`\n`, `\x1b`, `\u202e`, `\ud800`). `jsonQuote` is JSON.stringify with the same characters
 * escaped as `\uXXXX`, which keeps the JSON valid and equal in value. The Printer (terminal.ts)
 * runs everything it is given to write through `clean`, and JSON output goes through `jsonQuote`.
 */

/** Characters never written raw: C0, DEL, C1, bidi controls and marks, line/paragraph separators,
 * the BOM, and surrogates that are not part of a pair. */
const UNSAFE = new RegExp(
  "[\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069\\ufeff]" +
    "|[\\ud800-\\udbff](?![\\udc00-\\udfff])|(?<![\\ud800-\\udbff])[\\udc00-\\udfff]",
  "g",
);

const SHORT: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

function escapeOne(char: string): string {
  const short = SHORT[char];
  if (short !== undefined) return short;
  const code = char.charCodeAt(0);
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, "0")}`
    : `\\u${code.toString(16).padStart(4, "0")}`;
}

/** `text` with every character a terminal could act on replaced by a visible escape. */
export function clean(text: string): string {
  UNSAFE.lastIndex = 0;
  return UNSAFE.test(text) ? text.replace(UNSAFE, escapeOne) : text;
}

/** True when `text` holds no character that `clean` would escape. */
export function isClean(text: string): boolean {
  UNSAFE.lastIndex = 0;
  return !UNSAFE.test(text);
}

/** JSON.stringify(text), with the characters `clean` escapes written as \uXXXX. */
export function jsonQuote(text: string): string {
  const quoted = JSON.stringify(text);
  UNSAFE.lastIndex = 0;
  if (!UNSAFE.test(quoted)) return quoted;
  return quoted.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
