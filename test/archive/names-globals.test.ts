/**
 * Every identifier is a valid export name, with any value, in any combination: names of globals the
 * module itself refers to (`Map`, `Symbol`, `Math`), names no `const` may bind (`undefined`,
 * `eval`), and names of the emitter's own bindings (`_g0`, `_arrays`). Native import() of the saved
 * archive and the safe load() must both give back exactly the inserted values.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import fc from "fast-check";
import { Archive, InvalidNameError, load, NDArray } from "../../src/index.js";
import { assertSameGraph } from "../helpers/same-graph.js";
import { tempDir } from "../helpers/tmp.js";

const RESERVED_ISH = [
  "undefined",
  "NaN",
  "Infinity",
  "globalThis",
  "eval",
  "arguments",
  "async",
  "of",
  "get",
  "set",
  "as",
  "from",
  "constructor",
  "prototype",
  "__proto__",
  "toString",
  "valueOf",
  "hasOwnProperty",
  "default_",
  "_g0",
  "_g1",
  "_arrays",
  "_loadArrays",
  "_NDArray",
  "_Map",
  "_Symbol",
  "_undefined",
  "_Map_1",
  "$",
  "_",
];

// Every global of this realm that is an identifier (then is tested on its own: a function there
// makes the module a thenable).
const GLOBAL_NAMES = Object.getOwnPropertyNames(globalThis).filter(
  (n) => /^[A-Za-z_$][\w$]*$/.test(n) && n !== "then",
);
const NAMES = [...new Set([...GLOBAL_NAMES, ...RESERVED_ISH])].sort();

const leaf = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.string(),
  fc.boolean(),
  fc.constant(undefined),
  fc.constant(null),
  fc.bigInt(),
  fc.constantFrom(
    Symbol.iterator,
    Symbol.for("k"),
    Math.sin,
    JSON.parse,
    Object.assign,
    Symbol.for,
    Array.isArray,
    Number.isInteger,
    parseFloat,
  ),
);

const value = fc.letrec((tie) => ({
  any: fc.oneof({ depthSize: "small" }, leaf, tie("obj"), tie("arr"), tie("builtin")),
  obj: fc.dictionary(fc.constantFrom(...NAMES), tie("any"), { maxKeys: 4 }),
  arr: fc.array(tie("any"), { maxLength: 4 }),
  builtin: fc.oneof(
    fc.array(fc.tuple(tie("any"), tie("any")), { maxLength: 3 }).map((e) => new Map(e)),
    fc.array(tie("any"), { maxLength: 3 }).map((e) => new Set(e)),
    fc.integer({ min: -1e12, max: 1e12 }).map((t) => new Date(t)),
    fc.constantFrom("a+", "x", "[0-9]").map((s) => new RegExp(s, "g")),
    fc.string().map((m) => new TypeError(m)),
    fc.array(fc.double(), { maxLength: 4 }).map((a) => new Float64Array(a)),
    fc
      .array(fc.integer({ min: 0, max: 255 }), { maxLength: 4 })
      .map((a) => new Uint8Array(a).buffer),
    fc.integer().map((n) => Object(n) as object),
    fc.constant(Object(Symbol.iterator) as object),
    fc.constant(new NDArray(new Float64Array([1, 2, 3, 4]), [2, 2])),
  ),
}));

let dir: string | undefined;
let counter = 0;

async function roundTrip(items: Record<string, unknown>, singleItem = false) {
  dir ??= await tempDir();
  const archive = new Archive({ allowedNames: NAMES.filter((n) => n.startsWith("_")), singleItem });
  archive.insert(items);
  const { entry } = await archive.save(dir, { name: `n${counter++}`, package: counter % 2 === 0 });
  const native = (await import(pathToFileURL(entry).href)) as Record<string, unknown>;
  const safe = (await load(entry)) as Record<string, unknown>;
  for (const [name, v] of Object.entries(items)) {
    assert.ok(Object.hasOwn(native, name), `native import has ${name}`);
    assertSameGraph(native[name], v, `native ${name}`);
    assertSameGraph(safe[name], v, `load() ${name}`);
  }
  if (singleItem) {
    const [[name, v]] = Object.entries(items) as [[string, unknown]];
    assertSameGraph(native.default, v, `native default (${name})`);
  }
  assert.deepEqual(Object.keys(safe).sort(), Object.keys(native).sort(), "same exports");
}

test("the examples: names of globals the archive uses, with values that use those globals", async () => {
  await roundTrip({
    Map: new Map([[1, 2]]),
    Symbol: { iterator: "x" },
    it: Symbol.iterator,
    Math: { sin: 42 },
    sin: Math.sin,
    JSON: { parse: 1 },
    parse: JSON.parse,
    Object: { assign: 1 },
    boxed: Object(Symbol.for("k")),
    Array: [1, 2],
    Float64Array: new Float64Array([1, 2]),
    Uint8Array: new Uint8Array(new ArrayBuffer(8), 2, 3),
    undefined: 5,
    NaN: Number.NaN,
    Infinity: [undefined, Number.NEGATIVE_INFINITY],
    eval: { code: "no" },
    arguments: [1],
    globalThis: { a: 1 },
    Date: new Date(0),
    RegExp: /a/g,
    Error: new RangeError("r"),
    Set: new Set([1]),
  });
});

test("emitter's own binding names as exports: _g0, _arrays, _loadArrays, _NDArray, _Map", async () => {
  const shared = { s: 1 };
  await roundTrip({
    _g0: [shared, shared],
    _g1: shared,
    _arrays: new NDArray(new Float64Array([1, 2]), [2]),
    _loadArrays: 3,
    _NDArray: { x: shared },
    Map: new Map([[shared, shared]]),
    _Map: 4,
  });
});

test("single-item archives named like a global: default export and named export", async () => {
  await roundTrip({ Map: new Map([["k", { self: null }]]) }, true);
  await roundTrip({ undefined: [1, 2] }, true);
});

test("a cycle through an export named like a global is closed through its private binding", async () => {
  const Symbol_: Record<string, unknown> = { iterator: "x" };
  Symbol_.self = Symbol_;
  await roundTrip({ Symbol: Symbol_, it: globalThis.Symbol.iterator });
});

test("reserved words are still refused as names", () => {
  for (const name of ["if", "class", "let", "static", "yield", "await", "enum", "import"]) {
    assert.throws(() => new Archive().insert({ [name]: 1 }), InvalidNameError, name);
  }
});

test("property: any identifiers (every global, reserved-ish, internal) with any values", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.uniqueArray(fc.constantFrom(...NAMES), { minLength: 1, maxLength: 6 }),
      fc.array(value.any, { minLength: 6, maxLength: 6 }),
      fc.boolean(),
      async (names, values, share) => {
        const items: Record<string, unknown> = {};
        names.forEach((n, i) => {
          // Sometimes the same object under two names, or one value inside another. Defined, not
          // assigned: `items.__proto__ = v` would set the object's prototype, not a name.
          Object.defineProperty(items, n, {
            value:
              share && i > 0 && i % 2 === 0 ? { prev: values[i - 1], v: values[i] } : values[i],
            enumerable: true,
            writable: true,
            configurable: true,
          });
        });
        await roundTrip(items);
      },
    ),
    { numRuns: 60 },
  );
});
