/**
 * The JSON.parse fast path for plain literals (src/load/literal-spans.ts) must be invisible: every
 * module reads to exactly what the interpreter alone builds (same values, key order, prototypes,
 * shared identities, -0, NaN, holes), or fails with the same error class and message (same
 * file:line:col). Differential: the same text through the interpreter with and without the fast
 * path, over generated modules that mix the literal subset with everything just outside it, and
 * over archives the emitter writes; valid ones also against native import(). Plus hostile texts
 * that would make a careless fast path quadratic (they must simply finish; no timing).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { inspect } from "node:util";
import fc from "fast-check";
import { dag, flat, tree } from "../../bench/shapes.js";
import { ArchiveError } from "../../src/errors.js";
import { Archive } from "../../src/index.js";
import { Interpreter } from "../../src/load/interpreter.js";
import { importNative } from "./helpers.js";

/** Runs the interpreter over `text`; the exports, or the error it threw. */
function interpret(
  text: string,
  literalSpans: boolean,
): { ok: true; value: unknown } | { ok: false; error: unknown } {
  try {
    const interpreter = new Interpreter(text, { file: "/x/spans.mjs", root: "/x", literalSpans });
    const pending = interpreter.run();
    assert.equal(pending, undefined, "generated modules load no arrays");
    return { ok: true, value: interpreter.exports };
  } catch (error) {
    return { ok: false, error };
  }
}

/**
 * A canonical description of a value: key order, property attributes, prototypes, holes, -0 and
 * which objects are the same object. Two values with equal descriptions are indistinguishable to
 * anything the archive language can build.
 */
function describe(root: unknown): string {
  const ids = new Map<object, number>();
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === "number") out.push(Object.is(v, -0) ? "-0" : String(v));
    else if (typeof v === "string") out.push(JSON.stringify(v));
    else if (typeof v === "bigint") out.push(`${v}n`);
    else if (typeof v === "symbol")
      out.push(`sym(${String(v.description)},${Symbol.keyFor(v) !== undefined})`);
    else if (typeof v !== "object" && typeof v !== "function") out.push(String(v));
    else if (v === null) out.push("null");
    else {
      const seen = ids.get(v);
      if (seen !== undefined) {
        out.push(`#${seen}`);
        return;
      }
      ids.set(v, ids.size);
      const proto = Object.getPrototypeOf(v);
      out.push(
        proto === null
          ? "{null-proto"
          : proto === Object.prototype
            ? "{"
            : `{${Object.prototype.toString.call(v)}`,
      );
      if (v instanceof Map || v instanceof Set || v instanceof Date || ArrayBuffer.isView(v)) {
        out.push(inspect(v, { depth: 0, showHidden: true }));
      }
      if (Array.isArray(v)) out.push(`len=${v.length}`);
      for (const key of Reflect.ownKeys(v)) {
        const d = Object.getOwnPropertyDescriptor(v, key)!;
        out.push(
          `${String(key)}:${d.enumerable ? "e" : ""}${d.writable ? "w" : ""}${d.configurable ? "c" : ""}=`,
        );
        walk(d.value);
      }
      out.push("}");
    }
  };
  walk(root);
  return out.join(" ");
}

function outcome(r: ReturnType<typeof interpret>): string {
  if (r.ok) return `ok ${describe(r.value)}`;
  const e = r.error as Error;
  return `error ${e?.constructor?.name}: ${e?.message}`;
}

function assertSame(text: string): ReturnType<typeof interpret> {
  const fast = interpret(text, true);
  const slow = interpret(text, false);
  assert.equal(outcome(fast), outcome(slow), `differs on:\n${text}`);
  if (!fast.ok)
    assert.ok(fast.error instanceof ArchiveError, `untyped error: ${String(fast.error)}`);
  return slow;
}

// ---- Generated modules: the literal subset and everything just outside it.

