/** Literal text for primitives, keys and member accesses in the archive language. */

// JSON.stringify already escapes quotes, control characters and lone surrogates; we add the line
// separators (so older parsers and `<script>` inlining cope) and `</` (so `</script>` survives).
const EXTRA_ESCAPES = /[\u2028\u2029]|<\//g;
const NEEDS_EXTRA = /[\u2028\u2029]|<\//;

const PLAIN = /^[\w .,:;!?@#$%^&*()+=~`'|{}[\]-]*$/;

export function stringLiteral(s: string): string {
  // Most strings need no escaping at all: skip JSON.stringify's scan and the extra escapes.
  if (s.length < 64 && PLAIN.test(s)) return `"${s}"`;
  const json = JSON.stringify(s);
  if (!NEEDS_EXTRA.test(json)) return json;
  return json.replace(EXTRA_ESCAPES, (m) =>
    m === "\u2028" ? "\\u2028" : m === "\u2029" ? "\\u2029" : "\\u003c/",
  );
}

export function numberLiteral(n: number): string {
  if (n === 0) return Object.is(n, -0) ? "-0" : "0";
  return String(n); // shortest round-trip form; NaN, Infinity, -Infinity spelled as identifiers
}

export function bigintLiteral(n: bigint): string {
  return `${n}n`;
}

const IDENT_KEY = /^[A-Za-z_$][\w$]*$/;
const INDEX_KEY = /^(?:0|[1-9]\d{0,14})$/;

/** A property key in an object literal: bare when possible, `["__proto__"]` so it stays own. */
export function propertyKey(key: string): string {
  if (key === "__proto__") return '["__proto__"]';
  if (IDENT_KEY.test(key) || INDEX_KEY.test(key)) return key;
  return stringLiteral(key);
}

/** `target.key` or `target["key"]` for assignment statements. */
export function memberAccess(target: string, key: string): string {
  // `o["__proto__"]` (not `o.__proto__`): it names the own key the literal made, not the prototype.
  return IDENT_KEY.test(key) && key !== "__proto__"
    ? `${target}.${key}`
    : `${target}[${stringLiteral(key)}]`;
}
