/**
 * The class protocol: instances rebuilt through public constructors / factories imported from a
 * real package under a node_modules above the archive; functions archived as imports; built-ins by
 * global name; unsupported values named by their path with both ways to fix them.
 */
import assert from "node:assert/strict";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { Archivable, Archive, persist, register, UnsupportedValueError } from "../../src/index.js";
import { assertSameGraph } from "../helpers/same-graph.js";
import { tempDir } from "../helpers/tmp.js";

// A library that knows nothing of persist-archive: it uses the registered symbols only.
const GEOMETRY = `
const MODULE = Symbol.for("persist-archive.module");
const REP = Symbol.for("persist-archive.rep");
export class Point {
  static [MODULE] = "geometry-lib";
  constructor(x, y) { this.x = x; this.y = y; }
  [REP]() { return [this.x, this.y]; }
  norm() { return Math.hypot(this.x, this.y); }
}
export class Polygon {
  static [MODULE] = "geometry-lib";
  constructor(points, label) { this.points = points; this.label = label; }
  [REP]() { return { args: [this.points, this.label] }; }
}
export class Angle {
  static [MODULE] = "geometry-lib";
  static fromDegrees(d) { const a = new Angle(); a.rad = d * Math.PI / 180; a.deg = d; return a; }
  [REP]() { return { factory: "fromDegrees", args: [this.deg] }; }
}
export class Vector3 { constructor(x, y, z) { this.x = x; this.y = y; this.z = z; } }
export class PlainDate {
  static from(s) { const d = new PlainDate(); d.iso = s; return d; }
  toString() { return this.iso; }
}
export function solve(x) { return x * 2; }
export class Run {
  constructor(opts) { Object.assign(this, opts); }
  static fromFields(fields) { return Object.assign(new Run(), fields); }
}
`;

async function setup() {
  const root = await tempDir();
  const pkg = join(root, "node_modules", "geometry-lib");
  await mkdir(pkg, { recursive: true });
  await writeFile(
    join(pkg, "package.json"),
    JSON.stringify({
      name: "geometry-lib",
      type: "module",
      exports: { ".": "./index.js", "./rows.js": "./rows.js" },
    }),
  );
  await writeFile(join(pkg, "index.js"), GEOMETRY);
  const lib = (await import(pathToFileURL(join(pkg, "index.js")).href)) as Record<
    string,
    new (
      ...a: unknown[]
    ) => object
  >;
  return { root, lib };
}

test("instances via [persist.rep] (args, {args}, {factory}), register() with args/factory, functions as imports", async () => {
  const { root, lib } = await setup();
  const { Point, Polygon, Angle, Vector3, PlainDate, solve } = lib as Record<string, any>;
  register(Vector3, { module: "geometry-lib", args: (v: any) => [v.x, v.y, v.z] });
  register(PlainDate, {
    module: "geometry-lib",
    factory: "from",
    args: (d: any) => [d.toString()],
  });
  register(solve, { module: "geometry-lib" });
  const p = new Point(1, 2);
  const value = {
    p,
    poly: new Polygon([p, new Point(3, 4), p], "tri"),
    angle: Angle.fromDegrees(90),
    v: new Vector3(1, 2, 3),
    date: PlainDate.from("2024-01-02"),
    solve,
    sin: Math.sin,
  };
  const archive = new Archive();
  archive.insert({ value });
  const text = archive.toString();
  assert.match(
    text,
    /import \{ Point as _Point, Polygon as _Polygon, Angle as _Angle, Vector3 as _Vector3, PlainDate as _PlainDate, solve as _solve \} from "geometry-lib";/,
  );
  assert.match(text, /new _Point\(1, 2\)/);
  assert.match(text, /_Angle\.fromDegrees\(90\)/);
  assert.match(text, /_PlainDate\.from\("2024-01-02"\)/);
  const { entry } = await archive.save(join(root, "out"), { name: "run1" });
  const mod = (await import(pathToFileURL(entry).href)) as { value: typeof value };
  assertSameGraph(mod.value, value, "value");
  assert.ok(mod.value.p instanceof Point, "same class as the library's");
  assert.equal(mod.value.poly.points[0], mod.value.p, "shared argument stays shared");
  assert.equal(mod.value.solve, solve);
  assert.equal(
    (mod.value.p as any).norm(),
    Math.hypot(1, 2),
    "methods work: it is a real instance",
  );
});

