/**
 * The small expression language of `persist show --where` and `--sort`, over DataSet infos:
 *
 *   expr    := or
 *   or      := and ("||" and)*
 *   and     := unary ("&&" unary)*
 *   unary   := "!" unary | compare
 *   compare := primary (("==" | "!=" | "<" | "<=" | ">" | ">=") primary)?
 *   primary := number | string | "true" | "false" | "null" | path | "(" expr ")"
 *   path    := name ("." name | "[" (number | string) "]")*
 *
 * Parsed by hand into a tree of closures and evaluated against each info; nothing is ever handed
 * to eval or the loader (a filter string is not code). A query language library would be larger
 * than this file and none speaks exactly "field paths into archived values". Field lookups see
 * only own properties of objects and arrays (and entries of Maps), never prototypes. A missing
 * field is undefined, and every comparison involving undefined is false.
 */

/** A --where or --sort text that does not parse; says where. */
export class ExpressionError extends Error {
  constructor(message: string, text: string, position: number) {
    super(`${message} at column ${position + 1} of ${JSON.stringify(text)}`);
    this.name = "ExpressionError";
  }
}

type Token =
  | { type: "number"; value: number; at: number }
  | { type: "string"; value: string; at: number }
  | { type: "name"; value: string; at: number }
  | { type: "op"; value: string; at: number }
  | { type: "end"; at: number };

const OPERATORS = ["==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "(", ")", "[", "]", "."];
const MAX_LENGTH = 10_000;
const MAX_DEPTH = 100;

function tokenize(text: string): Token[] {
  if (text.length > MAX_LENGTH) {
    throw new ExpressionError(`expression longer than ${MAX_LENGTH} characters`, "…", 0);
  }
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const at = i;
    const number = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    // "-" starts a number only where an operand is expected (there is no subtraction).
    if (number && (c !== "-" || expectsOperand(tokens))) {
      tokens.push({ type: "number", value: Number(number[0]), at });
      i += number[0].length;
      continue;
    }
    if (c === '"' || c === "'") {
      let value = "";
      i++;
      while (i < text.length && text[i] !== c) {
        if (text[i] === "\\" && i + 1 < text.length) {
          const [char, length] = escapeAt(text, i + 1);
          value += char;
          i += 1 + length;
          continue;
        }
        value += text[i];
        i++;
      }
      if (i >= text.length) throw new ExpressionError("unterminated string", text, at);
      i++;
      tokens.push({ type: "string", value, at });
      continue;
    }
    const name = /^[A-Za-z_$][\w$]*/.exec(text.slice(i, i + 400));
    if (name) {
      tokens.push({ type: "name", value: name[0], at });
      i += name[0].length;
      continue;
    }
    const op = OPERATORS.find((o) => text.startsWith(o, i));
    if (op === undefined) {
      const hint = c === "=" ? ' (use "==")' : c === "&" || c === "|" ? ` (use "${c}${c}")` : "";
      throw new ExpressionError(`unexpected "${c}"${hint}`, text, at);
    }
    tokens.push({ type: "op", value: op, at });
    i += op.length;
  }
  tokens.push({ type: "end", at: text.length });
  return tokens;
}

const SIMPLE_ESCAPES: Record<string, string> = {
  n: "\n",
  r: "\r",
  t: "\t",
  b: "\b",
  f: "\f",
  v: "\v",
  "0": "\0",
};

/** The character of the escape after a backslash at `i` (JS/JSON escapes), and its length. */
function escapeAt(text: string, i: number): [string, number] {
  const c = text[i]!;
  const simple = SIMPLE_ESCAPES[c];
  if (simple !== undefined) return [simple, 1];
  const hex = c === "x" ? /^x([0-9a-fA-F]{2})/.exec(text.slice(i, i + 3)) : null;
  if (hex) return [String.fromCharCode(Number.parseInt(hex[1]!, 16)), 3];
  const unicode =
    c === "u" ? /^u(?:([0-9a-fA-F]{4})|\{([0-9a-fA-F]{1,6})\})/.exec(text.slice(i, i + 9)) : null;
  if (unicode) {
    const code = Number.parseInt(unicode[1] ?? unicode[2]!, 16);
    if (code <= 0x10ffff) return [String.fromCodePoint(code), unicode[0].length];
  }
  return [c, 1];
}

