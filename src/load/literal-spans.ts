/**
 * Fast path for plain data literals: hands an object or array literal of the archive language to
 * JSON.parse when JSON.parse builds exactly the value the interpreter would.
 *
 * Why: on a flat archive of 100k small records, tokenizing and building objects one property at a
 * time in JS cost about 2.8x JSON.parse of the same data (issue 11), and no tokenizer tuning closes
 * that: V8's JSON parser builds each object with its final shape in one step. So the literal at
 * the interpreter's current `[` or `{` is scanned once with charCodeAt, validated against a strict
 * subset, and rewritten into JSON in a byte buffer (identifier keys quoted, whitespace dropped,
 * trailing commas removed). References to `const` bindings (`_g0`) and `undefined`, `NaN`,
 * `Infinity` become a `0` placeholder whose path is recorded and patched after the parse.
 *
 * The scan never reports errors: anything outside the subset, or any doubt, gives up and the
 * interpreter reads the literal as before (and reports what is wrong, with file:line:col). The
 * subset, and why each rule keeps the value identical to the interpreter's:
 *  - keys: ASCII identifiers or double-quoted strings without escapes or control characters; never
 *    `__proto__` (a prototype setter in JS, an own key in JSON); no numeric or computed keys.
 *    Duplicate keys mean the same in both (the last value, at the first key's position), except
 *    when a placeholder sits on one of them, so such objects give up.
 *  - numbers: exactly JSON's grammar (so `-0`, exponents and huge values convert the same: both
 *    round correctly); `1n`, `0x1`, `1_000`, `.5`, `+1`, `- 1` give up.
 *  - strings: double-quoted, characters up to U+00FF (the buffer is one byte per character), and
 *    only the escapes JSON and JS read alike (`\" \\ \/ \b \f \n \r \t \uXXXX`). `\x41`, `\u{..}`,
 *    `\v`, `\0`, line continuations, raw tabs give up.
 *  - names: `true`, `false`, `null`; `undefined`, `NaN`, `Infinity` and bound `const` names must be
 *    followed by `,` `]` or `}` (no member access or call), everything else gives up.
 *  - holes, comments, non-ASCII whitespace, nesting beyond the caller's depth limit give up.
 *
 * Status: off by default (InterpretOptions.literalSpans). Interleaved on the shared 2-core machine,
 * reading the module afresh and after a full GC each round (as bench/load.ts does), read+interpret
 * with it took 0.90x the CPU time of the plain interpreter on the flat shape but 1.5x on tree and
 * dag; with the same text reused and no forced GC it took 0.45-0.6x on flat and dag. The extra
 * copy (JSON bytes, then a JSON string the size of the literal) in fresh memory is the suspect;
 * measure on a quiet machine before turning it on.
 *
 * Linear time on hostile input: a failed scan records the literals still open where it stopped
 * (attempts at them would stop at the same character), and all failed scans together may cost at
 * most twice the text's length before the fast path switches itself off.
 */

/** Character codes. */
const TAB = 9;
const LF = 10;
const VT = 11;
const FF = 12;
const CR = 13;
const SPACE = 32;
const DQUOTE = 34;
const COMMA = 44;
const MINUS = 45;
const DOT = 46;
const ZERO = 48;
const NINE = 57;
const COLON = 58;
const LBRACKET = 91;
const BACKSLASH = 92;
const RBRACKET = 93;
const LBRACE = 123;
const RBRACE = 125;

/** 1 = identifier start and part, 2 = part only (ASCII). */
const ID = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/[A-Za-z$_]/.test(ch)) ID[c] = 1;
  else if (/[0-9]/.test(ch)) ID[c] = 2;
}

/** Escapes after `\` that JSON and JS both read, to the same character (`u` checked apart). */
const SAME_ESCAPE = new Uint8Array(128);
for (const ch of '"\\/bfnrt') SAME_ESCAPE[ch.charCodeAt(0)] = 1;

/** Direct-mapped caches of names and keys: slots (a power of two). */
const CACHE_SLOTS = 1024;