const numbers = fc.oneof(
  fc.constantFrom(
    "0",
    "-0",
    "1",
    "-1",
    "1.5",
    "-1.5",
    "1e3",
    "1E+3",
    "1e-7",
    "-0.0",
    "0.1",
    "5e-324",
    "2.5e-324",
    "123456789012345678901234567890",
    "9007199254740993",
    "1e400",
    "-1e400",
    "1.7976931348623157e308",
    "0x1F",
    "1_000",
    ".5",
    "5.",
    "+1",
    "- 1",
    "-\n1",
    "01",
    "00",
    "1n",
    "-1n",
    "1.e5",
    "0.5e",
    "1e",
    "NaN",
    "-NaN",
    "Infinity",
    "-Infinity",
    "+Infinity",
    "undefined",
    "1in",
    "1.5.2",
    "1/*c*/",
  ),
  fc.double().map((d) => (Number.isFinite(d) ? String(d) : "0")),
  fc.integer().map(String),
);

const stringPieces = fc.constantFrom(
  "a",
  "Z",
  " ",
  "é",
  "\u00ff",
  "\u0100",
  "\u4e2d",
  "😀",
  "\ud800",
  "\udc00",
  "\u2028",
  "\u2029",
  "\x7f",
  "\t",
  "\x01",
  "'",
  "/",
  "\\n",
  "\\t",
  "\\r",
  '\\"',
  "\\\\",
  "\\/",
  "\\b",
  "\\f",
  "\\u0041",
  "\\u00e9",
  "\\u4E2D",
  "\\uD800",
  "\\udc00",
  "\\uD83D\\uDE00",
  "\\x41",
  "\\u{1F600}",
  "\\u{41}",
  "\\v",
  "\\0",
  "\\\n",
  "\\\r\n",
  "\\'",
  "\\a",
  "\\08",
  "\\1",
  "\\u00",
  "\\u{110000}",
);

const strings = fc
  .tuple(fc.array(stringPieces, { maxLength: 6 }), fc.constantFrom('"', '"', '"', "'"))
  .map(
    ([pieces, q]) =>
      `${q}${pieces.map((p) => (p === '\\"' && q === "'" ? "\\'" : p)).join("")}${q}`,
  );

const names = fc.constantFrom(
  "true",
  "false",
  "null",
  "undefined",
  "NaN",
  "Infinity",
  "_g0",
  "_g1",
  "_g2",
  "_gX",
  "Object",
  "new Date(0)",
  "_g0.x",
  "new Map([[1, 2]])",
  'Symbol.for("s")',
  "_g1 .buffer",
  "_g0()",
  "true.x",
  "Object.assign(new Map(), {})",
);

const keys = fc.constantFrom(
  "a",
  "b",
  "id",
  "ref",
  "__proto__",
  "constructor",
  "if",
  "$x",
  "_y",
  "é",
  "a\\u0062",
  '"a"',
  '"b"',
  '"__proto__"',
  '"\\u0061"',
  '"__pro\\u0074o__"',
  '"0"',
  '"1"',
  '"4294967295"',
  '"a b"',
  '"é"',
  '"\\n"',
  '"\t"',
  "0",
  "1",
  "1.5",
  "1e3",
  '["a"]',
  '["__proto__"]',
  "[0]",
  "'a'",
  "get",
  "a()",
  "[_g0]",
);

const separators = fc.constantFrom(
  ", ",
  ",",
  " ,\n  ",
  ",\t",
  ", /* c */ ",
  ",// c\n",
  " , ",
  ",\u00a0",
);

