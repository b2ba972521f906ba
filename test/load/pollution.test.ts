/**
 * Prototype pollution and mutation of shared objects through imports (issue 8, class 1).
 *
 * The rules under test: static-member lookup on an imported class never reaches a built-in
 * (`Object`, `Reflect`, `Function.prototype`, ...) and never returns one; the interpreter only
 * mutates (assigns to, deletes from, `.set`/`.add`s on, `Object.assign`s into, views the buffer
 * of) objects it created itself during this load — never what imported code returns, imported
 * values, or allow-listed globals.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { ArchiveError, UnsafeArchiveError } from "../../src/errors.js";
import { interpret } from "./helpers.js";

function snapshot(): string {
  return [
    Object.prototype,
    Array.prototype,
    Function.prototype,
    Map.prototype,
    Set.prototype,
    Object,
    Array,
  ]
    .map((p) => Reflect.ownKeys(p).map(String).sort().join(","))
    .join("|");
}
const clean = snapshot();

async function refused(
  text: string,
  modules: Record<string, Record<string, unknown>>,
  pattern?: RegExp,
): Promise<void> {
  const error = await interpret(text, modules).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(error instanceof ArchiveError, `accepted or untyped: ${String(error)}\n${text}`);
  if (pattern) assert.match((error as Error).message, pattern);
  assert.equal(snapshot(), clean, `prototypes changed by:\n${text}`);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
}

class Vec extends Object {}
class Plain {
  x = 0;
}
class WithStatics {
  x = 0;
  static gp = Object.getPrototypeOf;
  static dp = Reflect.defineProperty;
  static ok(x: number): WithStatics {
    return Object.assign(new WithStatics(), { x });
  }
}
class Derived extends WithStatics {}
const shared = new Map<string, number>();
const sharedSet = new Set<number>();
const sharedObject: Record<string, unknown> = { a: 1 };
class Evil {
  name = "evil";
  static proto(): object {
    return Object.prototype;
  }
  static arrayProto(): object {
    return Array.prototype;
  }
  static map(): Map<string, number> {
    return shared;
  }
  static set(): Set<number> {
    return sharedSet;
  }
  static object(): object {
    return sharedObject;
  }
}
class ReturnsProto {
  constructor() {
    // biome-ignore lint/correctness/noConstructorReturn: the attack under test
    return Object.prototype;
  }
}
class ReturnsShared {
  constructor() {
    // biome-ignore lint/correctness/noConstructorReturn: the attack under test
    return sharedObject;
  }
}
const importedBuffer = new ArrayBuffer(8);

const modules = {
  m: {
    Vec,
    Plain,
    WithStatics,
    Derived,
    Evil,
    ReturnsProto,
    ReturnsShared,
    O: Object,
    R: Reflect,
    F: Function.prototype,
    M: Map,
    A: Array,
    P: Proxy,
    obj: sharedObject,
    buf: importedBuffer,
  },
};

test("static lookup on a class extending Object never reaches Object's statics", async () => {
  for (const method of [
    "getPrototypeOf",
    "defineProperty",
    "defineProperties",
    "setPrototypeOf",
    "assign",
    "create",
    "freeze",
    "entries",
    "getOwnPropertyDescriptor",
  ]) {
    await refused(
      `import { Vec as _V } from "m";\nconst _g0 = _V.${method}({});\n_g0.polluted = 1;\nexport const x = _g0;\n`,
      modules,
      /not a static method/,
    );
  }
});

test("Function.prototype and Object.prototype members are not static methods", async () => {
  for (const method of [
    "call",
    "apply",
    "bind",
    "toString",
    "constructor",
    "prototype",
    "__proto__",
    "hasOwnProperty",
    "__defineSetter__",
    "__lookupGetter__",
    "valueOf",
    "isPrototypeOf",
  ]) {
    await refused(
      `import { Plain as _P } from "m";\nexport const x = _P.${method}({});\n`,
      modules,
      /not a static method/,
    );
  }
});

test("built-ins imported through modules expose no statics and construct only as built-ins", async () => {
  await refused(
    'import { O as _O } from "m";\nconst _g0 = _O.getPrototypeOf({});\n_g0.polluted = 1;\n',
    modules,
  );
  await refused('import { R as _R } from "m";\nexport const x = _R.set({}, "a", 1);\n', modules);
  await refused(
    'import { R as _R } from "m";\nexport const x = _R.setPrototypeOf({}, null);\n',
    modules,
  );
  await refused('import { F as _F } from "m";\nexport const x = _F.call({});\n', modules);
  await refused('import { A as _A } from "m";\nexport const x = _A.from([1]);\n', modules);
  await refused(
    'import { O as _O } from "m";\nexport const x = new _O({});\n',
    modules,
    /built-in/,
  );
  await refused(
    'import { P as _P } from "m";\nexport const x = new _P({}, { get: Math.max });\n',
    modules,
    /built-in/,
  );
  // An allow-listed built-in imported under another name keeps the built-in argument rules.
  const ok = await interpret(
    'import { M as _M } from "m";\nexport const x = new _M([[1, 2]]);\n',
    modules,
  );
  assert.deepEqual(ok.x, new Map([[1, 2]]));
  await refused('import { M as _M } from "m";\nexport const x = new _M(_M);\n', modules);
});

test("a class's own static that is a built-in is not callable", async () => {
  await refused(
    'import { WithStatics as _W } from "m";\nconst _g0 = _W.gp({});\n_g0.polluted = 1;\n',
    modules,
  );
  await refused(
    'import { WithStatics as _W } from "m";\nexport const x = _W.dp({}, "a", { value: 1 });\n',
    modules,
  );
  await refused(
    'import { Derived as _D } from "m";\nconst _g0 = _D.gp({});\n_g0.polluted = 1;\n',
    modules,
  );
});

test("factories the class defines (also inherited from a user base class) still work", async () => {
  const a = await interpret(
    'import { WithStatics as _W, Derived as _D } from "m";\nexport const a = _W.ok(1);\nexport const b = _D.ok(2);\n',
    modules,
  );
  assert.ok(a.a instanceof WithStatics);
  assert.equal((a.b as WithStatics).x, 2);
});

test("what imported code returns is never mutated: patches, delete, set/add, Object.assign", async () => {
  const attacks = [
    "const _g0 = _E.proto();\n_g0.polluted = 1;\n",
    'const _g0 = _E.proto();\n_g0["polluted"] = 1;\n',
    "const _g0 = _E.proto();\ndelete _g0.hasOwnProperty;\n",
    "const _g0 = _E.arrayProto();\n_g0.polluted = 1;\n",
    "const _g0 = _E.arrayProto();\n_g0[0] = 1;\n",
    "export const x = Object.assign(_E.proto(), { polluted: 1 });\n",
    "export const x = Object.assign(_E.arrayProto(), { polluted: 1 });\n",
    'const _g0 = _E.map();\n_g0.set("k", 1);\n',
    "const _g0 = _E.set();\n_g0.add(1);\n",
    "const _g0 = _E.object();\n_g0.a = 2;\n",
    "const _g0 = _E.object();\ndelete _g0.a;\n",
    "const _g0 = new _RP();\n_g0.polluted = 1;\n",
    "export const x = Object.assign(new _RP(), { polluted: 1 });\n",
    "const _g0 = new _RS();\n_g0.a = 3;\n",
    // Through a second binding of the same value.
    "const _g0 = _E.proto();\nconst _g1 = _g0;\n_g1.polluted = 1;\n",
  ];
  for (const body of attacks) {
    await refused(
      `import { Evil as _E, ReturnsProto as _RP, ReturnsShared as _RS } from "m";\n${body}`,
      modules,
    );
  }
  assert.equal(shared.size, 0);
  assert.equal(sharedSet.size, 0);
  assert.deepEqual(sharedObject, { a: 1 });
});

test("imported values and allow-listed globals are never mutated", async () => {
  const attacks = [
    'import { obj as _o } from "m";\n_o.a = 2;\n',
    'import { obj as _o } from "m";\nconst _g0 = _o;\n_g0.a = 2;\n',
    'import { obj as _o } from "m";\ndelete _o.a;\n',
    'import { obj as _o } from "m";\nexport const x = Object.assign(_o, { a: 2 });\n',
    'import { Plain as _P } from "m";\nconst _g0 = _P;\n_g0.polluted = 1;\n',
    "const _g0 = Math.max;\n_g0.polluted = 1;\n",
    'const _g0 = Object.keys;\n_g0["polluted"] = 1;\n',
    "export const x = Object.assign(Math.max, { polluted: 1 });\n",
    "const _g0 = Math.max;\ndelete _g0.name;\n",
    // A view writes through to its buffer.
    'import { buf as _b } from "m";\nconst _g0 = new Uint8Array(_b);\n_g0[0] = 7;\n',
    'import { buf as _b } from "m";\nexport const x = new DataView(_b, 0, 8);\n',
    'import { buf as _b } from "m";\nexport const x = new Float64Array(_b, 0, 1);\n',
  ];
  for (const text of attacks) await refused(text, modules);
  assert.deepEqual(sharedObject, { a: 1 });
  assert.deepEqual([...new Uint8Array(importedBuffer)], [0, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal((Math.max as unknown as Record<string, unknown>).polluted, undefined);
});

test("values the archive creates itself remain patchable (cycles, Maps, Sets, views)", async () => {
  const out = await interpret(
    [
      "const _g0 = { a: 1 };",
      "_g0.self = _g0;",
      "const _g1 = new Map();",
      "_g1.set(_g1, _g0);",
      "const _g2 = new Set();",
      "_g2.add(_g2);",
      "const _g3 = new Uint8Array([1, 2, 3, 4]).buffer;",
      "const _g4 = new Uint8Array(_g3, 1, 2);",
      "_g4[0] = 9;",
      "export const x = [_g0, _g1, _g2, _g3, Object.assign(new Error('e'), { code: 1 })];",
    ].join("\n"),
    modules,
  );
  const [a, m, s, b] = out.x as [
    Record<string, unknown>,
    Map<unknown, unknown>,
    Set<unknown>,
    ArrayBuffer,
  ];
  assert.equal(a.self, a);
  assert.equal(m.get(m), a);
  assert.ok(s.has(s));
  assert.deepEqual([...new Uint8Array(b)], [1, 9, 3, 4]);
});

test("the refusals are UnsafeArchiveError or FormatError, with a location", async () => {
  const error = await interpret(
    'import { Vec as _V } from "m";\nconst _g0 = _V.getPrototypeOf({});\n',
    modules,
  ).catch((e: unknown) => e);
  assert.ok(error instanceof UnsafeArchiveError);
  assert.equal(error.line, 2);
});

test("member chains and computed access on imports and call results are refused", async () => {
  const attacks = [
    'export const x = _V["getPrototypeOf"]({});\n',
    "export const x = _V.prototype.constructor;\n",
    "export const x = _V.getPrototypeOf;\n",
    "export const x = _V.constructor.getPrototypeOf({});\n",
    "export const x = _W.ok(1).constructor;\n",
    "export const x = new _V().constructor;\n",
    'export const x = new _V()["constructor"];\n',
    "export const x = _E.proto().constructor;\n",
    "const _g0 = { a: {} };\n_g0.a.polluted = 1;\n",
    'const _g0 = { a: {} };\n_g0["a"]["polluted"] = 1;\n',
    "const _g0 = {};\n_g0.__proto__.polluted = 1;\n",
    "const _g0 = [];\n_g0.constructor.prototype.polluted = 1;\n",
    "export const x = _PO.getPrototypeOf({});\n",
    'export const x = _PO.defineProperty({}, "a", {});\n',
  ];
  for (const body of attacks) {
    await refused(
      `import { Vec as _V, WithStatics as _W, Evil as _E, PO as _PO } from "m";\n${body}`,
      { m: { ...modules.m, PO: new Proxy(Object, {}) } },
    );
  }
});