/**
 * Scratch buffer the JSON is written to, shared by all loads and kept between them while it is at
 * most RETAIN_BYTES: on a machine where fresh memory is slow to touch, growing a new buffer per
 * load cost as much as the scan.
 */
let scratch: Uint8Array = new Uint8Array(1 << 16);
const RETAIN_BYTES = 16 << 20;

/** JSON texts up to this many characters are decoded with String.fromCharCode. */
const SHORT_JSON = 1024;

/** Placeholder entries the shared arrays may keep between loads. */
const RETAIN_PLACEHOLDERS = 1 << 20;

/** nodeOf entries: no node yet; the root literal itself. */
const NO_NODE = -2;
const ROOT_NODE = -1;

/** What binding() returns for a name that is not a `const` binding. */
const NOT_BOUND: unique symbol = Symbol("not bound");

const K_ARRAY = 0;
const K_OBJECT = 1;

/** Deepest literal the fast path takes on (the interpreter handles deeper ones). */
const MAX_SPAN_DEPTH = 1000;

/** Object keys up to this many are checked for duplicates pair by pair, more through a Set. */
const PAIRWISE_KEYS = 16;

/** A name's meaning at the point of the literal: a plain value, or not for the fast path. */
export type NameLookup = (name: string) => { value: unknown } | undefined;

export class LiteralSpans {
  private readonly text: string;
  private readonly lookup: NameLookup;
  /** Value and end offset of the last successful parse(). */
  value: unknown = undefined;
  end = 0;
  /** JSON being written (one byte per character), reused and grown. */
  private out: Uint8Array = scratch;
  /** Starts of literals a failed scan left open: scanning them again would fail the same way. */
  private readonly failed = new Set<number>();
  /** Characters failed scans may still cost. */
  private budget: number;
  // Per nesting level (1-based): container kind, element index, first key slot, placeholder seen.
  private kinds = new Uint8Array(64);
  private indices = new Int32Array(64);
  private keyBase = new Int32Array(64);
  /** Slot of the key whose value is being read, per object level. */
  private curKey = new Int32Array(64);
  private hasPlaceholder = new Uint8Array(64);
  private starts = new Int32Array(64);
  /** Raw key spans [start, end) of the open objects, innermost last. */
  private keyStarts = new Int32Array(256);
  private keyEnds = new Int32Array(256);
  /** Node of the placeholder tree per level (NO_NODE until a placeholder needs one). */
  private nodeOf = new Int32Array(64);
  private holes: Placeholders = sharedHoles;
  /**
   * Bound names seen so far and their values: an open-addressing table keyed by the characters,
   * so a reference found before costs no slice and no Map lookup (a binding never changes once
   * made). 20k distinct `_gN` names referenced 160k times made slicing each one the main cost.
   */
  private names: (string | undefined)[] = new Array(64);
  private nameValues: unknown[] = new Array(64);
  private nameCount = 0;
  /** Recently seen key strings by hash slot, so each placeholder's key is not sliced anew. */
  private readonly keyCache: (string | undefined)[] = new Array(CACHE_SLOTS);

  constructor(text: string, lookup: NameLookup) {
    this.text = text;
    this.lookup = lookup;
    this.budget = 2 * text.length + 4096;
  }

  /**
   * Tries the literal starting with `[` or `{` at `start`, nesting at most `maxDepth` levels.
   * On success sets `value` and `end` (the offset after the literal) and returns true.
   */
  parse(start: number, maxDepth: number): boolean {
    if (this.budget <= 0 || this.failed.has(start)) return false;
    const depthLimit = Math.min(maxDepth, MAX_SPAN_DEPTH);
    // The scratch buffer and placeholder arrays are shared by all loads: parse() runs to its end
    // without yielding (no await, no code from the archive), so no two loads use them at once.
    this.out = scratch;
    this.holes = sharedHoles;
    const stop = this.scan(start, depthLimit);
    let json: string | undefined;
    if (stop < 0) json = this.json();
    scratch = this.out.length <= RETAIN_BYTES ? this.out : new Uint8Array(1 << 16);
    this.out = scratch;
    if (json === undefined) {
      this.budget -= stop - start + 1;
      this.holes.reset();
      return false;
    }
    let value: unknown;
    try {
      value = JSON.parse(json);
    } catch {
      // Not expected (the scan wrote valid JSON); the interpreter reads the literal instead.
      this.failed.add(start);
      this.holes.reset();
      return false;
    }
    this.holes.apply(value);
    if (this.holes.capacity > RETAIN_PLACEHOLDERS) sharedHoles = new Placeholders();
    this.value = value;
    return true;
  }

