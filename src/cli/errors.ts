/**
 * How failures reach the user: one line naming the problem (and its file / line:column when the
 * message does not already), never a stack trace — except for errors that are bugs, whose stack
 * is shown with PERSIST_DEBUG=1.
 */
import { ArchiveError, formatLocation } from "../errors.js";

/** Errors that describe the input (bad path, broken archive), as opposed to bugs. */
export function isInputError(error: unknown): boolean {
  if (error instanceof ArchiveError) return true;
  if (!(error instanceof Error)) return false;
  const code = (error as NodeJS.ErrnoException).code;
  // System errors (ENOENT, EACCES, EISDIR, ...) and the runtime's PersistFormatError.
  return typeof code === "string" && (/^E[A-Z]+$/.test(code) || code === "PERSIST_FORMAT");
}

/**
 * Library advice that means nothing on a command line ("use load(path, { trusted: true })",
 * "keys() lists ..."), in the words of the CLI. Matched on the library's own phrasing.
 */
const CLI_WORDS: [RegExp, string][] = [
  [
    /load\(\) only reads the archive language \(([^)]*)\); use load\(path, \{ trusted: true \}\) for archives you trust\.?/,
    "persist reads only the archive language ($1) and never runs code from an archive",
  ],
  [
    /;?\s*use load\(path, \{ trusted: true \}\) for archives you trust\.?/,
    "; the CLI reads archives safely and never runs their code (a program can load an archive " +
      "it trusts with the library's trusted mode)",
  ],
  [/;?\s*keys\(\) lists the items it has\.?/, '; "persist show DATASET" lists the items it has'],
  [
    /: pass it in load\(path, \{ modules: .*$/,
    ": the CLI shows imported classes and functions by name only",
  ],
];

export function cliWords(message: string): string {
  for (const [pattern, words] of CLI_WORDS) message = message.replace(pattern, words);
  return message;
}

/**
 * The message of `error` in CLI words, with its location appended when the message lacks it.
 * Archive text inside it is escaped by the Printer that writes it.
 */
export function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  let text = cliWords(error.message);
  if (error instanceof ArchiveError) {
    const where = formatLocation(error);
    if (where && error.file && !text.includes(error.file)) text += ` (at ${where})`;
    else if (where && !error.file && error.line !== undefined) text += ` (at ${where})`;
  }
  return text;
}
