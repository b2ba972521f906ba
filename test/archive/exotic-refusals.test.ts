/**
 * Values that look plain but are not, and user code that throws while a value is read: refused at
 * insert() (and by a DataSet's insert) with UnsupportedValueError naming the value, never archived
 * as something else (`Math` as `{}`, `arguments` as an object) and never a raw error.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { Archive, DataSet, UnsupportedValueError } from "../../src/index.js";
import { tempDir } from "../helpers/tmp.js";

function refused(value: unknown, message: RegExp): UnsupportedValueError {
  const archive = new Archive();
  let caught: unknown;
  try {
    archive.insert({ v: { inner: value } });
  } catch (e) {
    caught = e;
  }
  assert.ok(
    caught instanceof UnsupportedValueError,
    `expected UnsupportedValueError, got ${caught}`,
  );
  assert.match(caught.message, /^Cannot archive v/);
  assert.match(caught.message, message);
  assert.equal(archive.toString().includes("export"), false, "nothing was inserted");
  return caught;
}

test("built-in namespace objects are refused, not archived as {}", async () => {
  const namespaces: [string, unknown][] = [
    ["Math", Math],
    ["JSON", JSON],
    ["Reflect", Reflect],
    ["Atomics", Atomics],
    ["Intl", Intl],
  ];
  for (const [name, value] of namespaces) refused(value, new RegExp(`the built-in ${name} object`));
  refused(await import("../helpers/tmp.js"), /a module namespace object/);
});

test("arguments objects and null-prototype arrays are refused, not archived as plain objects", () => {
  const args = (function (..._rest: unknown[]) {
    // biome-ignore lint/complexity/noArguments: the arguments object is the value under test
    return arguments;
  })(1, 2);
  refused(args, /an arguments object.*Array\.from\(arguments\)/);
  refused(Object.setPrototypeOf([1, 2], null), /an array with a null prototype/);
});

test("an Error whose message is not a string is refused (the constructor would stringify it)", () => {
  refused(Object.assign(new Error("x"), { message: 42 }), /message is a number/);
  const accessor = new Error("x");
  Object.defineProperty(accessor, "message", { get: () => "m" });
  refused(accessor, /message is an accessor/);
});

test("what a getter, a Proxy trap or a [persist.rep]() throws becomes UnsupportedValueError with the cause", async () => {
  const boom = new Error("boom");
  const getter = {
    get x() {
      throw boom;
    },
  };
  assert.equal(refused(getter, /reading its values threw Error: boom/).cause, boom);
  const trap = new Proxy(
    {},
    {
      ownKeys() {
        throw new TypeError("trap");
      },
    },
  );
  refused(trap, /threw TypeError: trap/);
  const thrownNonError = {
    get x() {
      throw Object.assign(Object.create(null), { toString: undefined });
    },
  };
  refused(thrownNonError, /threw a value that cannot be shown/);
  // A DataSet item goes through the same walk when it is saved.
  const dir = await tempDir("persist-exotic-");
  const ds = await DataSet.open(`${dir}/ds`, { mode: "w" });
  await assert.rejects(ds.insert({ getter }), UnsupportedValueError);
  await assert.rejects(ds.insert({ m: Math }), /the built-in Math object/);
  assert.deepEqual(await ds.keys(), []);
  await ds.close();
});