test("Archivable subclass archives its fields as `Run.fromFields({...})` and comes back through the package", async () => {
  const { root, lib } = await setup();
  class Run extends Archivable {
    static [persist.module] = "geometry-lib";
    declare n: number;
    declare mu: number;
    constructor(opts: { n: number; mu: number }) {
      super();
      Object.assign(this, opts);
    }
  }
  const archive = new Archive();
  archive.insert({ run: new Run({ n: 10, mu: 1.2 }) });
  const text = archive.toString();
  assert.match(text, /export const run = _Run\.fromFields\(\{ n: 10, mu: 1\.2 \}\);/);
  const { entry } = await archive.save(join(root, "out"), { name: "r" });
  const mod = (await import(pathToFileURL(entry).href)) as { run: object };
  assert.ok(
    mod.run instanceof (lib.Run as Function),
    "rebuilt through the package's public constructor",
  );
  assert.deepEqual({ ...mod.run }, { n: 10, mu: 1.2 });
});

test("a cycle through constructor arguments is closed at the nearest object", async () => {
  const { root, lib } = await setup();
  const holder: Record<string, unknown> = { name: "holder" };
  holder.point = new (lib.Point as any)(holder, 2);
  const archive = new Archive();
  archive.insert({ holder });
  const { entry } = await archive.save(join(root, "out"), { name: "cyc" });
  const mod = (await import(pathToFileURL(entry).href)) as { holder: any };
  assert.equal(mod.holder.point.x, mod.holder);
  assert.deepEqual(Object.keys(mod.holder), ["name", "point"]);
});

test("a cycle that only passes through constructor arguments is refused with its path", async () => {
  const { lib } = await setup();
  const p = new (lib.Point as any)(0, 0);
  p.x = p; // Point(p, 0): cannot construct p before p exists
  const archive = new Archive();
  // Refused at insert(), where the path is still at hand; nothing is inserted.
  assert.throws(
    () => archive.insert({ p }),
    (err: unknown) => err instanceof UnsupportedValueError && /\bp\b/.test(err.message),
  );
});

const unsupported: [string, () => Record<string, unknown>, RegExp][] = [
  [
    "an unregistered class instance",
    () => ({ results: { runs: [0, 1, 2, { model: new (class Model {})() }] } }),
    /results\.runs\[3\]\.model/,
  ],
  [
    "a closure",
    () => ({
      cfg: {
        f: (() => {
          const k = 1;
          return () => k;
        })(),
      },
    }),
    /cfg\.f/,
  ],
  ["a WeakMap", () => ({ w: [new WeakMap()] }), /w\[0\]/],
  ["a Promise", () => ({ p: { later: Promise.resolve(1) } }), /p\.later/],
  ["a non-registered symbol", () => ({ s: { tag: Symbol("local") } }), /s\.tag/],
  [
    "an Array subclass without the protocol",
    () => ({ rows: { r: new (class Row extends Array {})() } }),
    /rows\.r/,
  ],
  ["a Map subclass without the protocol", () => ({ m: new (class M extends Map {})() }), /\bm\b/],
  ["a Map value", () => ({ m: new Map([["k", new (class K {})()]]) }), /m\.get\("k"\)/],
];

for (const [what, make, path] of unsupported) {
  test(`unsupported: ${what} → UnsupportedValueError naming the path`, () => {
    const archive = new Archive();
    assert.throws(
      () => archive.insert(make()),
      (err: unknown) => {
        assert.ok(err instanceof UnsupportedValueError, String(err));
        assert.match(err.message, path);
        return true;
      },
    );
    assert.deepEqual(archive.names(), [], "nothing was inserted");
  });
}

test("the unsupported-class message names both fixes", () => {
  const archive = new Archive();
  assert.throws(
    () => archive.insert({ x: new (class Model {})() }),
    /persist\.module[\s\S]*register\(/,
  );
});

test("a subclass of a built-in with the protocol is archived through it", async () => {
  const { root } = await setup();
  await writeFile(
    join(root, "node_modules", "geometry-lib", "rows.js"),
    `export class Row extends Array { static [Symbol.for("persist-archive.module")] = "geometry-lib/rows.js"; }`,
  );
  const { Row } = (await import(
    pathToFileURL(join(root, "node_modules", "geometry-lib", "rows.js")).href
  )) as { Row: ArrayConstructor };
  Object.defineProperty(Row.prototype, persist.rep, {
    value(this: unknown[]) {
      return [...this];
    },
  });
  const row = Row.of(1, 2, 3);
  const archive = new Archive();
  archive.insert({ row });
  const { entry } = await archive.save(join(root, "out"), { name: "rows" });
  const mod = (await import(pathToFileURL(entry).href)) as { row: unknown[] };
  assert.ok(mod.row instanceof Row);
  assert.deepEqual([...mod.row], [1, 2, 3]);
  assert.match(await readFile(entry, "utf8"), /new _Row\(1, 2, 3\)/);
});