  /** The JSON text written by the last scan. */
  private json(): string {
    const n = this.outLength;
    if (n <= SHORT_JSON) {
      // Small literals (an archive of 20k `const _gN = {...}` has many): a Buffer per literal cost
      // about twice the parse.
      return String.fromCharCode.apply(null, this.out.subarray(0, n) as unknown as number[]);
    }
    const bytes = Buffer.from(this.out.buffer, this.out.byteOffset, n);
    // "ascii" is a plain copy; latin1 is much slower on Node 20, so only when needed.
    return bytes.toString(this.outWide ? "latin1" : "ascii");
  }

  private outLength = 0;
  /** Whether a character above 0x7F was written. */
  private outWide = false;

  /**
   * Records a placeholder at level `depth` (the current element or key there) for `value`,
   * creating the tree nodes of the containers leading to it that have none yet.
   */
  private placeholder(depth: number, value: unknown): void {
    const nodeOf = this.nodeOf;
    let level = depth;
    while (nodeOf[level] === NO_NODE) level--;
    for (; level < depth; level++) {
      nodeOf[level + 1] = this.holes.node(nodeOf[level]!, this.step(level));
    }
    this.holes.patch(nodeOf[depth]!, this.step(depth), value);
    this.hasPlaceholder[depth] = 1;
  }

  /** The element index or key being read at `level`. */
  private step(level: number): string | number {
    if (this.kinds[level] === K_ARRAY) return this.indices[level]!;
    const slot = this.curKey[level]!;
    return this.cachedSlice(this.keyCache, this.keyStarts[slot]!, this.keyEnds[slot]!);
  }

  /** text[start, end) as a string shared with earlier equal slices (see Lexer.cachedName). */
  private cachedSlice(cache: (string | undefined)[], start: number, end: number): string {
    const slot = sliceHash(this.text, start, end);
    const cached = cache[slot];
    if (cached !== undefined && isWord(this.text, start, cached) && cached.length === end - start) {
      return cached;
    }
    const fresh = this.text.slice(start, end);
    cache[slot] = fresh;
    return fresh;
  }

  /** Value of the `const` binding named text[start, end), or NOT_BOUND. */
  private binding(start: number, end: number): unknown {
    const text = this.text;
    const n = end - start;
    const mask = this.names.length - 1;
    let slot = nameHash(text, start, end) & mask;
    for (;;) {
      const name = this.names[slot];
      if (name === undefined) break;
      if (name.length === n && isWord(text, start, name)) return this.nameValues[slot];
      slot = (slot + 1) & mask;
    }
    const name = text.slice(start, end);
    const found = this.lookup(name);
    if (found === undefined) return NOT_BOUND;
    this.names[slot] = name;
    this.nameValues[slot] = found.value;
    if (++this.nameCount * 2 > this.names.length) this.rehashNames();
    return found.value;
  }

  private rehashNames(): void {
    const oldNames = this.names;
    const oldValues = this.nameValues;
    this.names = new Array(oldNames.length * 2);
    this.nameValues = new Array(oldNames.length * 2);
    this.nameCount = 0;
    for (let i = 0; i < oldNames.length; i++) {
      const name = oldNames[i];
      if (name === undefined) continue;
      let slot = nameHash(name, 0, name.length) & (this.names.length - 1);
      while (this.names[slot] !== undefined) slot = (slot + 1) & (this.names.length - 1);
      this.names[slot] = name;
      this.nameValues[slot] = oldValues[i];
      this.nameCount++;
    }
  }

