import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import fc from "fast-check";
import { FormatError, npy } from "../../src/index.js";
import { DTYPES } from "../../src/runtime/persist-runtime.mjs";
import { tempDir } from "../helpers/tmp.js";
import { handMade, sample } from "./samples.js";

const F8x3 = new Uint8Array(24);

function rejects(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(
    () => npy.decode(bytes),
    (e: unknown) => {
      assert.ok(e instanceof FormatError, `expected FormatError, got ${e}`);
      assert.match(e.message, pattern);
      return true;
    },
  );
}

const header = (h: string, data = F8x3, v: 1 | 2 | 3 = 1) => handMade(v, h, data);

test("malformed npy: truncated, bad magic, bad version", () => {
  const good = npy.encode(sample("f8", [3]));
  rejects(good.subarray(0, 5), /truncated/);
  rejects(new Uint8Array(0), /truncated/);
  rejects(good.subarray(0, good.length - 1), /data length mismatch.*truncated/);
  const bad = good.slice();
  bad[1] = 0x58;
  rejects(bad, /bad magic/);
  const v9 = good.slice();
  v9[6] = 9;
  rejects(v9, /version 9\.0/);
  rejects(handMade(2, "{}", new Uint8Array()).subarray(0, 11), /truncated/);
});

test("malformed npy: header length beyond the file, header over 64 KiB", () => {
  const good = npy.encode(sample("f8", [3]));
  const long = good.slice(0, 60);
  new DataView(long.buffer).setUint16(8, 5000, true);
  rejects(long, /header length 5000 goes beyond the end/);
  const huge = handMade(2, "{}", new Uint8Array());
  new DataView(huge.buffer).setUint32(8, 0xfffffff0, true);
  rejects(huge, /larger than 65536 bytes/);
  const big = handMade(
    3,
    `{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }${" ".repeat(70000)}\n`,
    F8x3,
  );
  rejects(big, /larger than 65536/);
});

test("malformed npy: data length does not match shape × itemsize", () => {
  rejects(
    header("{'descr': '<f8', 'fortran_order': False, 'shape': (4,), }"),
    /needs 32 bytes, the file has 24/,
  );
  rejects(
    header("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }"),
    /needs 16 bytes, the file has 24/,
  );
  rejects(header("{'descr': '<c16', 'fortran_order': False, 'shape': (2,), }"), /needs 32 bytes/);
});

test("malformed npy: negative, non-integer and overflowing dimensions", () => {
  rejects(header("{'descr': '<f8', 'fortran_order': False, 'shape': (-3,), }"), /bad dimension -3/);
  rejects(
    header("{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999,), }"),
    /bad dimension/,
  );
  rejects(
    header("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }"),
    /overflows/,
  );
  rejects(header("{'descr': '<f8', 'fortran_order': False, 'shape': ('3',), }"), /bad dimension/);
  rejects(header("{'descr': '<f8', 'fortran_order': False, 'shape': (True,), }"), /bad dimension/);
  rejects(
    header("{'descr': '<f8', 'fortran_order': False, 'shape': 3, }"),
    /shape must be a tuple/,
  );
  rejects(
    header("{'descr': '<f8', 'fortran_order': False, 'shape': (3), }"),
    /shape must be a tuple/,
  );
  rejects(
    header("{'descr': '<f8', 'fortran_order': False, 'shape': [3], }"),
    /shape must be a tuple/,
  );
});

test("malformed npy: unknown or unsupported dtypes", () => {
  for (const d of ["<f16", "|O", "<U3", "|S8", "<M8[ns]", "|V8", "xyz", "|f8"]) {
    rejects(
      header(`{'descr': '${d}', 'fortran_order': False, 'shape': (3,), }`),
      /unknown or unsupported dtype/,
    );
  }
  rejects(
    header("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (3,), }"),
    /structured/,
  );
  rejects(header("{'descr': None, 'fortran_order': False, 'shape': (3,), }"), /unsupported dtype/);
});

test("malformed npy: header dict syntax (parsed strictly, never evaluated)", () => {
  const cases: [string, RegExp][] = [
    ["{'descr': '<f8', 'fortran_order': False, 'shape': (3,), ", /unexpected end|expected/],
    ["{'descr': '<f8' 'fortran_order': False, 'shape': (3,)}", /expected ',' or '}'/],
    ["{'descr': '<f8', 'fortran_order': False, 'shape': (3,)} x", /trailing characters/],
    ["{'descr: '<f8', 'fortran_order': False, 'shape': (3,)}", /bad npy header syntax/],
    ["{descr: '<f8', 'fortran_order': False, 'shape': (3,)}", /unexpected "d"/],
    ["{'descr': '<f8', 'fortran_order': __import__('os'), 'shape': (3,)}", /unexpected "_"/],
    ["{'descr': '<f8', 'fortran_order': 0, 'shape': (3,)}", /True or False/],
    ["{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (3,)}", /duplicate key/],
    ["{'descr': '<f8', 'fortran_order': False, 'shape': (3,), 'x': 1}", /unexpected key "x"/],
    ["{'descr': '<f8', 'fortran_order': False}", /shape must be a tuple/],
    ["['descr']", /not a dict/],
    [`{'descr': '<f8', 'fortran_order': False, 'shape': ${"(".repeat(5000)}}`, /nesting too deep/],
    ["{'descr': '<f\\x38', 'fortran_order': False, 'shape': (3,)}", /unsupported string escape/],
    ["{1: '<f8'}", /dict key is not a string/],
    ["", /unexpected end/],
  ];
  for (const [h, pattern] of cases) rejects(header(h), pattern);
});

test("malformed npy through npy.read names the file", async () => {
  const dir = await tempDir();
  const path = join(dir, "broken.npy");
  await writeFile(path, header("{'descr': '<f8', 'fortran_order': False, 'shape': (-1,), }"));
  await assert.rejects(npy.read(path), (e: unknown) => {
    assert.ok(e instanceof FormatError);
    assert.ok(e.message.startsWith(`${path}: `), e.message);
    return true;
  });
  await assert.rejects(npy.read(path, { rows: [0, 1] }), FormatError);
});

test("random corruption of npy bytes: a FormatError or a valid array, never a crash or hang", () => {
  const good = npy.encode(sample("i4", [4, 5]));
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), {
        maxLength: 8,
      }),
      fc.nat(good.length),
      (edits, cut) => {
        const bytes = good.slice(0, cut);
        for (const [at, v] of edits) if (at < bytes.length) bytes[at] = v;
        try {
          const a = npy.decode(bytes);
          assert.equal(a.data.byteLength, a.size * DTYPES[a.dtype.slice(1)]!.itemsize);
        } catch (e) {
          if (!(e instanceof FormatError)) throw e;
        }
      },
    ),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.string({ maxLength: 120 }), (h) => {
      try {
        npy.decode(header(h));
      } catch (e) {
        if (!(e instanceof FormatError)) throw e;
      }
    }),
    { numRuns: 2000 },
  );
});