const { value } = fc.letrec<{ value: string; array: string; object: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    numbers,
    strings,
    names,
    tie("array"),
    tie("object"),
  ),
  array: fc
    .tuple(
      fc.array(tie("value"), { maxLength: 5 }),
      separators,
      fc.constantFrom("", "", ",", ", ,", ",,"),
      fc.constantFrom("", "", " ", "\n  ", "/*c*/", ","),
    )
    .map(
      ([items, sep, trailing, inner]) =>
        `[${inner}${items.join(sep)}${items.length ? trailing : ""}]`,
    ),
  object: fc
    .tuple(
      fc.array(fc.tuple(keys, fc.constantFrom(": ", ":", " : ", ":\n"), tie("value")), {
        maxLength: 5,
      }),
      separators,
      fc.constantFrom("", "", ","),
      fc.constantFrom("", " ", "\n"),
    )
    .map(
      ([entries, sep, trailing, pad]) =>
        `{${pad}${entries.map(([k, colon, v]) => `${k}${colon}${k === "__proto__" && v !== "null" ? "null" : v}`).join(sep)}${entries.length ? trailing : ""}${pad}}`,
    ),
}));

const modules = fc
  .tuple(value, value, fc.boolean(), fc.constantFrom("", "_g0.late = 1;\n", "_g2.push = 1;\n"))
  .map(
    ([a, b, twoExports, patch]) =>
      "const _g0 = { shared: 1 };\nconst _g1 = new Uint8Array([1, 2]);\nconst _g2 = [_g0, -0];\n" +
      `export const v = ${a};\n${twoExports ? `export const w = ${b};\n` : ""}${patch}`,
  );

test("generated modules read the same with and without the JSON.parse fast path", () => {
  fc.assert(
    fc.property(modules, (text) => {
      assertSame(text);
    }),
    { numRuns: 3000 },
  );
});

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

test("valid generated modules also read like native import()", async () => {
  await fc.assert(
    fc.asyncProperty(modules, async (text) => {
      const slow = assertSame(text);
      // Lone surrogates do not survive the UTF-8 file native import() reads.
      if (!slow.ok || LONE_SURROGATE.test(text)) return;
      const native = await importNative(text);
      assert.equal(
        describe({ ...(slow.value as object) }),
        describe(native),
        `native differs on:\n${text}`,
      );
    }),
    { numRuns: 150 },
  );
});

test("hand-picked edge cases read the same with and without the fast path", () => {
  const cases = [
    "export const v = { a: 1, b: 2, a: 3 };",
    "export const v = { a: _g0, a: 1 };",
    "export const v = { a: 1, a: _g0 };",
    'export const v = { "a": _g0, a: 2, b: _g0 };',
    "export const v = { __proto__: null, a: 1 };",
    'export const v = { "__proto__": null, a: 1 };',
    'export const v = { "__proto__": [], a: 1 };',
    'export const v = { ["__proto__"]: 1 };',
    "export const v = [-0, 0, -0.0, 1e400, -1e-400, 0.1, 5e-324];",
    'export const v = ["\\x41", "\\u{1F600}", "\\v", "\\0", "a\\\nb", "\\uD800", "\ud800", "\t"];',
    "export const v = [_g0, _g0, [_g0, { x: _g0 }], { y: [_g2] }];",
    "export const v = [undefined, NaN, Infinity, -Infinity, [undefined], { u: undefined }];",
    "export const v = [1, , 2];",
    "export const v = [1, 2, ];",
    "export const v = [,];",
    "export const v = { a: 1, };",
    "export const v = [_g0.x];",
    "export const v = [_gX];",
    "export const v = [[[[[[[[1]]]]]]]];",
    "export const v = { 0: 1, 1.5: 2 };",
    'export const v = { "1": 1, b: 2, "0": 3 };',
    "export const v = [1] .x;",
    "export const v = {}.x;",
    "export const v = [1]\nexport const w = 2;",
    "export const v = [1]\n;",
    "export const v = Object.assign(new Map(), { a: 1 });",
    "export const v = new Map([[1, { a: [2] }], [_g0, 3]]);",
    "export const v = [1, 2]; _g0.extra = [3, { z: 4 }];",
    "const big = [1, 2, 3]; big[3] = { a: 1 }; export { big as v };",
    "export const v = { a: [1, 2], b: { c: 'x' } };",
    "export const v = { é: 1, a\\u0062: 2 };",
    "export const v = [1/*c*/, 2];",
    "export const v = [1 // c\n, 2];",
    "export const v = [\u00a01];",
    "export const v = [1, 2",
    'export const v = { a: "unterminated',
  ];
  const prelude =
    "const _g0 = { shared: 1 };\nconst _g1 = new Uint8Array([1, 2]);\nconst _g2 = [_g0, -0];\n";
  for (const text of cases) assertSame(prelude + text);
});

