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

/** The message of `error`, with its location appended when the message lacks it. */
export function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  let text = error.message;
  if (error instanceof ArchiveError) {
    const where = formatLocation(error);
    if (where && error.file && !text.includes(error.file)) text += ` (at ${where})`;
    else if (where && !error.file && error.line !== undefined) text += ` (at ${where})`;
  }
  return text;
}
