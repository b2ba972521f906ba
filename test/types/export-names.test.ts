/**
 * An export may have any archive name, and its declarations still type-check and still mean what
 * they say: names no `declare const` may bind (`eval`, `arguments`, TS1215 in a module) and names
 * of every global the declarations refer to (`Math` in `typeof Math.sin`, `Symbol`, `Float64Array`,
 * `Map`, `globalThis` …) are declared privately and exported by name. A strict consumer compiled
 * with TypeScript 5.9/6.0/7.0 × node16/nodenext/bundler sees each export with its own type, and
 * each value that refers to a global with the global's type; native import() and load() give the
 * inserted values.
 */
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { Archive, load, NDArray } from "../../src/index.js";
import { ERROR_CLASSES } from "../../src/values/classify.js";
import {
  BUILTIN_GLOBAL_NAMES,
  EMITTED_GLOBALS,
  GLOBAL_NAMESPACES,
} from "../../src/values/globals.js";
import { EXPORT_ONLY_NAMES } from "../../src/values/names.js";
import { assertSameGraph } from "../helpers/same-graph.js";
import { tempDir } from "../helpers/tmp.js";
import { compileMatrix } from "./compile.js";

/** Identifiers with a meaning to TypeScript (type keywords, contextual keywords) but valid names. */
const TS_WORDS = [
  "abstract",
  "accessor",
  "any",
  "as",
  "asserts",
  "async",
  "bigint",
  "boolean",
  "constructor",
  "declare",
  "from",
  "get",
  "global",
  "infer",
  "intrinsic",
  "is",
  "keyof",
  "module",
  "namespace",
  "never",
  "number",
  "object",
  "of",
  "out",
  "override",
  "readonly",
  "require",
  "satisfies",
  "set",
  "string",
  "symbol",
  "type",
  "unique",
  "unknown",
  "using",
  "Record",
  "Partial",
  "ReturnType",
];

/** Every name the test exports with a "shadow" value: each one would mislead if it leaked. */
const SHADOW_NAMES = [
  ...new Set([...EXPORT_ONLY_NAMES, ...EMITTED_GLOBALS, "globalThis", ...TS_WORDS]),
].sort();

/** Values whose declared type refers to a global, and the type the consumer expects (its own). */
function uses(): [key: string, value: unknown, type: string][] {
  const out: [string, unknown, string][] = [
    ["map", new Map([[1, "a"]]), "Map<number, string>"],
    ["set", new Set([1]), "Set<number>"],
    ["date", new Date(0), "Date"],
    ["regexp", /a/g, "RegExp"],
    ["buffer", new ArrayBuffer(8), "ArrayBuffer"],
    ["view", new DataView(new ArrayBuffer(4)), "DataView"],
    ["url", new URL("https://example.org/a?b=1"), "URL"],
    ["params", new URLSearchParams("a=1&b=2"), "URLSearchParams"],
    ["nodeBuffer", Buffer.from([1, 2]), "Uint8Array"],
    [
      "ndarray",
      new NDArray(new Float64Array(4), [2, 2]),
      "{ readonly data: Float64Array; readonly shape: readonly number[] }",
    ],
    ["iterator", Symbol.iterator, "symbol"],
    ["boxedNumber", Object(1), "Number"],
    ["boxedString", Object("s"), "String"],
    ["boxedBoolean", Object(true), "Boolean"],
    ["boxedBigInt", Object(1n), "BigInt"],
    ["boxedSymbol", Object(Symbol.iterator), "Symbol"],
  ];
  for (const E of ERROR_CLASSES as (new (
    ...args: unknown[]
  ) => Error)[]) {
    const error = E === AggregateError ? new AggregateError([], "x") : new E("x");
    out.push([`error${E.name}`, error, E.name]);
  }
  const g = globalThis as Record<string, unknown>;
  for (const name of BUILTIN_GLOBAL_NAMES) {
    const ctor = g[name];
    if (typeof ctor !== "function") continue;
    out.push([`global${name}`, ctor, `typeof ${name}`]);
    if (/^(Big)?(Ui|I|Flo)\w*Array$/.test(name)) {
      out.push([`instance${name}`, new (ctor as new (n: number) => unknown)(2), name]);
    }
  }
  // One function of each namespace, archived as `Math.sin`, `Symbol.for`, `JSON.parse` …
  for (const ns of GLOBAL_NAMESPACES) {
    const holder = g[ns] as Record<string, unknown>;
    const key = Object.getOwnPropertyNames(holder)
      .sort()
      .find((k) => k !== "constructor" && typeof holder[k] === "function");
    if (key !== undefined) out.push([`${ns}_${key}`, holder[key], `typeof ${ns}.${key}`]);
  }
  return out;
}