test("emitted archives of the bench shapes and of awkward values read the same both ways", async () => {
  const awkward = {
    negZero: -0,
    nan: Number.NaN,
    inf: [Infinity, -Infinity],
    undef: [undefined, { u: undefined }],
    big: 123n,
    date: new Date(0),
    holes: Object.assign(new Array(3), { 0: 1, 2: 3 }),
    nullProto: Object.assign(Object.create(null), { a: 1 }),
    protoKey: JSON.parse('{"__proto__": 1, "b": [2]}'),
    escapes: ["\x00\x1f\u2028\ud800", "é\u4e2d😀", "\\\"'\n\t"],
    nested: { a: [{ b: [{ c: [] }] }] },
    map: new Map([[{ k: 1 }, [1, 2]]]),
  };
  const shared = { s: 1 };
  const withShared = { list: [shared, { ref: shared }, [shared]], shared };
  for (const data of [flat(2000), tree(3, 5), dag(200, 800), awkward, withShared]) {
    const archive = new Archive();
    archive.insert({ data });
    const text = archive.toString();
    const slow = assertSame(text);
    assert.ok(slow.ok, "emitted archives load");
  }
});

// ---- Linear time on hostile texts: each must simply finish (a quadratic fast path would not).

const MiB = 1 << 20;

/** Plain arrays, objects and primitives described without recursion (these nest 5000 deep). */
function flatDescribe(root: unknown): string {
  const out: string[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const v = stack.pop();
    if (Array.isArray(v)) {
      out.push(`[${v.length}`);
      for (let i = v.length - 1; i >= 0; i--) stack.push(v[i]);
    } else if (typeof v === "object" && v !== null) {
      const keys = Object.keys(v);
      out.push(`{${keys.join(",")}`);
      for (let i = keys.length - 1; i >= 0; i--)
        stack.push((v as Record<string, unknown>)[keys[i]!]);
    } else out.push(Object.is(v, -0) ? "-0" : String(JSON.stringify(v)));
  }
  return out.join(" ");
}

const hostile: [string, string][] = [
  [
    "deep arrays failing at the bottom",
    `export const v = ${"[".repeat(900)}${"1,".repeat(2 * MiB)}x`,
  ],
  [
    "deep objects failing at the bottom",
    `export const v = ${"{a:".repeat(900)}[${"1,".repeat(2 * MiB)}x`,
  ],
  [
    "big valid prefix, then failure at each level",
    `export const v = ${"[[1,2,3],".repeat(400)}${"[1,".repeat(400)}${"1,".repeat(MiB)}x`,
  ],
  [
    "many small literals then a failure",
    `export const v = [${"[1, {a: 2}],".repeat(MiB / 12)} new Foo()]`,
  ],
  ["many failing siblings", `export const v = [${"[1, 2, _gX],".repeat(MiB / 12)}]`],
  ["very deep arrays", `export const v = ${"[".repeat(4 * MiB)}`],
  ["deep arrays then a value", `export const v = ${"[".repeat(4990)}1${"]".repeat(4990)};`],
];

for (const [name, text] of hostile) {
  test(`hostile literal finishes the same both ways: ${name}`, () => {
    const brief = (r: ReturnType<typeof interpret>) =>
      r.ok
        ? `ok ${flatDescribe(r.value)}`
        : `error ${(r.error as Error).constructor.name}: ${(r.error as Error).message}`;
    assert.equal(brief(interpret(text, true)), brief(interpret(text, false)));
  });
}
