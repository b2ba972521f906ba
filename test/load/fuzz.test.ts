/**
 * Property-based fuzzing: random character mutations of valid archives must either load or throw
 * an ArchiveError subclass — never another error type, never pollute a prototype, never mutate an
 * object the importer passed in (or one its code returns), never load a format-2 module that lost
 * its end marker. Runs are bounded so the file takes a few seconds.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { ArchiveError } from "../../src/errors.js";
import { ARCHIVE_END_MARKER, interpretSource, isTruncated } from "../../src/load/index.js";

class Point {
  constructor(
    public x: unknown,
    public y: unknown,
  ) {}
  static from(s: unknown): Point {
    return new Point(s, s);
  }
}
class Vec extends Object {}
const shared = { a: 1 };
const sharedMap = new Map([["k", 1]]);
const sharedBuffer = new ArrayBuffer(8);
class Evil {
  name = "evil";
  static proto(): object {
    return Object.prototype;
  }
  static arrayProto(): object {
    return Array.prototype;
  }
  static map(): Map<string, number> {
    return sharedMap;
  }
  static make(): Evil {
    return new Evil();
  }
}
const modules = {
  "geometry-lib": { Point, Vec, Evil, O: Object, R: Reflect, shared, sharedMap, sharedBuffer },
};

/** What the importer passed in, which no archive may change. */
function importedSnapshot(): string {
  return JSON.stringify([shared, [...sharedMap], [...new Uint8Array(sharedBuffer)]]);
}

const HEADER2 =
  "// persist-archive archive, format 2. A plain ES module: import it, or load() it safely.\n";

const CORPUS = [
  '// persist-archive archive, format 1.\nimport { Point as _Point } from "geometry-lib";\n' +
    'import { NDArray as _NDArray } from "./_persist_runtime.v1.mjs";\n' +
    'const _g0 = { name: "shared", p: new _Point(1, 2), q: _Point.from("3") };\n' +
    "export const results = { a: _g0, b: _g0, self: undefined, n: [1, -0, NaN, , 2.5e3, -Infinity, 12n] };\n" +
    "results.self = results;\nexport default results;\n",
  'export const m = new Map([[1, "a"], ["k", { x: 1 }]]);\nconst _g1 = new Set([1]);\n_g1.add(_g1);\nm.set(2, _g1);\n' +
    'export const d = [new Date("2020-01-02T03:04:05.006Z"), new Date(NaN), Object.assign(new RegExp("a", "g"), { lastIndex: 3 })];\n',
  'export const e = [new Error("msg", { cause: 1 }), new AggregateError([new TypeError("t")], "m"), Object.assign(new Error("m"), { code: "E1" })];\n' +
    'export const b = [new Number(1), new String("s"), Object(1n), Object(Symbol.for("k")), Symbol.iterator, Math.sin];\n',
  "const _g0 = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]).buffer;\n" +
    "export const t = [new Float64Array(_g0, 0, 1), new DataView(_g0, 2, 4), new BigInt64Array([-1n]), new Int8Array(4)];\n" +
    'export const o = { __proto__: null, "q-k": "\\u2028\\ud800\\n", ["__proto__"]: 4, 3: [,], x: { y: { z: [[[]]] } } };\n' +
    'o["late"] = o;\ndelete o["q-k"];\n',
  // Format 2 (end marker), imports that reach built-ins and shared objects, escapes.
  `${HEADER2}import { Vec as _V, Evil as _E, O as _O, R as _R, shared as _s, sharedMap as _m, sharedBuffer as _b } from "geometry-lib";\n` +
    'const _g0 = { v: new _V(), e: _E.make(), s: _s, m: _m, b: _b, t: "\\x41\\u00e9\\u{1F600}" };\n' +
    '_g0.k = _g0;\nconst _g1 = new Map([["x", _g0]]);\n_g1.set("y", 1);\nexport const x = [_g0, _g1];\n' +
    `${ARCHIVE_END_MARKER}\n`,
];