  private grow(k: number, need: number): Uint8Array {
    let size = this.out.length * 2;
    while (size < k + need) size *= 2;
    const bigger = new Uint8Array(size);
    bigger.set(this.out.subarray(0, k));
    this.out = bigger;
    return bigger;
  }

  private growLevels(): void {
    const n = this.kinds.length * 2;
    const g8 = (a: Uint8Array) => {
      const b = new Uint8Array(n);
      b.set(a);
      return b;
    };
    const g32 = (a: Int32Array) => {
      const b = new Int32Array(n);
      b.set(a);
      return b;
    };
    this.kinds = g8(this.kinds);
    this.hasPlaceholder = g8(this.hasPlaceholder);
    this.indices = g32(this.indices);
    this.keyBase = g32(this.keyBase);
    this.curKey = g32(this.curKey);
    this.starts = g32(this.starts);
    this.nodeOf = g32(this.nodeOf);
  }

  private growKeys(): void {
    const n = this.keyStarts.length * 2;
    const a = new Int32Array(n);
    a.set(this.keyStarts);
    this.keyStarts = a;
    const b = new Int32Array(n);
    b.set(this.keyEnds);
    this.keyEnds = b;
  }

  /**
   * Scans the literal at `start` and writes its JSON to `out`. Returns -1 on success (sets `end`,
   * `outLength`), else the offset where the scan gave up (after recording the open literals).
   */
  private scan(start: number, depthLimit: number): number {
    const text = this.text;
    let out = this.out;
    let k = 0;
    let wide = 0;
    let pos = start;
    let depth = 0;
    let keys = 0;
    let c = 0;
    this.outLength = 0;
    this.holes.reset();
    this.nodeOf[1] = ROOT_NODE;
    // The loop alternates between "a value starts at pos" and "a value just ended".
    scan: for (;;) {
      // ---- A value starts (after skipping whitespace).
      c = text.charCodeAt(pos);
      while (c === SPACE || c === LF || c === CR || c === TAB || c === VT || c === FF) {
        c = text.charCodeAt(++pos);
      }
      if (k + 16 > out.length) out = this.grow(k, 16);
      if (c === LBRACE || c === LBRACKET) {
        if (depth >= depthLimit) break;
        depth++;
        if (depth >= this.kinds.length) this.growLevels();
        this.starts[depth] = pos;
        this.hasPlaceholder[depth] = 0;
        if (depth > 1) this.nodeOf[depth] = NO_NODE;
        out[k++] = c;
        c = text.charCodeAt(++pos);
        while (c === SPACE || c === LF || c === CR || c === TAB || c === VT || c === FF) {
          c = text.charCodeAt(++pos);
        }
        if (text.charCodeAt(this.starts[depth]!) === LBRACKET) {
          this.kinds[depth] = K_ARRAY;
          this.indices[depth] = 0;
          if (c === RBRACKET) {
            out[k++] = RBRACKET;
            pos++;
            depth--;
          } else if (c === COMMA)
            break; // a hole
          else continue;
        } else {
          this.kinds[depth] = K_OBJECT;
          this.keyBase[depth] = keys;
          if (c === RBRACE) {
            out[k++] = RBRACE;
            pos++;
            depth--;
          } else {
            this.curKey[depth] = keys;
            const next = this.key(pos, k, keys);
            if (next < 0) break;
            out = this.out;
            k = this.outLength;
            keys++;
            pos = next;
            continue;
          }
        }
      } else if (c === DQUOTE) {
        // A string value: copied as is, escapes checked.
        out[k++] = DQUOTE;
        for (;;) {
          c = text.charCodeAt(++pos);
          if (k + 8 > out.length) out = this.grow(k, 8);
          if (c === DQUOTE) break;
          if (c === BACKSLASH) {
            const e = text.charCodeAt(pos + 1);
            if (e < 128 && SAME_ESCAPE[e] === 1) {
              out[k++] = BACKSLASH;
              out[k++] = e;
              pos++;
              continue;
            }
            if (e !== 117 || !isHex4(text, pos + 2)) break scan; // \x, \u{}, \v, \0, ...
            for (let j = 0; j < 6; j++) out[k++] = text.charCodeAt(pos + j);
            pos += 5;
            continue;
          }
          if (c < SPACE || c > 0xff || Number.isNaN(c)) break scan;
          wide |= c;
          out[k++] = c;
        }
        out[k++] = DQUOTE;
        pos++;
      } else if (c === MINUS || (c >= ZERO && c <= NINE)) {
        const end = jsonNumberEnd(text, pos);
        if (end < 0) break;
        if (k + (end - pos) > out.length) out = this.grow(k, end - pos);
        for (let j = pos; j < end; j++) out[k++] = text.charCodeAt(j);
        pos = end;
      } else if (c < 128 && ID[c] === 1) {
        let end = pos + 1;
        let d = text.charCodeAt(end);
        while (d < 128 && ID[d] !== 0) d = text.charCodeAt(++end);
        if (d > 127 || d === BACKSLASH) break; // a name with non-ASCII parts or escapes
        const n = end - pos;
        if (n === 4 && isWord(text, pos, "true")) {
          out[k++] = 116;
          out[k++] = 114;
          out[k++] = 117;
          out[k++] = 101;
        } else if (n === 4 && isWord(text, pos, "null")) {
          out[k++] = 110;
          out[k++] = 117;
          out[k++] = 108;
          out[k++] = 108;
        } else if (n === 5 && isWord(text, pos, "false")) {
          out[k++] = 102;
          out[k++] = 97;
          out[k++] = 108;
          out[k++] = 115;
          out[k++] = 101;
        } else {
          // A placeholder: only before `,` `]` `}` (no `.member` or call follows).
          while (d === SPACE || d === LF || d === CR || d === TAB || d === VT || d === FF) {
            d = text.charCodeAt(++end);
          }
          if (d !== COMMA && d !== RBRACKET && d !== RBRACE) break;
          let value: unknown;
          if (n === 9 && isWord(text, pos, "undefined")) value = undefined;
          else if (n === 3 && isWord(text, pos, "NaN")) value = Number.NaN;
          else if (n === 8 && isWord(text, pos, "Infinity")) value = Infinity;
          else {
            const found = this.binding(pos, pos + n);
            if (found === NOT_BOUND) break;
            value = found;
          }
          this.placeholder(depth, value);
          this.hasPlaceholder[depth] = 1;
          out[k++] = ZERO;
        }
        pos = end;
      } else break;

      // ---- A value ended: separators and closing brackets, up the levels.
      for (;;) {
        if (depth === 0) {
          this.end = pos;
          this.outLength = k;
          this.outWide = wide > 0x7f;
          this.out = out;
          return -1;
        }
        c = text.charCodeAt(pos);
        while (c === SPACE || c === LF || c === CR || c === TAB || c === VT || c === FF) {
          c = text.charCodeAt(++pos);
        }
        if (k + 2 > out.length) out = this.grow(k, 2);
        const kind = this.kinds[depth];
        const close = kind === K_ARRAY ? RBRACKET : RBRACE;
        if (c === COMMA) {
          c = text.charCodeAt(++pos);
          while (c === SPACE || c === LF || c === CR || c === TAB || c === VT || c === FF) {
            c = text.charCodeAt(++pos);
          }
          if (c !== close) {
            if (c === COMMA) break scan; // a hole
            out[k++] = COMMA;
            if (kind === K_ARRAY) {
              this.indices[depth]!++;
              continue scan;
            }
            this.outLength = k;
            this.out = out;
            this.curKey[depth] = keys;
            const next = this.key(pos, k, keys);
            if (next < 0) break scan;
            out = this.out;
            k = this.outLength;
            keys++;
            pos = next;
            continue scan;
          }
        } else if (c !== close) break scan;
        // Closing the innermost literal.
        out[k++] = close;
        pos++;
        if (kind === K_OBJECT) {
          const base = this.keyBase[depth]!;
          if (
            this.hasPlaceholder[depth] === 1 &&
            hasDuplicateKey(text, this.keyStarts, this.keyEnds, base, keys)
          ) {
            break scan;
          }
          keys = base;
        }
        depth--;
      }
    }
    // Gave up at pos: the literals still open would stop here too.
    for (let s = 1; s <= depth; s++) this.failed.add(this.starts[s]!);
    this.failed.add(start);
    return pos;
  }

