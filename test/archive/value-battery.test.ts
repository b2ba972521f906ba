/**
 * A battery of values in the spirit of the structured-clone, devalue and seroval test suites (not
 * copied from them): each one goes through insert → save → native import() → load(), and both
 * copies must match the original in value, class, identity structure and the -0/NaN/hole details.
 */

import { join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { Archive, load } from "../../src/index.js";
import { assertSameGraph } from "../helpers/same-graph.js";
import { tempDir } from "../helpers/tmp.js";

function battery(): Record<string, unknown> {
  const shared = { s: 1 };
  const self: Record<string, unknown> = { name: "self" };
  self.self = self;
  const selfArray: unknown[] = [1];
  selfArray.push(selfArray);
  const selfMap = new Map<unknown, unknown>();
  selfMap.set(selfMap, selfMap);
  const selfSet = new Set<unknown>();
  selfSet.add(selfSet);
  const nullProto = Object.assign(Object.create(null), { a: 1, __proto__x: 2 });
  const protoKey = JSON.parse('{"__proto__": {"polluted": true}, "b": 2}');
  const sparse: unknown[] = [1];
  sparse[2] = 3; // index 1 stays a hole
  sparse.length = 6;
  const bigSparse: unknown[] = [];
  bigSparse[1000] = "x";
  const error = new RangeError("out", { cause: { why: 1 } });
  const aggregate = new AggregateError([new Error("a"), new TypeError("b")], "many");
  const buffer = new ArrayBuffer(8);
  const u8 = new Uint8Array(buffer, 2, 4);
  const f64 = new Float64Array([0, -0, Number.NaN, Infinity, -Infinity, 1e-310, 2 ** 53]);
  return {
    numbers: [
      0,
      -0,
      Number.NaN,
      Infinity,
      -Infinity,
      Number.MAX_VALUE,
      Number.MIN_VALUE,
      2 ** 53 + 2,
      -1.5e-300,
    ],
    bigints: [0n, -1n, 2n ** 64n, -(2n ** 100n)],
    strings: [
      "",
      "\0",
      "\u2028\u2029",
      "</script>",
      "\ud800",
      "\udc00x",
      "😀",
      "\\",
      '"',
      ["`$", "{x}`"].join(""),
      "a\r\nb",
    ],
    misc: [true, false, null, undefined],
    symbols: [Symbol.iterator, Symbol.asyncIterator, Symbol.for("k"), Symbol.for("")],
    dates: [new Date(0), new Date(-8.64e15), new Date(8.64e15), new Date(Number.NaN)],
    // biome-ignore lint/complexity/useRegexLiterals: a v-flag literal needs target es2024
    regexps: [/a/, /[/]\u{1F600}/gimsuy, /\//d, new RegExp("(?<name>x)\\k<name>", "v")],
    boxed: [
      Object(1),
      Object(-0),
      Object("s"),
      Object(false),
      Object(10n),
      Object(Symbol.for("b")),
    ],
    shared: [shared, shared, { inner: shared }],
    cycles: [self, selfArray, selfMap, selfSet],
    nullProto,
    protoKey,
    sparse,
    bigSparse,
    maps: new Map<unknown, unknown>([
      [1, "a"],
      ["1", "b"],
      [Number.NaN, -0],
      [{ k: 1 }, [1]],
      [undefined, null],
    ]),
    sets: new Set<unknown>([1, "1", Number.NaN, -0, {}, []]),
    errors: [new Error("plain"), error, aggregate, new SyntaxError("")],
    buffers: [
      buffer,
      u8,
      f64,
      new BigInt64Array([-(2n ** 63n)]),
      new Uint8ClampedArray([255]),
      new DataView(buffer, 1, 3),
    ],
    keys: { "": 1, "a b": 2, "0": 3, "01": 4, "-1": 5, constructor: 6, toString: 7, "\u2028": 8 },
    deep: JSON.parse(`${"[".repeat(300)}1${"]".repeat(300)}`),
  };
}

test("a battery of values survives insert → save → native import and load()", async () => {
  const dir = await tempDir("persist-battery-");
  const values = battery();
  const archive = new Archive();
  archive.insert(values);
  await archive.save(dir, { name: "battery" });
  const native = await import(pathToFileURL(join(dir, "battery", "index.mjs")).href);
  const safe = await load(join(dir, "battery"));
  for (const [name, value] of Object.entries(values)) {
    assertSameGraph(native[name], value);
    assertSameGraph(safe[name], value);
  }
});