/** Fragments that steer mutations toward the interesting parts of the grammar. */
const FRAGMENTS = [
  "import(",
  "`",
  "${",
  "{",
  "}",
  "[",
  "]",
  "(",
  ")",
  ",",
  ":",
  ";",
  ".",
  "=",
  "__proto__",
  ".constructor",
  "get ",
  "set ",
  "\\u{",
  "\\x",
  '"',
  "'",
  "1e",
  "n",
  "-",
  "/*",
  "//",
  "\n",
  "new ",
  "Object.assign(",
  "Symbol.for(",
  "delete ",
  "export const ",
  "await ",
  "_g0",
  "0x",
  "_",
  "...",
  "\u2028",
  "\ud800",
  "new ArrayBuffer(",
  "new Float64Array(",
  // Reaching built-ins through imports, and mutating what is not the archive's own.
  "_V.getPrototypeOf({})",
  "_V.defineProperty(",
  "_V.call(",
  "_V.bind(",
  "_E.proto()",
  "_E.arrayProto()",
  "_E.map()",
  "_O.getPrototypeOf({})",
  "_R.set(",
  "new _O(",
  "new Uint8Array(_b)",
  ".polluted = 1",
  '["polluted"] = 1',
  ".set(",
  ".add(",
  "\nconst _g9 = _E.proto();\n_g9.polluted = 1;\n",
  "\n_s.a = 2;\n",
  '\n_m.set("k", 2);\n',
  "\nexport const y = Object.assign(_E.proto(), { polluted: 1 });\n",
  ARCHIVE_END_MARKER,
  "\\x41\\x41",
];

type Mutation =
  | { kind: "replace"; at: number; text: string }
  | { kind: "insert"; at: number; text: string }
  | { kind: "delete"; at: number; length: number }
  | { kind: "duplicate"; at: number; length: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constant("replace" as const),
    at: fc.nat(),
    text: fc.oneof(fc.constantFrom(...FRAGMENTS), fc.string({ maxLength: 3 })),
  }),
  fc.record({
    kind: fc.constant("insert" as const),
    at: fc.nat(),
    text: fc.oneof(fc.constantFrom(...FRAGMENTS), fc.string({ maxLength: 3, unit: "binary" })),
  }),
  fc.record({
    kind: fc.constant("delete" as const),
    at: fc.nat(),
    length: fc.integer({ min: 1, max: 12 }),
  }),
  fc.record({
    kind: fc.constant("duplicate" as const),
    at: fc.nat(),
    length: fc.integer({ min: 1, max: 40 }),
  }),
);

function apply(text: string, m: Mutation): string {
  const at = m.at % (text.length + 1);
  switch (m.kind) {
    case "replace":
      return text.slice(0, at) + m.text + text.slice(at + m.text.length);
    case "insert":
      return text.slice(0, at) + m.text + text.slice(at);
    case "delete":
      return text.slice(0, at) + text.slice(at + m.length);
    case "duplicate":
      return (
        text.slice(0, at + m.length) + text.slice(at, at + m.length) + text.slice(at + m.length)
      );
  }
}

function prototypesSnapshot(): string {
  return [Object.prototype, Array.prototype, Function.prototype, Map.prototype]
    .map((p) => Reflect.ownKeys(p).map(String).sort().join(","))
    .join("|");
}

test("the corpus itself loads", async () => {
  for (const text of CORPUS) await interpretSource(text, { file: "/fuzz/corpus.mjs", modules });
});

test("mutated archives load or throw an ArchiveError, nothing else", async () => {
  const clean = prototypesSnapshot();
  const cleanImported = importedSnapshot();
  let loaded = 0;
  let rejected = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...CORPUS),
      fc.array(mutation, { minLength: 1, maxLength: 4 }),
      async (base, mutations) => {
        const text = mutations.reduce(apply, base);
        try {
          await interpretSource(text, { file: "/fuzz/mutant.mjs", modules });
          assert.ok(!isTruncated(text), `a truncated module loaded:\n${text}`);
          loaded++;
        } catch (error) {
          if (!(error instanceof ArchiveError)) {
            assert.fail(`non-ArchiveError ${String(error)} for:\n${text}`);
          }
          rejected++;
        }
        assert.equal(prototypesSnapshot(), clean, text);
        assert.equal(({} as Record<string, unknown>).polluted, undefined, text);
        assert.equal(importedSnapshot(), cleanImported, text);
      },
    ),
    {
      numRuns: Number(process.env.PERSIST_FUZZ_RUNS ?? 3000),
      seed: Number(process.env.PERSIST_FUZZ_SEED ?? 20261127),
    },
  );
  // Both outcomes must actually occur, or the mutations are not exercising the loader.
  assert.ok(loaded > 50 && rejected > 50, `loaded ${loaded}, rejected ${rejected}`);
});

