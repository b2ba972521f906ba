/**
 * Tokenizer for the archive language (docs/archive-language.md).
 *
 * Hand-written rather than a library parser because the loader must read 50 MB archives in little
 * memory (a full AST from meriyah took 2.3 GB) and must refuse, not skip, everything outside the
 * subset. It is a pull tokenizer: the interpreter asks for one token at a time and evaluates as it
 * goes, so nothing but the current token is ever held. The scan loops use charCodeAt and plain
 * slices; a token is described by mutable fields instead of allocated objects.
 */
import { isAscii } from "node:buffer";
import { FormatError, UnsafeArchiveError } from "../errors.js";

// Token types (plain numbers: compared in the hottest loops).
export const T_EOF: number = 0;
export const T_NAME: number = 1;
export const T_NUM: number = 2;
export const T_BIGINT: number = 3;
export const T_STR: number = 4;
/** A punctuator; `Lexer.code` holds its character code. */
export const T_PUNCT: number = 5;

// Character codes used below.
const TAB: number = 9;
const LF: number = 10;
const VT: number = 11;
const FF: number = 12;
const CR: number = 13;
const SPACE: number = 32;
const DQUOTE: number = 34;
const SQUOTE: number = 39;
const STAR: number = 42;
const PLUS: number = 43;
const MINUS: number = 45;
const DOT: number = 46;
const SLASH: number = 47;
const ZERO: number = 48;
const NINE: number = 57;
const BACKSLASH: number = 92;
const UNDERSCORE: number = 95;
const LOWER_N: number = 110;

/** Punctuators of the language. Anything else is reported as what it is. */
const PUNCT = new Uint8Array(128);
for (const ch of "{}[](),:;.=-+*") PUNCT[ch.charCodeAt(0)] = 1;

/** ASCII identifier start / part tables: 1 = start and part, 2 = part only. */
const ID = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/[A-Za-z$_]/.test(ch)) ID[c] = 1;
  else if (/[0-9]/.test(ch)) ID[c] = 2;
}

const ID_START_RE = /^[\p{ID_Start}$_]$/u;
const ID_PART_RE = /^[\p{ID_Continue}$\u200c\u200d]$/u;

/** Exactly representable powers of ten. */
const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k);

/** Longest BigInt literal accepted (decimal digits): parsing is superlinear, keep it bounded. */
const MAX_BIGINT_DIGITS = 1_000_000;

export class Lexer {
  /** Source text; replaced by restart(). */
  text: string;
  /** Names the text in error messages. */
  file: string;
  pos = 0;
  /** Current token. */
  type = T_EOF;
  start = 0;
  end = 0;
  /** Punctuator character code (T_PUNCT). */
  code = 0;
  /** Identifier name or string value (T_NAME, T_STR). */
  str = "";
  /** Numeric value (T_NUM). */
  num = 0;
  /** BigInt value (T_BIGINT). */
  big = 0n;
  /** A line terminator lies between the previous token and this one. */
  newlineBefore = false;
  /** Recently seen names by hash slot (see cachedName). */
  private readonly names: (string | undefined)[] = new Array(NAME_CACHE_MASK + 1);
  /** The packed characters of names[slot] when it has at most MAX_PACKED of them, else -1. */
  private readonly packedNames = new Float64Array(NAME_CACHE_MASK + 1).fill(-1);
  /** Code units counted by the first pass over an escaped string literal. */
  private unitCount = 0;
  /** Whether one of them is above 0xFF (the string needs two bytes per unit). */
  private unitsWide = false;

  constructor(text: string, file: string) {
    this.text = text;
    this.file = file;
    this.next();
  }

  /**
   * Reads `text` from its start, named `file` in errors, keeping the name cache: for many short
   * texts that must each be read on their own (expression-list.ts).
   */
  restart(text: string, file: string): void {
    this.text = text;
    this.file = file;
    this.pos = 0;
    this.next();
  }

  /** Throws UnsafeArchiveError at offset `at` (default: the current token). */
  fail(message: string, at = this.start): never {
    const { line, column } = lineColumn(this.text, at);
    throw new UnsafeArchiveError(
      `${message} at ${this.file}:${line}:${column}. load() only reads the archive language ` +
        "(docs/archive-language.md); use load(path, { trusted: true }) for archives you trust.",
      { file: this.file, line, column },
    );
  }