function expectsOperand(tokens: readonly Token[]): boolean {
  const last = tokens[tokens.length - 1];
  return last === undefined || (last.type === "op" && last.value !== ")" && last.value !== "]");
}

type Node = (info: unknown) => unknown;
type PathStep = string | number;

class Parser {
  private position = 0;
  private depth = 0;

  constructor(
    private readonly tokens: Token[],
    private readonly text: string,
  ) {}

  parseExpression(): Node {
    const node = this.or();
    this.expectEnd();
    return node;
  }

  parsePath(): PathStep[] {
    const token = this.next();
    if (token.type !== "name") this.fail("expected a field name", token);
    const steps = this.pathSteps((token as { value: string }).value);
    this.expectEnd();
    return steps;
  }

  private expectEnd(): void {
    const token = this.peek();
    if (token.type !== "end") this.fail(`unexpected ${describe(token)}`, token);
  }

  private or(): Node {
    let left = this.and();
    while (this.isOp("||")) {
      this.position++;
      const a = left;
      const b = this.and();
      left = (info) => truthy(a(info)) || truthy(b(info));
    }
    return left;
  }

  private and(): Node {
    let left = this.unary();
    while (this.isOp("&&")) {
      this.position++;
      const a = left;
      const b = this.unary();
      left = (info) => truthy(a(info)) && truthy(b(info));
    }
    return left;
  }

  private unary(): Node {
    if (this.isOp("!")) {
      this.position++;
      const inner = this.nested(() => this.unary());
      return (info) => !truthy(inner(info));
    }
    return this.compare();
  }

  private compare(): Node {
    const left = this.primary();
    const token = this.peek();
    if (token.type === "op" && ["==", "!=", "<", "<=", ">", ">="].includes(token.value)) {
      this.position++;
      const right = this.primary();
      const op = token.value;
      return (info) => compareWith(op, left(info), right(info));
    }
    return left;
  }

  private primary(): Node {
    const token = this.next();
    switch (token.type) {
      case "number":
      case "string": {
        const value = token.value;
        return () => value;
      }
      case "name": {
        if (token.value === "true") return () => true;
        if (token.value === "false") return () => false;
        if (token.value === "null") return () => null;
        const steps = this.pathSteps(token.value);
        return (info) => lookup(info, steps);
      }
      case "op":
        if (token.value === "(") {
          const inner = this.nested(() => this.or());
          const close = this.next();
          if (close.type !== "op" || close.value !== ")") this.fail('expected ")"', close);
          return inner;
        }
    }
    return this.fail(`expected a value, found ${describe(token)}`, token);
  }

  /** Steps after the first name; "info" alone (as first name) is the whole info. */
  private pathSteps(first: string): PathStep[] {
    const steps: PathStep[] = first === "info" ? [] : [first];
    for (;;) {
      if (this.isOp(".")) {
        this.position++;
        const name = this.next();
        if (name.type !== "name") this.fail("expected a field name after '.'", name);
        steps.push((name as { value: string }).value);
      } else if (this.isOp("[")) {
        this.position++;
        const key = this.next();
        if (key.type !== "number" && key.type !== "string") {
          this.fail("expected a number or string in [ ]", key);
        }
        steps.push((key as { value: string | number }).value);
        const close = this.next();
        if (close.type !== "op" || close.value !== "]") this.fail('expected "]"', close);
      } else {
        return steps;
      }
    }
  }

  private nested<T>(parse: () => T): T {
    if (++this.depth > MAX_DEPTH) this.fail("expression nested too deeply", this.peek());
    try {
      return parse();
    } finally {
      this.depth--;
    }
  }