  /**
   * Reads an object key at `pos` (whitespace skipped) and its `:`, writing `"key":` at `k`, and
   * records it at slot `slot`. Returns the offset after the `:`, or -1 to give up.
   */
  private key(pos: number, k: number, slot: number): number {
    const text = this.text;
    let c = text.charCodeAt(pos);
    let start: number;
    let end: number;
    if (c === DQUOTE) {
      start = pos + 1;
      end = start;
      for (;;) {
        c = text.charCodeAt(end);
        if (c === DQUOTE) break;
        if (c === BACKSLASH || c < SPACE || c > 0x7f || Number.isNaN(c)) return -1;
        end++;
      }
      pos = end + 1;
    } else if (c < 128 && ID[c] === 1) {
      start = pos;
      end = pos + 1;
      c = text.charCodeAt(end);
      while (c < 128 && ID[c] !== 0) c = text.charCodeAt(++end);
      if (c > 127 || c === BACKSLASH) return -1;
      pos = end;
    } else return -1;
    if (end - start === 9 && isWord(text, start, "__proto__")) return -1;
    c = text.charCodeAt(pos);
    while (c === SPACE || c === LF || c === CR || c === TAB || c === VT || c === FF) {
      c = text.charCodeAt(++pos);
    }
    if (c !== COLON) return -1;
    let out = this.out;
    const n = end - start;
    if (k + n + 3 > out.length) out = this.grow(k, n + 3);
    out[k++] = DQUOTE;
    for (let j = start; j < end; j++) out[k++] = text.charCodeAt(j);
    out[k++] = DQUOTE;
    out[k++] = COLON;
    this.outLength = k;
    if (slot >= this.keyStarts.length) this.growKeys();
    this.keyStarts[slot] = start;
    this.keyEnds[slot] = end;
    return pos + 1;
  }
}