  /** A FormatError at offset `at`: the text is in the language but a value cannot be built. */
  formatError(message: string, at: number, cause?: unknown): FormatError {
    const { line, column } = lineColumn(this.text, at);
    return new FormatError(`${message} at ${this.file}:${line}:${column}`, {
      file: this.file,
      line,
      column,
      cause,
    });
  }

  /** A short quote of the source at the current token, for "unexpected X" messages. */
  found(): string {
    if (this.type === T_EOF) return "end of file";
    let end = this.end;
    // Show a name together with what follows it, e.g. `import(` or `constructor.`.
    if (this.type === T_NAME) {
      const c = this.text.charCodeAt(end);
      if (c === 40 || c === DOT) end++;
    }
    const snippet = this.text.slice(this.start, Math.min(end, this.start + 40));
    return `\`${snippet}\``;
  }

  unexpected(what?: string): never {
    this.fail(`unexpected ${this.found()}${what ? ` (expected ${what})` : ""}`);
  }

  isPunct(code: number): boolean {
    return this.type === T_PUNCT && this.code === code;
  }

  isName(name: string): boolean {
    return this.type === T_NAME && this.str === name;
  }

  /** Consumes the punctuator `code` or fails. */
  expect(code: number): void {
    if (this.type !== T_PUNCT || this.code !== code) {
      this.unexpected(`\`${String.fromCharCode(code)}\``);
    }
    this.next();
  }

  /** Advances to the next token. */
  next(): void {
    const text = this.text;
    const len = text.length;
    let pos = this.pos;
    let newline = false;
    // Whitespace and comments.
    for (;;) {
      if (pos >= len) break;
      const c = text.charCodeAt(pos);
      if (c === SPACE || c === TAB || c === VT || c === FF) {
        pos++;
      } else if (c === LF || c === CR) {
        newline = true;
        pos++;
      } else if (c === SLASH) {
        const d = text.charCodeAt(pos + 1);
        if (d === SLASH) {
          pos += 2;
          while (pos < len) {
            const e = text.charCodeAt(pos);
            if (e === LF || e === CR || e === 0x2028 || e === 0x2029) break;
            pos++;
          }
        } else if (d === STAR) {
          const close = text.indexOf("*/", pos + 2);
          if (close < 0) this.fail("unterminated comment", pos);
          for (let i = pos + 2; i < close; i++) {
            const e = text.charCodeAt(i);
            if (e === LF || e === CR || e === 0x2028 || e === 0x2029) {
              newline = true;
              break;
            }
          }
          pos = close + 2;
        } else {
          this.fail(
            "unexpected `/` (regular expression literals and division are not allowed)",
            pos,
          );
        }
      } else if (c > 127 && isSpaceOrLineBreak(c)) {
        if (c === 0x2028 || c === 0x2029) newline = true;
        pos++;
      } else {
        break;
      }
    }
    this.newlineBefore = newline;
    this.start = pos;
    if (pos >= len) {
      this.type = T_EOF;
      this.pos = this.end = pos;
      return;
    }
    const c = text.charCodeAt(pos);
    if (c < 128 && ID[c] === 1) {
      let i = pos + 1;
      let hash = c;
      // The name's characters as one number (7 bits each, exact up to 7 of them, all nonzero):
      // a cache hit is then one comparison, not a loop over both strings (see cachedName).
      let packed = c;
      while (i < len) {
        const d = text.charCodeAt(i);
        if (d < 128 ? ID[d] === 0 : true) break;
        hash = (hash * 31 + d) | 0;
        packed = packed * 128 + d;
        i++;
      }
      const d = i < len ? text.charCodeAt(i) : 0;
      this.type = T_NAME;
      if (d > 127 || d === BACKSLASH) {
        i = this.scanUnicodeName(i);
        this.str = text.slice(pos, i);
      } else this.str = this.cachedName(pos, i, hash, packed);
      this.pos = this.end = i;
      return;
    }
    if (c >= ZERO && c <= NINE) {
      this.scanNumber(pos);
      return;
    }
    if (c === DQUOTE || c === SQUOTE) {
      this.scanString(pos, c);
      return;
    }
    if (c === DOT) {
      const d = text.charCodeAt(pos + 1);
      if (d >= ZERO && d <= NINE) {
        this.scanNumber(pos);
        return;
      }
      if (d === DOT && text.charCodeAt(pos + 2) === DOT) {
        this.end = pos + 3;
        this.fail("unexpected `...` (spread is not allowed)");
      }
    }
    if (c < 128 && PUNCT[c] === 1) {
      // `=>`, `==`, `--`, `++`, `-=` ... are not in the language; report them whole.
      const d = text.charCodeAt(pos + 1);
      if (
        (c === 61 && (d === 61 || d === 62)) ||
        ((c === MINUS || c === PLUS) && (d === c || d === 61))
      ) {
        this.end = pos + 2;
        this.fail(`unexpected \`${text.slice(pos, pos + 2)}\``);
      }
      this.type = T_PUNCT;
      this.code = c;
      this.pos = this.end = pos + 1;
      return;
    }
    if (c > 127 && ID_START_RE.test(String.fromCodePoint(text.codePointAt(pos)!))) {
      const i = this.scanUnicodeName(pos);
      this.type = T_NAME;
      this.str = text.slice(pos, i);
      this.pos = this.end = i;
      return;
    }
    this.end = pos + 1;
    if (c === 96) this.fail("unexpected `` ` `` (template literals are not allowed)");
    if (c === 92) this.fail("unexpected `\\` (escapes in identifiers are not allowed)");
    this.fail(`unexpected \`${String.fromCodePoint(text.codePointAt(pos)!)}\``);
  }

