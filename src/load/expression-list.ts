/**
 * Reading many archive-language expressions that were stored apart: the infos of a DataSet's
 * index, one per journal record or S3 log record. Each is read on its own text, so that nothing in
 * one can reach into the next. Joined into one array literal (`[e0,\n e1,\n …]`, as the index
 * readers once did), a record holding `1, 2` shifted every later item's info by one and one
 * holding `1 /*` … `*\/ 2` swallowed the records between: other items silently got wrong infos.
 */
import { ArchiveError, FormatError } from "../errors.js";
import { ExpressionReader } from "./expressions.js";
import { T_EOF } from "./lexer.js";

class ListReader extends ExpressionReader {
  /** Reads `text` as exactly one expression, named `label` in errors. */
  readAlone(text: string, label: string): unknown {
    this.lex.restart(text, label);
    const value = this.parseExpression();
    if (this.lex.type !== T_EOF) this.lex.unexpected("the end of the expression");
    return value;
  }

  /** Lets the work budget cover every text, not just the first. */
  allow(characters: number): void {
    this.budget.grant(16 * characters);
  }
}

/**
 * The values of `exprs`, each read on its own as exactly one expression (an UnsafeArchiveError
 * or FormatError otherwise, like load()'s). `label` names the texts in error messages; on an
 * error, `onError(index, error)` may throw a better one (naming the record), else it is thrown.
 */
export function interpretExpressionList(
  exprs: readonly string[],
  label: string,
  onError?: (index: number, error: ArchiveError) => never,
): unknown[] {
  if (exprs.length === 0) return [];
  const out: unknown[] = new Array(exprs.length);
  let k = 0;
  try {
    const reader = new ListReader("", label);
    let total = 0;
    for (const e of exprs) total += e.length;
    reader.allow(total);
    for (; k < exprs.length; k++) out[k] = reader.readAlone(exprs[k] as string, label);
  } catch (caught) {
    // Not expected (the reader checks what it reads): still the text's problem, as in load().
    const error =
      caught instanceof ArchiveError
        ? caught
        : new FormatError(`cannot read ${label}: ${(caught as Error)?.message ?? caught}`, {
            cause: caught,
          });
    if (onError !== undefined) onError(k, error);
    throw error;
  }
  return out;
}
