/**
 * Indentation and line breaking. Children are rendered for the indentation they would have if
 * their parent breaks its lines; a parent whose children are all one-liners and short enough joins
 * them on one line instead. So every node is rendered once, and the output is stable.
 */

const MAX_LINE = 100;
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
): string {
  if (items.length === 0) return open + close;
  let total = open.length + close.length + level * 2;
  let oneLine = true;
  for (const item of items) {
    total += item.length + 2;
    if (total > MAX_LINE || item.includes("\n")) {
      oneLine = false;
      break;
    }
  }
  const padOpen = open.endsWith("{") ? " " : "";
  const padClose = close.startsWith("}") ? " " : "";
  // A trailing hole needs its own comma on one line (`[1, ,]` has length 2); the multi-line form
  // already ends every item with a comma.
  const trailingHole = items[items.length - 1] === "" ? "," : "";
  if (oneLine) return `${open}${padOpen}${items.join(", ")}${trailingHole}${padClose}${close}`;
  const inner = indentOf(level + 1);
  return `${open}\n${inner}${items.join(`,\n${inner}`)},\n${indentOf(level)}${close}`;
}

/** Many short items (numbers of a typed array) filled into lines of MAX_LINE characters. */
export function fillList(
  open: string,
  items: readonly string[],
  close: string,
  level: number,
): string {
  let total = open.length + close.length + level * 2;
  for (const item of items) total += item.length + 2;
  if (total <= MAX_LINE) return `${open}${items.join(", ")}${close}`;
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