  /**
   * The name text[start, end) as a string shared by every occurrence of it. Keys like `id` or
   * `name` repeat once per object: slicing each one anew allocated a string per key and made V8
   * look each up in its string table when it became a property key. A small direct-mapped cache
   * (hash computed while scanning) hands out the same string instead.
   */
  private cachedName(start: number, end: number, hash: number, packed: number): string {
    const n = end - start;
    if (n > 32) return this.text.slice(start, end);
    const slot = (hash ^ (hash >>> 12) ^ n) & NAME_CACHE_MASK;
    const cached = this.names[slot];
    if (n <= MAX_PACKED) {
      if (cached !== undefined && this.packedNames[slot] === packed) return cached;
      const fresh = this.text.slice(start, end);
      this.names[slot] = fresh;
      this.packedNames[slot] = packed;
      return fresh;
    }
    if (cached !== undefined && cached.length === n) {
      const text = this.text;
      let k = 0;
      while (k < n && cached.charCodeAt(k) === text.charCodeAt(start + k)) k++;
      if (k === n) return cached;
    }
    const fresh = this.text.slice(start, end);
    this.names[slot] = fresh;
    this.packedNames[slot] = -1; // a long name now: no packed short name may match it
    return fresh;
  }

  /** Continues an identifier that has non-ASCII characters; returns its end. */
  private scanUnicodeName(i: number): number {
    const text = this.text;
    while (i < text.length) {
      const d = text.charCodeAt(i);
      if (d < 128) {
        if (d === BACKSLASH)
          this.fail("unexpected `\\` (escapes in identifiers are not allowed)", i);
        if (ID[d] === 0) break;
        i++;
        continue;
      }
      const cp = text.codePointAt(i)!;
      if (!ID_PART_RE.test(String.fromCodePoint(cp))) break;
      i += cp > 0xffff ? 2 : 1;
    }
    return i;
  }

