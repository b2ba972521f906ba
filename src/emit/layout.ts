/**
 * Indentation and line breaking. Children are rendered for the indentation they would have if
 * their parent breaks its lines; a parent whose children are all one-liners and short enough joins
 * them on one line instead. So every node is rendered once, and the output is stable.
 */

export const MAX_LINE = 100;
// Deeply nested values stop indenting further: otherwise the text would grow with depth squared.
const MAX_INDENT_LEVEL = 32;
const indents: string[] = [""];

export function indentOf(level: number): string {
  if (level > MAX_INDENT_LEVEL) level = MAX_INDENT_LEVEL;
  while (indents.length <= level) indents.push(`${indents[indents.length - 1]}  `);
  return indents[level]!;
}

/**
 * `open a, b close` on one line when short, else one item per line at `level + 1`. `items` were
 * rendered for `level + 1`.
 */
export function joinList(
  open: string,
  items: readonly string[],
  close: string,
  level: number,
  maxLine: number = MAX_LINE,
): string {
  const n = items.length;
  if (n === 0) return open + close;
  let total = open.length + close.length + level * 2;
  let oneLine = true;
  for (let i = 0; i < n; i++) {
    const item = items[i]!;
    total += item.length + 2;
    if (total > maxLine || item.includes("\n")) {
      oneLine = false;
      break;
    }
  }
  // Built by concatenation, not join(): V8 keeps it as a rope, so the text of a nested value is
  // copied once at the end instead of once per nesting level.
  if (oneLine) {
    let s = open.charCodeAt(open.length - 1) === 123 ? `${open} ${items[0]}` : open + items[0];
    for (let i = 1; i < n; i++) s += `, ${items[i]}`;
    // A trailing hole needs its own comma on one line (`[1, ,]` has length 2); the multi-line
    // form already ends every item with a comma.
    if (items[n - 1] === "") s += ",";
    return close.charCodeAt(0) === 125 ? `${s} ${close}` : s + close;
  }
  const sep = `,\n${indentOf(level + 1)}`;
  let s = `${open}\n${indentOf(level + 1)}${items[0]}`;
  for (let i = 1; i < n; i++) s += sep + items[i];
  return `${s},\n${indentOf(level)}${close}`;
}

/** Many short items (numbers of a typed array) filled into lines of MAX_LINE characters. */
export function fillList(
  open: string,
  items: readonly string[],
  close: string,
  level: number,
  maxLine: number = MAX_LINE,
): string {
  let total = open.length + close.length + level * 2;
  for (const item of items) total += item.length + 2;
  if (total <= maxLine) return `${open}${items.join(", ")}${close}`;
  const inner = indentOf(level + 1);
  const lines: string[] = [];
  let line = "";
  for (const item of items) {
    if (line.length > 0 && inner.length + line.length + item.length + 2 > MAX_LINE) {
      lines.push(line);
      line = "";
    }
    line += line.length > 0 ? ` ${item},` : `${item},`;
  }
  if (line.length > 0) lines.push(line);
  return `${open}\n${inner}${lines.join(`\n${inner}`)}\n${indentOf(level)}${close}`;
}