function consumer(entries: [string, unknown, string][]): string {
  const lines = [
    'import * as r from "./out/names/index.mjs";',
    'import { eval as evalExport, arguments as argumentsExport } from "./out/names/index.mjs";',
    'import single from "./out/Symbol.mjs";',
    "",
    "const evalIs: { shadowed: string } = evalExport;",
    "const argumentsIs: { shadowed: string } = argumentsExport;",
    "const singleIs: { shadowed: string } = single;",
  ];
  SHADOW_NAMES.forEach((name, i) => {
    lines.push(`const shadow${i}: { shadowed: string } = r[${JSON.stringify(name)}];`);
  });
  for (const [key, , type] of entries) lines.push(`const ${key}: ${type} = r.uses.${key};`);
  lines.push(
    "// Each of these must be a type error: the imports are typed, and typed right.",
    "// @ts-expect-error the export named Math is not the global Math",
    "const notMath: typeof Math = r.Math;",
    "// @ts-expect-error Math.sin is a function, not a number",
    "const notNumber: number = r.uses.Math_abs;",
    "// @ts-expect-error the export named eval is not a function",
    "evalExport();",
    "const sum: number = r.uses.Math_abs(-1) + r.uses.globalFloat64Array.BYTES_PER_ELEMENT;",
    `export { evalIs, argumentsIs, singleIs, notMath, notNumber, sum };`,
  );
  // Every const is used, so no lint of the consumer can complain; tsc does not, but be explicit.
  lines.push(
    `export const all = [${[...SHADOW_NAMES.map((_, i) => `shadow${i}`), ...entries.map(([k]) => k)].join(", ")}];`,
  );
  return `${lines.join("\n")}\n`;
}

async function saveAll(dir: string) {
  const entries = uses();
  const exported: Record<string, unknown> = {
    uses: Object.fromEntries(entries.map(([key, value]) => [key, value])),
  };
  for (const name of SHADOW_NAMES) exported[name] = { shadowed: name };
  const a = new Archive();
  a.insert(exported);
  await a.save(join(dir, "out"), { name: "names" });
  const single = new Archive({ singleItem: true });
  single.insert({ Symbol: { shadowed: "Symbol" } });
  await single.save(join(dir, "out"), { name: "Symbol", package: false });
  return { entries, exported };
}

test("exports named like reserved words and globals: declarations type-check and mean what they say (TS 5.9/6.0/7.0)", async () => {
  const dir = await tempDir("persist-types-names-");
  const { entries } = await saveAll(dir);
  await writeFile(join(dir, "consumer.mts"), consumer(entries));
  // URL and URLSearchParams are web (and Node) globals, not ECMAScript: the consumer has the DOM lib.
  const failures = await compileMatrix(dir, () => ["consumer.mts"], ["es2022", "dom"]);
  assert.deepEqual(failures, []);
  const dts = await readFile(join(dir, "out/names/index.d.mts"), "utf8");
  // Declared privately and exported by name, not `export declare const eval`.
  assert.match(dts, /^declare const _eval: \{ shadowed: string \};\nexport \{ _eval as eval \};$/m);
  assert.doesNotMatch(dts, /export declare const (eval|arguments|Math|Symbol|globalThis)\b/);
});

test("exports named like reserved words and globals: native import and load() give the inserted values", async () => {
  const dir = await tempDir("persist-types-names-");
  const { exported } = await saveAll(dir);
  const entry = join(dir, "out/names/index.mjs");
  const native = { ...(await import(pathToFileURL(entry).href)) } as Record<string, unknown>;
  const safe = await load(join(dir, "out/names"));
  for (const got of [native, { ...safe }]) {
    assert.deepEqual(Object.keys(got).sort(), Object.keys(exported).sort());
    for (const name of Object.keys(exported)) assertSameGraph(got[name], exported[name]);
  }
  const single = await import(pathToFileURL(join(dir, "out/Symbol.mjs")).href);
  assert.deepEqual(single.default, { shadowed: "Symbol" });
  assert.equal(single.default, single.Symbol);
});