test("a format-2 module cut anywhere after its header line, before its end marker, never loads", async () => {
  // (A cut inside the first line leaves no header to say which format it was: an empty module.)
  const full = CORPUS[CORPUS.length - 1]!;
  const markerEnd = full.lastIndexOf(ARCHIVE_END_MARKER) + ARCHIVE_END_MARKER.length;
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: HEADER2.length, max: markerEnd - 1 }), async (cut) => {
      const text = full.slice(0, cut);
      const error = await interpretSource(text, { file: "/fuzz/cut.mjs", modules }).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(error instanceof ArchiveError, `cut at ${cut} loaded`);
    }),
    { numRuns: 400, seed: 21 },
  );
});

test("random text never escapes as a non-ArchiveError", async () => {
  await fc.assert(
    fc.asyncProperty(fc.string({ maxLength: 60, unit: "grapheme-composite" }), async (text) => {
      try {
        await interpretSource(text, { file: "/fuzz/random.mjs" });
      } catch (error) {
        assert.ok(error instanceof ArchiveError, String(error));
      }
    }),
    { numRuns: 1500, seed: 7 },
  );
});

/** Native value of a literal, or "error" when JS refuses it (strict mode, like a module). */
function nativeLiteral(literal: string): unknown {
  try {
    return new Function(`"use strict"; return (${literal}\n);`)();
  } catch {
    return "error";
  }
}

async function safeLiteral(literal: string): Promise<unknown> {
  try {
    return (await interpretSource(`export const a = ${literal}\n;`, { file: "/fuzz/literal.mjs" }))
      .a;
  } catch (error) {
    assert.ok(error instanceof ArchiveError, String(error));
    return "error";
  }
}

test("numeric literals: whatever the loader accepts has the value JS gives it", async () => {
  const chars = "0123456789._eExXoObBnN+-abcdf".split("");
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.constantFrom(...chars), { minLength: 1, maxLength: 12 }),
      async (parts) => {
        const literal = parts.join("");
        const safe = await safeLiteral(literal);
        if (safe === "error") return;
        assert.ok(Object.is(safe, nativeLiteral(literal)), `${literal}: safe ${String(safe)}`);
      },
    ),
    {
      numRuns: Number(process.env.PERSIST_FUZZ_RUNS ?? 4000),
      seed: 11 + Number(process.env.PERSIST_FUZZ_SEED ?? 0),
    },
  );
});

test("string literals: whatever the loader accepts has the value JS gives it", async () => {
  const chars = [
    "\\",
    '"',
    "'",
    "u",
    "x",
    "{",
    "}",
    "0",
    "1",
    "7",
    "9",
    "a",
    "D",
    "n",
    "\n",
    "\r",
    "\u2028",
    "\ud800",
    "😀",
    " ",
  ];
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom('"', "'"),
      fc.array(fc.constantFrom(...chars), { maxLength: 14 }),
      async (quote, parts) => {
        const literal = quote + parts.join("") + quote;
        const safe = await safeLiteral(literal);
        if (safe === "error") return;
        assert.equal(safe, nativeLiteral(literal), JSON.stringify(literal));
      },
    ),
    {
      numRuns: Number(process.env.PERSIST_FUZZ_RUNS ?? 4000),
      seed: 12 + Number(process.env.PERSIST_FUZZ_SEED ?? 0),
    },
  );
});

test("decimal literals are read exactly as Number() reads them (fast path and fallback)", async () => {
  const literal = fc.oneof(
    fc.double({ noNaN: true, noDefaultInfinity: true, min: 0 }).map(String),
    fc
      .tuple(fc.double({ min: 0, max: 1e6, noNaN: true }), fc.integer({ min: 0, max: 20 }))
      .map(([d, k]) => d.toFixed(k)),
    fc
      .tuple(
        fc.double({ min: 0, noNaN: true, noDefaultInfinity: true }),
        fc.integer({ min: 0, max: 20 }),
      )
      .map(([d, k]) => d.toExponential(k)),
    fc
      .tuple(fc.bigInt({ min: 0n, max: 10n ** 25n }), fc.integer({ min: -30, max: 30 }))
      .map(([m, e]) => `${m}e${e}`),
  );
  await fc.assert(
    fc.asyncProperty(fc.array(literal, { minLength: 1, maxLength: 50 }), async (literals) => {
      const text = `export const a = [${literals.join(", ")}];\n`;
      const values = (await interpretSource(text, { file: "/fuzz/decimals.mjs" })).a as number[];
      for (const [i, l] of literals.entries())
        assert.ok(Object.is(values[i], Number(l)), `${l}: ${values[i]}`);
    }),
    { numRuns: 500, seed: 13 },
  );
});