/** Whether text at `at` spells `word`. */
function isWord(text: string, at: number, word: string): boolean {
  for (let j = 0; j < word.length; j++) {
    if (text.charCodeAt(at + j) !== word.charCodeAt(j)) return false;
  }
  return true;
}

function isHexDigit(c: number): boolean {
  return (c >= ZERO && c <= NINE) || ((c | 32) >= 97 && (c | 32) <= 102);
}

function isHex4(text: string, at: number): boolean {
  return (
    isHexDigit(text.charCodeAt(at)) &&
    isHexDigit(text.charCodeAt(at + 1)) &&
    isHexDigit(text.charCodeAt(at + 2)) &&
    isHexDigit(text.charCodeAt(at + 3))
  );
}

/**
 * End of a JSON number at `pos` (`-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?`), or -1 when the text
 * there is not one or runs on into something other than whitespace, `,`, `]` or `}` (`1n`, `1_0`,
 * `0x1`, `01`, `1.`, `1in`, `1/*`: the interpreter reads or refuses those).
 */
function jsonNumberEnd(text: string, pos: number): number {
  let c = text.charCodeAt(pos);
  if (c === MINUS) c = text.charCodeAt(++pos);
  if (c === ZERO) c = text.charCodeAt(++pos);
  else if (c > ZERO && c <= NINE) {
    do c = text.charCodeAt(++pos);
    while (c >= ZERO && c <= NINE);
  } else return -1;
  if (c === DOT) {
    c = text.charCodeAt(++pos);
    if (!(c >= ZERO && c <= NINE)) return -1;
    do c = text.charCodeAt(++pos);
    while (c >= ZERO && c <= NINE);
  }
  if ((c | 32) === 101) {
    c = text.charCodeAt(++pos);
    if (c === 43 || c === MINUS) c = text.charCodeAt(++pos);
    if (!(c >= ZERO && c <= NINE)) return -1;
    do c = text.charCodeAt(++pos);
    while (c >= ZERO && c <= NINE);
  }
  if (
    c === COMMA ||
    c === RBRACKET ||
    c === RBRACE ||
    c === SPACE ||
    c === LF ||
    c === CR ||
    c === TAB ||
    c === VT ||
    c === FF
  ) {
    return pos;
  }
  return -1;
}

