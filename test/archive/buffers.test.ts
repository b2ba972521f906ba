/**
 * Buffers and views come back as structured clone would give them: a view keeps its byteOffset and
 * its whole buffer, resizable buffers keep resizable/maxByteLength, length-tracking views keep
 * tracking; views that are out of bounds or on detached buffers, and SharedArrayBuffers, are refused
 * at insert() naming the path. Checked through native import() and load().
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { Archive, load, UnsupportedValueError } from "../../src/index.js";
import { type Rab, resizableBuffer, TYPED_ARRAY_CLASSES } from "../helpers/buffers.js";
import { assertSameGraph } from "../helpers/same-graph.js";
import { tempDir } from "../helpers/tmp.js";

const rab = resizableBuffer;
const TYPED = TYPED_ARRAY_CLASSES;

let n = 0;
async function roundTrips(
  items: Record<string, unknown>,
  arrayThreshold = Number.POSITIVE_INFINITY,
) {
  const archive = new Archive({ arrayThreshold });
  archive.insert(items);
  const dir = await tempDir();
  const { entry } = await archive.save(dir, { name: `b${n++}` });
  const native = (await import(pathToFileURL(entry).href)) as Record<string, unknown>;
  const safe = (await load(entry)) as Record<string, unknown>;
  for (const [name, v] of Object.entries(items)) {
    assertSameGraph(native[name], v, `native ${name}`);
    assertSameGraph(safe[name], v, `load() ${name}`);
  }
  return { native, safe, text: archive.toString() };
}

function sameView(actual: ArrayBufferView, expected: ArrayBufferView, what: string): void {
  assert.equal(actual.constructor.name, expected.constructor.name, `${what}: class`);
  assert.equal(actual.byteOffset, expected.byteOffset, `${what}: byteOffset`);
  assert.equal(actual.byteLength, expected.byteLength, `${what}: byteLength`);
  assert.equal(actual.buffer.byteLength, expected.buffer.byteLength, `${what}: buffer length`);
  const a = actual.buffer as Rab;
  const e = expected.buffer as Rab;
  assert.equal(a.resizable, e.resizable, `${what}: resizable`);
  assert.equal(a.maxByteLength, e.maxByteLength, `${what}: maxByteLength`);
  assert.deepEqual(new Uint8Array(a), new Uint8Array(e), `${what}: buffer bytes`);
}

test("a lone subarray keeps its byteOffset and its buffer's full length, for every view class", async () => {
  const items: Record<string, ArrayBufferView> = {};
  for (const C of TYPED) {
    const full = new C(6);
    for (let i = 0; i < 6; i++)
      (full as unknown as unknown[])[i] = C.name.startsWith("Big") ? BigInt(i * 3 + 1) : i * 3 + 1;
    items[`sub${C.name}`] = full.subarray(1, 3);
    items[`head${C.name}`] = full.subarray(0, 2);
  }
  const bytes = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  items.dvMid = new DataView(bytes.buffer, 2, 3);
  items.dvWhole = new DataView(new Uint8Array([5, 6]).buffer);
  items.odd = new Uint8Array(new Uint8Array([1, 2, 3, 4, 5]).buffer, 1, 3);
  for (const threshold of [Number.POSITIVE_INFINITY, 1]) {
    const { native, safe } = await roundTrips(items, threshold);
    for (const [name, v] of Object.entries(items)) {
      sameView(native[name] as ArrayBufferView, v, `native ${name} (threshold ${threshold})`);
      sameView(safe[name] as ArrayBufferView, v, `load() ${name} (threshold ${threshold})`);
    }
  }
});

test("the issue's subarray reads naturally", async () => {
  const { text } = await roundTrips({ sub: new Uint16Array([10, 20, 30, 40]).subarray(1, 3) });
  assert.match(
    text,
    /export const sub = new Uint16Array\(new Uint16Array\(\[10, 20, 30, 40\]\)\.buffer, 2, 2\);/,
  );
});

test("resizable buffers keep resizable and maxByteLength; views keep length tracking", async () => {
  const buf = rab(16, 1024);
  new Uint8Array(buf).set([1, 2, 3, 0, 0, 9]);
  const items = {
    buf,
    tracking: new Float64Array(buf),
    trackingFrom3: new Uint8Array(buf, 3),
    fixed: new Float64Array(buf, 0, 1),
    fixedWhole: new Uint8Array(buf, 0, 16),
    dvTracking: new DataView(buf),
    dvTrackingFrom2: new DataView(buf, 2),
    dvFixed: new DataView(buf, 1, 2),
    zeros: rab(8, 8),
    empty: rab(0, 32),
    lone: new Uint16Array(rab(6, 60)),
    loneFixed: new Int32Array(rab(8, 16), 4, 1),
  };
  const { native, safe, text } = await roundTrips(items);
  assert.match(
    text,
    /new ArrayBuffer\(8, \{ maxByteLength: 8 \}\)/,
    "all zeros: just the constructor",
  );
  for (const mod of [native, safe]) {
    const b = mod.buf as Rab;
    assert.equal(b.resizable, true);
    assert.equal(b.maxByteLength, 1024);
    assert.deepEqual([...new Uint8Array(b)].slice(0, 7), [1, 2, 3, 0, 0, 9, 0]);
    for (const key of Object.keys(items).filter(
      (k) => k !== "buf" && ArrayBuffer.isView((items as Record<string, unknown>)[k]),
    )) {
      const view = mod[key] as ArrayBufferView;
      sameView(view, (items as unknown as Record<string, ArrayBufferView>)[key]!, key);
    }
    for (const key of [
      "tracking",
      "trackingFrom3",
      "fixed",
      "fixedWhole",
      "dvTracking",
      "dvTrackingFrom2",
      "dvFixed",
    ]) {
      assert.equal((mod[key] as ArrayBufferView).buffer, b, `${key} shares buf`);
    }
    b.resize(40);
    assert.equal((mod.tracking as Float64Array).length, 5, "tracking grows");
    assert.equal((mod.trackingFrom3 as Uint8Array).length, 37);
    assert.equal((mod.dvTracking as DataView).byteLength, 40);
    assert.equal((mod.dvTrackingFrom2 as DataView).byteLength, 38);
    assert.equal((mod.fixed as Float64Array).length, 1, "fixed stays");
    assert.equal((mod.fixedWhole as Uint8Array).length, 16);
    assert.equal((mod.dvFixed as DataView).byteLength, 2);
    const lone = mod.lone as Uint16Array;
    (lone.buffer as Rab).resize(20);
    assert.equal(lone.length, 10, "a lone tracking view tracks");
    const loneFixed = mod.loneFixed as Int32Array;
    assert.equal(loneFixed.byteOffset, 4);
    assert.equal((loneFixed.buffer as Rab).maxByteLength, 16);
  }
});

test("a view at its buffer's maximum length: tracking still found", async () => {
  const full = rab(16, 16);
  const items = {
    t: new Float32Array(full),
    f: new Float32Array(full, 4, 2),
    g: new Uint8Array(full, 0, 4),
  };
  const { native, safe } = await roundTrips(items);
  for (const mod of [native, safe, items]) {
    const t = mod.t as Float32Array;
    (t.buffer as Rab).resize(8);
    assert.deepEqual(
      [t.length, (mod.f as Float32Array).length, (mod.g as Uint8Array).length],
      [2, 0, 4],
      "tracking shrinks; a fixed view past the end goes out of bounds; one inside stays",
    );
  }
});

function refused(items: Record<string, unknown>, pattern: RegExp, path: string): void {
  assert.throws(
    () => new Archive().insert(items),
    (err: unknown) =>
      err instanceof UnsupportedValueError && pattern.test(err.message) && err.valuePath === path,
    path,
  );
}

test("views out of bounds or on detached buffers are refused at insert, naming the path", () => {
  const buf = rab(16, 32);
  const ta = new Float64Array(buf, 8, 1);
  const ta0 = new Uint8Array(buf, 0, 12);
  const dv = new DataView(buf, 4, 8);
  buf.resize(4);
  refused({ x: { ta } }, /out of bounds/, "x.ta");
  refused({ ta0 }, /out of bounds/, "ta0");
  refused({ dv }, /out of bounds/, "dv");
  // Still-in-bounds views on the same buffer are fine.
  new Archive().insert({ ok: new Uint8Array(buf, 0, 4), tracking: new Float32Array(buf) });

  const gone = new ArrayBuffer(8);
  const view = new Uint8Array(gone);
  const dview = new DataView(gone);
  structuredClone(gone, { transfer: [gone] });
  refused({ gone }, /detached ArrayBuffer/, "gone");
  refused({ list: [view] }, /detached ArrayBuffer/, "list[0]");
  refused({ dview }, /detached ArrayBuffer/, "dview");
});

test("SharedArrayBuffers (growable or not) and views on them are refused with how to copy", () => {
  const sab = new SharedArrayBuffer(8);
  refused({ sab }, /SharedArrayBuffer.*new Uint8Array\(sab\)\.slice\(\)/, "sab");
  refused({ v: new Int32Array(sab) }, /SharedArrayBuffer/, "v.buffer");
  const growable = new (
    SharedArrayBuffer as unknown as new (
      n: number,
      o: object,
    ) => SharedArrayBuffer
  )(8, { maxByteLength: 16 });
  refused({ g: new DataView(growable) }, /SharedArrayBuffer/, "g.buffer");
});