  private scanNumber(pos: number): void {
    const text = this.text;
    const len = text.length;
    let i = pos;
    let c = text.charCodeAt(i);
    let separators = false;
    let isBig = false;
    if (c === ZERO && i + 1 < len) {
      const d = text.charCodeAt(i + 1) | 32;
      if (d === 120 || d === 111 || d === 98) {
        // 0x / 0o / 0b
        const radix = d === 120 ? 16 : d === 111 ? 8 : 2;
        i += 2;
        const digitsStart = i;
        for (; i < len; i++) {
          c = text.charCodeAt(i);
          if (c === UNDERSCORE) separators = true;
          else if (digitValue(c) >= radix) break;
        }
        if (i === digitsStart) this.fail("malformed number", pos);
        if (c === LOWER_N) isBig = true;
        this.finishNumber(pos, i, separators, isBig);
        return;
      }
      if (d >= ZERO && d <= NINE) {
        this.end = i + 2;
        this.fail("unexpected legacy octal literal (not allowed in modules)", pos);
      }
      if (text.charCodeAt(i + 1) === UNDERSCORE) this.fail("malformed numeric separator", pos);
    }
    // Decimal. Up to 15 significant digits and a power of ten up to 22 are computed directly with
    // one correctly rounded multiply or divide (Clinger's fast path), skipping a slice + Number().
    let mantissa = 0;
    let digits = 0;
    let fraction = 0;
    let exponent = 0;
    let plain = true; // no dot, no exponent (a BigInt may follow)
    for (; i < len; i++) {
      c = text.charCodeAt(i);
      if (c >= ZERO && c <= NINE) {
        mantissa = mantissa * 10 + (c - ZERO);
        digits++;
      } else if (c === UNDERSCORE) separators = true;
      else break;
    }
    if (c === DOT) {
      plain = false;
      for (i++; i < len; i++) {
        c = text.charCodeAt(i);
        if (c >= ZERO && c <= NINE) {
          mantissa = mantissa * 10 + (c - ZERO);
          digits++;
          fraction++;
        } else if (c === UNDERSCORE) separators = true;
        else break;
      }
    }
    if ((c | 32) === 101) {
      // e / E
      plain = false;
      i++;
      c = text.charCodeAt(i);
      let sign = 1;
      if (c === PLUS || c === MINUS) {
        if (c === MINUS) sign = -1;
        i++;
      }
      const expStart = i;
      for (; i < len; i++) {
        c = text.charCodeAt(i);
        if (c >= ZERO && c <= NINE) exponent = exponent * 10 + (c - ZERO);
        else if (c === UNDERSCORE) separators = true;
        else break;
      }
      if (i === expStart) this.fail("malformed number exponent", pos);
      if (i - expStart > 4) digits = 99; // huge exponents: leave them to Number()
      exponent *= sign;
    }
    if (c === LOWER_N) {
      if (!plain) this.fail("malformed BigInt", pos);
      isBig = true;
    }
    if (digits <= 15 && !separators && !isBig) {
      const net = exponent - fraction;
      let value = Number.NaN;
      if (net === 0) value = mantissa;
      else if (net > 0 && net <= 22) value = mantissa * POW10[net]!;
      else if (net < 0 && net >= -22) value = mantissa / POW10[-net]!;
      if (!Number.isNaN(value)) {
        this.checkAfterNumber(i);
        this.type = T_NUM;
        this.num = value;
        this.pos = this.end = i;
        return;
      }
    }
    this.finishNumber(pos, i, separators, isBig);
  }

  private finishNumber(pos: number, i: number, separators: boolean, isBig: boolean): void {
    let raw = this.text.slice(pos, i);
    if (separators) {
      // `_` only between two digits of the literal's radix (`1_e5` and `0x_1` are errors in JS).
      const hex = /^0[xX]/.test(raw);
      const misplaced = hex ? /(^|[^0-9a-fA-F])_|_($|[^0-9a-fA-F])/ : /(^|[^0-9])_|_($|[^0-9])/;
      if (misplaced.test(raw)) this.fail("malformed numeric separator", pos);
      raw = raw.replaceAll("_", "");
    }
    if (isBig) {
      if (raw.length > MAX_BIGINT_DIGITS) this.fail("BigInt literal too long", pos);
      i++; // the `n`
      this.checkAfterNumber(i);
      this.type = T_BIGINT;
      this.big = BigInt(raw);
    } else {
      this.checkAfterNumber(i);
      this.type = T_NUM;
      this.num = Number(raw);
      if (Number.isNaN(this.num)) this.fail("malformed number", pos);
    }
    this.pos = this.end = i;
  }