/** Whether two of the raw keys in slots [from, to) are the same string. */
function hasDuplicateKey(
  text: string,
  starts: Int32Array,
  ends: Int32Array,
  from: number,
  to: number,
): boolean {
  if (to - from <= PAIRWISE_KEYS) {
    for (let a = from; a < to; a++) {
      const sa = starts[a]!;
      const n = ends[a]! - sa;
      for (let b = a + 1; b < to; b++) {
        const sb = starts[b]!;
        if (ends[b]! - sb !== n) continue;
        let j = 0;
        while (j < n && text.charCodeAt(sa + j) === text.charCodeAt(sb + j)) j++;
        if (j === n) return true;
      }
    }
    return false;
  }
  const seen = new Set<string>();
  for (let a = from; a < to; a++) seen.add(text.slice(starts[a]!, ends[a]!));
  return seen.size !== to - from;
}

/** Hash of text[start, end) for the name table (FNV-1a). */
function nameHash(text: string, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let j = start; j < end; j++) h = Math.imul(h ^ text.charCodeAt(j), 0x01000193);
  return h ^ (h >>> 15);
}

/** Cache slot of text[start, end). */
function sliceHash(text: string, start: number, end: number): number {
  let h = end - start;
  for (let j = start; j < end; j++) h = (h * 31 + text.charCodeAt(j)) | 0;
  return (h ^ (h >>> 10)) & (CACHE_SLOTS - 1);
}

/**
 * The placeholders of one scan and the containers leading to them, as a tree: node n is
 * `parent[n]`'s element or property `step[n]` (parent ROOT_NODE: the parsed literal). Arrays are
 * reused between scans and written by index, because pushing to fresh arrays per scan cost more
 * than the scan itself on an archive of 160k references.
 */
class Placeholders {
  private parent: Int32Array = new Int32Array(256);
  private readonly steps: (string | number)[] = [];
  private nodes = 0;
  private target: Int32Array = new Int32Array(256);
  private readonly keys: (string | number)[] = [];
  private readonly values: unknown[] = [];
  private count = 0;

  /** Entries the arrays hold. */
  get capacity(): number {
    return Math.max(this.steps.length, this.keys.length);
  }

  reset(): void {
    this.nodes = 0;
    this.count = 0;
  }

  node(parent: number, step: string | number): number {
    const n = this.nodes++;
    if (n >= this.parent.length) this.parent = grown(this.parent);
    this.parent[n] = parent;
    if (n < this.steps.length) this.steps[n] = step;
    else this.steps.push(step);
    return n;
  }

  patch(node: number, key: string | number, value: unknown): void {
    const n = this.count++;
    if (n >= this.target.length) this.target = grown(this.target);
    this.target[n] = node;
    if (n < this.keys.length) {
      this.keys[n] = key;
      this.values[n] = value;
    } else {
      this.keys.push(key);
      this.values.push(value);
    }
  }

  /**
   * Puts the values in place in the parsed `root`. Every step names an own data property JSON.parse
   * made (never `__proto__`), so plain reads and writes reach exactly that property.
   */
  apply(root: unknown): void {
    const objects: Record<string | number, unknown>[] = new Array(this.nodes);
    const top = root as Record<string | number, unknown>;
    for (let n = 0; n < this.nodes; n++) {
      const p = this.parent[n]!;
      objects[n] = (p === ROOT_NODE ? top : objects[p]!)[this.steps[n]!] as Record<string, unknown>;
    }
    for (let i = 0; i < this.count; i++) {
      const node = this.target[i]!;
      (node === ROOT_NODE ? top : objects[node]!)[this.keys[i]!] = this.values[i];
      this.values[i] = undefined;
    }
    this.reset();
  }
}

let sharedHoles = new Placeholders();

function grown(a: Int32Array): Int32Array {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}