  private isOp(value: string): boolean {
    const token = this.peek();
    return token.type === "op" && token.value === value;
  }

  private peek(): Token {
    return this.tokens[this.position]!;
  }

  private next(): Token {
    const token = this.tokens[this.position]!;
    if (token.type !== "end") this.position++;
    return token;
  }

  private fail(message: string, token: Token): never {
    throw new ExpressionError(message, this.text, token.at);
  }
}

function describe(token: Token): string {
  return token.type === "end" ? "end of expression" : `"${String(token.value)}"`;
}

/** Own field `steps` of `value` (objects, arrays, Maps), undefined when any step is missing. */
export function lookup(value: unknown, steps: readonly PathStep[]): unknown {
  let current = value;
  for (const step of steps) {
    if (current instanceof Map) {
      current = current.get(step);
    } else if (typeof current === "object" && current !== null) {
      const key = String(step);
      current = Object.hasOwn(current, key) ? (current as Record<string, unknown>)[key] : undefined;
    } else {
      return undefined;
    }
    if (current === undefined) return undefined;
  }
  return current;
}

function truthy(value: unknown): boolean {
  return Boolean(value);
}

type Scalar = number | bigint | string | boolean | null;

function isScalar(value: unknown): value is Scalar {
  return (
    value === null ||
    typeof value === "number" ||
    typeof value === "bigint" ||
    typeof value === "string" ||
    typeof value === "boolean"
  );
}

function compareWith(op: string, a: unknown, b: unknown): boolean {
  if (!isScalar(a) || !isScalar(b)) return false;
  const numeric = isNumeric(a) && isNumeric(b);
  if (op === "==") return numeric ? numericEqual(a, b) : a === b;
  if (op === "!=") return numeric ? !numericEqual(a, b) : a !== b;
  // Order only numbers with numbers and strings with strings.
  if (!numeric && !(typeof a === "string" && typeof b === "string")) return false;
  const x = a as number | string;
  const y = b as number | string;
  switch (op) {
    case "<":
      return x < y;
    case "<=":
      return x <= y;
    case ">":
      return x > y;
    default:
      return x >= y;
  }
}

/** 1 and 1n are equal (an info may hold either); NaN equals nothing. */
function numericEqual(a: number | bigint, b: number | bigint): boolean {
  return !(a < b) && !(a > b) && !Number.isNaN(Number(a)) && !Number.isNaN(Number(b));
}

function isNumeric(value: unknown): value is number | bigint {
  return typeof value === "number" || typeof value === "bigint";
}

/** A predicate over infos; ExpressionError when `text` does not parse. */
export function compileWhere(text: string): (info: unknown) => boolean {
  const node = new Parser(tokenize(text), text).parseExpression();
  return (info) => truthy(node(info));
}

/**
 * A comparator of [name, info] pairs by info field `text` ("-field" for descending). Numbers sort
 * numerically, strings by code points, booleans false < true; numbers before strings before
 * booleans; items without a scalar value at that path come last in either direction. Ties keep
 * key order (Array.prototype.sort is stable).
 */
export function compileSort(text: string): (a: [string, unknown], b: [string, unknown]) => number {
  const descending = text.startsWith("-");
  const body = descending ? text.slice(1) : text;
  const steps = new Parser(tokenize(body), body).parsePath();
  const rank = (v: unknown): number =>
    isNumeric(v) ? 0 : typeof v === "string" ? 1 : typeof v === "boolean" ? 2 : 3;
  return ([, infoA], [, infoB]) => {
    const a = lookup(infoA, steps);
    const b = lookup(infoB, steps);
    const ra = rank(a);
    const rb = rank(b);
    if (ra === 3 || rb === 3) return ra === rb ? 0 : ra === 3 ? 1 : -1;
    if (ra !== rb) return descending ? rb - ra : ra - rb;
    const order = (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
    return descending ? -order : order;
  };
}