  /** `3in`, `1.5.2`, `0x1g`: a number must not run into a name or another number. */
  private checkAfterNumber(i: number): void {
    const c = this.text.charCodeAt(i);
    if ((c < 128 && ID[c] !== 0) || c === DOT || c === BACKSLASH) {
      this.end = i + 1;
      this.fail("malformed number", this.start);
    }
    if (c > 127 && ID_START_RE.test(String.fromCodePoint(this.text.codePointAt(i)!))) {
      this.fail("malformed number", this.start);
    }
  }

  private scanString(pos: number, quote: number): void {
    const text = this.text;
    const len = text.length;
    let i = pos + 1;
    // Fast path: no escapes, so the value is the source's characters (copied, see detach()).
    for (; i < len; i++) {
      const c = text.charCodeAt(i);
      if (c === quote) {
        this.type = T_STR;
        this.str =
          i - pos - 1 < SLICE_MIN ? text.slice(pos + 1, i) : detach(text.slice(pos + 1, i));
        this.pos = this.end = i + 1;
        return;
      }
      if (c === BACKSLASH || c === LF || c === CR) break;
    }
    this.scanEscapedString(pos, quote, i);
  }

  /**
   * A string literal with escapes. Two passes over the literal, no string concatenation: the first
   * checks the escapes and counts the code units (and whether any is above 0xFF), the second writes
   * them into a typed array of exactly that size, decoded to a string in one step. Concatenating
   * piece by piece built a rope of one node per escape: 95 MiB of `\x41` escapes took 950 MB.
   */
  private scanEscapedString(pos: number, quote: number, i: number): void {
    const end = this.escapedUnits(pos, quote, i, undefined);
    const n = this.unitCount;
    let units: Uint8Array | Uint16Array;
    if (n <= SHORT_STRING) units = this.unitsWide ? SHORT_WIDE : SHORT_NARROW;
    else units = this.unitsWide ? new Uint16Array(n) : new Uint8Array(n);
    this.escapedUnits(pos, quote, i, units);
    this.type = T_STR;
    this.str = decodeUnits(units, n);
    this.pos = this.end = end;
  }

  /** Code units of the escaped literal (see scanEscapedString); returns the offset after it. */
  private escapedUnits(
    pos: number,
    quote: number,
    from: number,
    out: Uint8Array | Uint16Array | undefined,
  ): number {
    const text = this.text;
    const len = text.length;
    let n = 0;
    let max = 0;
    // The prefix before the first escape (known to hold no quote, backslash or line break).
    for (let k = pos + 1; k < from; k++) {
      const u = text.charCodeAt(k);
      if (out) out[n] = u;
      else if (u > max) max = u;
      n++;
    }
    let i = from;
    while (i < len) {
      const c = text.charCodeAt(i);
      if (c === quote) {
        if (!out) {
          this.unitCount = n;
          this.unitsWide = max > 0xff;
        }
        return i + 1;
      }
      if (c === LF || c === CR) break;
      if (c !== BACKSLASH) {
        if (out) out[n] = c;
        else if (c > max) max = c;
        n++;
        i++;
        continue;
      }
      const e = text.charCodeAt(i + 1);
      i += 2;
      let u = -1; // one code unit to write, or -1 for none (line continuation) / done below
      switch (e) {
        case 110:
          u = 10;
          break;
        case 116:
          u = 9;
          break;
        case 114:
          u = 13;
          break;
        case 98:
          u = 8;
          break;
        case 102:
          u = 12;
          break;
        case 118:
          u = 11;
          break;
        case 48: {
          const f = text.charCodeAt(i);
          if (f >= ZERO && f <= NINE) this.fail("octal escape sequences are not allowed", i - 2);
          u = 0;
          break;
        }
        case 120: {
          u = hexValue(text, i, 2);
          if (u < 0) this.fail("malformed \\x escape", i - 2);
          i += 2;
          break;
        }
        case 117: {
          let cp: number;
          if (text.charCodeAt(i) === 123) {
            // \u{...}: at most 8 digits, so the search for `}` is bounded (linear overall).
            let close = i + 1;
            while (close < len && close <= i + 9 && text.charCodeAt(close) !== 125) close++;
            const digits = close - i - 1;
            cp =
              close < len && text.charCodeAt(close) === 125 && digits > 0 && digits <= 8
                ? hexValue(text, i + 1, digits)
                : -1;
            if (cp < 0 || cp > 0x10ffff) this.fail("malformed \\u{} escape", i - 2);
            i = close + 1;
          } else {
            cp = hexValue(text, i, 4);
            if (cp < 0) this.fail("malformed \\u escape", i - 2);
            i += 4;
          }
          if (cp > 0xffff) {
            // Two code units (a surrogate pair).
            const v = cp - 0x10000;
            const hi = 0xd800 + (v >> 10);
            const lo = 0xdc00 + (v & 0x3ff);
            if (out) {
              out[n] = hi;
              out[n + 1] = lo;
            } else max = Math.max(max, hi);
            n += 2;
          } else u = cp;
          break;
        }
        case CR:
          if (text.charCodeAt(i) === LF) i++;
          break;
        case LF:
        case 0x2028:
        case 0x2029:
          break; // line continuation
        default:
          if (e >= 49 && e <= NINE) this.fail("octal escape sequences are not allowed", i - 2);
          if (Number.isNaN(e)) this.fail("unterminated string", pos);
          u = e;
      }
      if (u >= 0) {
        if (out) out[n] = u;
        else if (u > max) max = u;
        n++;
      }
    }
    this.end = i;
    this.fail("unterminated string", pos);
  }
}

/**
 * V8 makes a substring of 13 or more characters a view into its parent string. A string value
 * that is such a view keeps the whole module text alive for as long as the loaded value lives
 * (one 35-character string held 43 MB of a 43 MB archive), so long values are copied.
 */
const SLICE_MIN = 13;

/** A copy of `s` that does not keep the string it was sliced from alive. */
function detach(s: string): string {
  // The concatenation is flattened into a fresh string by the slice; the result views that copy.
  return ` ${s}`.slice(1);
}

/** Slots of the name cache, minus one. */
const NAME_CACHE_MASK = 1023;
/** Names of up to this many ASCII characters pack exactly into a double (7 × 7 bits < 2^53). */
const MAX_PACKED = 7;

/** Literals up to this many code units are decoded through a shared scratch array. */
const SHORT_STRING = 256;
const SHORT_NARROW = new Uint8Array(SHORT_STRING);
const SHORT_WIDE = new Uint16Array(SHORT_STRING);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * The string of the first `n` code units. One-byte units become a one-byte string (latin1, one
 * byte per character, like the source text); long ones are decoded by Buffer in one step (no
 * intermediate pieces). Buffer.from(arrayBuffer) is a view, not a copy.
 */
function decodeUnits(units: Uint8Array | Uint16Array, n: number): string {
  if (n <= SHORT_STRING) {
    return String.fromCharCode.apply(null, units.subarray(0, n) as unknown as number[]);
  }
  if (units instanceof Uint8Array) {
    // "ascii" is a plain copy; "latin1" is much slower on Node 20, so only when needed.
    const bytes = Buffer.from(units.buffer, units.byteOffset, n);
    return bytes.toString(isAscii(bytes) ? "ascii" : "latin1");
  }
  if (LITTLE_ENDIAN) return Buffer.from(units.buffer, units.byteOffset, 2 * n).toString("utf16le");
  let out = "";
  for (let k = 0; k < n; k += 4096) {
    out += String.fromCharCode.apply(
      null,
      units.subarray(k, Math.min(n, k + 4096)) as unknown as number[],
    );
  }
  return out;
}

function digitValue(c: number): number {
  if (c >= ZERO && c <= NINE) return c - ZERO;
  const l = c | 32;
  if (l >= 97 && l <= 102) return l - 87;
  return 99;
}

/** Value of `n` hex digits at `at`, or -1. */
function hexValue(text: string, at: number, n: number): number {
  let v = 0;
  for (let k = 0; k < n; k++) {
    const d = digitValue(text.charCodeAt(at + k));
    if (d > 15) return -1;
    v = v * 16 + d;
  }
  return v;
}

function isSpaceOrLineBreak(c: number): boolean {
  return (
    c === 0xa0 ||
    c === 0xfeff ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000
  );
}

/** 1-based line and column (UTF-16 units) of `offset`. Only used for error messages. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(offset, text.length);
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === LF || c === 0x2028 || c === 0x2029 || (c === CR && text.charCodeAt(i + 1) !== LF)) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: end - lineStart + 1 };
}
