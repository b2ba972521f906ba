/**
 * load(path, { lazy: true }), safe and trusted: every external array (npy, npz, HDF5) comes back
 * as a LazyArray known from its header, in every form the emitter writes (NDArray, typed array,
 * ArrayBuffer and the views on it, NDArrays over such views), `loadsAs` saying what the eager
 * load gives there; data is read only by read()/rows(), with the same checks as a full load.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdir, readFile, rename, rm, symlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { Archive } from "../../src/archive.js";
import { FormatError, LazyArray, LazyLoadError, load, NDArray, npy } from "../../src/index.js";
import { typedArrayName } from "../../src/runtime/persist-runtime.mjs";
import { cOrderHex, sample } from "../arrays/samples.js";
import { craftZip } from "../arrays/zip-craft.js";
import { tempDir } from "../helpers/tmp.js";

function values(): Record<string, unknown> {
  const shared = Float64Array.from({ length: 50 }, (_, i) => i * 1.5 - 3);
  const raw = Uint8Array.from({ length: 64 }, (_, i) => (i * 37) & 255).buffer;
  return {
    shared,
    again: shared,
    view: new Float64Array(shared.buffer, 80, 20),
    dv: new DataView(shared.buffer, 16, 64),
    ndView: new NDArray(new Float64Array(shared.buffer, 0, 12), [3, 4]),
    lone: Int32Array.from({ length: 40 }, (_, i) => i * 1001 - 7),
    clamped: Uint8ClampedArray.from({ length: 40 }, (_, i) => i * 7),
    nd: new NDArray(
      Float32Array.from({ length: 24 }, (_, i) => i / 3),
      [4, 6],
    ),
    ndF: sample("i2", [5, 3], "F"),
    cplx: sample("c16", [3, 2]),
    raw,
    nested: { deep: [sample("u8", [6, 2])] },
  };
}

async function saved(format: "npy" | "npz" | "hdf5"): Promise<string> {
  const dir = await tempDir();
  const archive = new Archive({ arrayThreshold: 4 });
  archive.insert(values());
  return (await archive.save(dir, { name: "run1", dataFormat: format })).entry;
}

function loadsAsOf(value: unknown): string {
  if (value instanceof NDArray) return "NDArray";
  if (value instanceof ArrayBuffer) return "ArrayBuffer";
  if (value instanceof DataView) return "DataView";
  return typedArrayName(value) as string;
}

function hex(bytes: ArrayBufferView | ArrayBuffer): string {
  return bytes instanceof ArrayBuffer
    ? Buffer.from(bytes).toString("hex")
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

/** The eager value's bytes of rows [lo, hi) (elements for 1-D forms). */
function eagerRowsHex(value: unknown, lo: number, hi: number): string {
  if (value instanceof NDArray) {
    const c = cOrderHex(value);
    const per = c.length / (value.shape[0] as number);
    return c.slice(lo * per, hi * per);
  }
  if (value instanceof ArrayBuffer) return hex(value.slice(lo, hi));
  const v = value as ArrayBufferView & { BYTES_PER_ELEMENT?: number };
  const e = v.BYTES_PER_ELEMENT ?? 1;
  return hex(new Uint8Array(v.buffer, v.byteOffset + lo * e, (hi - lo) * e));
}

async function checkAgainstEager(lazy: unknown, eager: unknown, what: string): Promise<void> {
  assert.ok(lazy instanceof LazyArray, `${what}: a LazyArray, got ${String(lazy)}`);
  assert.equal(lazy.loadsAs, loadsAsOf(eager), `${what}: loadsAs`);
  const whole = await lazy.read();
  if (eager instanceof NDArray) {
    assert.equal(lazy.dtype, eager.dtype, what);
    assert.deepEqual(lazy.shape, eager.shape, what);
    assert.equal(lazy.order, eager.order, what);
    assert.equal(cOrderHex(whole), cOrderHex(eager), `${what}: read()`);
  } else {
    const bytes = eager instanceof ArrayBuffer ? eager : (eager as ArrayBufferView);
    const n =
      eager instanceof ArrayBuffer || eager instanceof DataView
        ? (bytes as ArrayBuffer).byteLength
        : (eager as Uint8Array).length;
    assert.deepEqual(lazy.shape, [n], what);
    assert.equal(hex(whole.data), hex(bytes), `${what}: read()`);
    assert.equal(typedArrayName(whole.data), typedArrayName(eager) ?? "Uint8Array", what);
  }
  const rows = await lazy.rows(1, 3);
  assert.equal(cOrderHex(rows), eagerRowsHex(eager, 1, 3), `${what}: rows(1, 3)`);
}

for (const format of ["npy", "npz", "hdf5"] as const) {
  for (const trusted of [false, true]) {
    const mode = trusted ? "trusted" : "safe";
    test(`load(lazy) ${mode}, ${format}: every external array a LazyArray matching the eager load`, async () => {
      const entry = await saved(format);
      // (A trusted eager load of HDF5 needs h5wasm beside the archive; the safe one is the same.)
      const eager = await load<Record<string, unknown>>(dirname(entry), {
        trusted: trusted && format !== "hdf5",
      });
      const lazy = await load<Record<string, unknown>>(dirname(entry), { trusted, lazy: true });
      for (const key of Object.keys(values())) {
        if (key === "nested") continue;
        await checkAgainstEager(lazy[key], eager[key], `${mode} ${format} ${key}`);
      }
      const deep = (lazy.nested as { deep: unknown[] }).deep[0];
      await checkAgainstEager(deep, (eager.nested as { deep: unknown[] }).deep[0], "nested");
      assert.equal(lazy.again, lazy.shared, "one buffer stays one value");
      assert.equal(String(lazy.view), String(lazy.view));
    });
  }
}

test("load(lazy) reads headers only: corrupt data loads lazily; read() then checks it (npz CRC)", async () => {
  const dir = await tempDir();
  const a = new NDArray(
    Float64Array.from({ length: 4000 }, (_, i) => Math.sin(i)),
    [2000, 2],
  );
  const zip = craftZip([{ name: "array_0.npy", data: npy.encode(a), deflate: true }]);
  // Break the deflate stream near its end: an eager load fails, a lazy one never reads it.
  const cdAt = Buffer.from(zip).lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
  for (let i = cdAt - 60; i < cdAt - 20; i++) zip[i] = 0xa5;
  await writeFile(join(dir, "_arrays.npz"), zip);
  const entry = join(dir, "index.mjs");
  await writeFile(
    entry,
    `import { loadArrays as _loadArrays } from "./_persist_runtime.v1.mjs";\n` +
      `const _arrays = await _loadArrays(import.meta.url, "./_arrays.npz", "npz", ["array_0"]);\n` +
      "export const a = _arrays.array_0;\n",
  );
  await writeFile(
    join(dir, "_persist_runtime.v1.mjs"),
    await readFile(new URL("../../src/runtime/persist-runtime.mjs", import.meta.url)),
  );
  for (const trusted of [false, true]) {
    await assert.rejects(load(entry, { trusted }), /CRC|deflate|inflate|invalid|incorrect/i);
    const { a: lazy } = await load<{ a: LazyArray }>(entry, { trusted, lazy: true });
    assert.deepEqual(lazy.shape, [2000, 2]);
    assert.deepEqual([...(await lazy.rows(3, 5)).data], [...a.data.subarray(6, 10)]);
    await assert.rejects(lazy.read(), FormatError);
  }
});

/** A hand-written module over one |u1 file of 64 bytes, with `use` as its last statement. */
async function handWritten(use: string): Promise<string> {
  const dir = await tempDir();
  await mkdir(join(dir, "_arrays"));
  await npy.write(join(dir, "_arrays", "array_0.npy"), sample("u1", [64]));
  await writeFile(
    join(dir, "_persist_runtime.v1.mjs"),
    await readFile(new URL("../../src/runtime/persist-runtime.mjs", import.meta.url)),
  );
  const entry = join(dir, "index.mjs");
  await writeFile(
    entry,
    `import { loadArrays as _loadArrays } from "./_persist_runtime.v1.mjs";\n` +
      `const _arrays = await _loadArrays(import.meta.url, "./_arrays", "npy", ["array_0"]);\n${use}\n`,
  );
  return entry;
}

test("load(lazy): uses that need the data are LazyLoadError in both modes (load without lazy)", async () => {
  // A converting copy: eager reads every byte to make floats of them.
  for (const trusted of [false, true]) {
    const entry = await handWritten("export const x = new Float64Array(_arrays.array_0.data);");
    await assert.rejects(
      load(entry, { trusted }).then(() => load(entry, { trusted, lazy: true })),
      (e: unknown) => {
        assert.ok(e instanceof LazyLoadError, String(e));
        assert.match(String(e), /without \{ lazy: true \}/);
        return true;
      },
    );
  }
  // An imported factory handed a stand-in: it needed the data.
  const factory = await handWritten(
    'import { NodeBuffer as _B } from "./_persist_runtime.v1.mjs";\n' +
      "export const x = _B.from(_arrays.array_0.data);",
  );
  await load(factory);
  await assert.rejects(load(factory, { lazy: true }), LazyLoadError);
  // Views keep the bytes' meaning: one past the end is a FormatError like the eager RangeError.
  const past = await handWritten(
    "export const x = new Float64Array(new Uint8Array(_arrays.array_0.data).buffer, 8, 8);",
  );
  await assert.rejects(load(past), FormatError);
  for (const trusted of [false, true]) {
    await assert.rejects(load(past, { trusted, lazy: true }), /run past/);
  }
  // What works lazily: an exact copy and a view.
  const ok = await handWritten(
    "const _g = new Uint8Array(_arrays.array_0.data).buffer;\n" +
      "export const c = new Uint8ClampedArray(_arrays.array_0.data);\n" +
      "export const v = new Float32Array(_g, 8, 4);\nexport const b = _g;",
  );
  for (const trusted of [false, true]) {
    const eager = await load<Record<string, unknown>>(ok, { trusted });
    const lazy = await load<Record<string, unknown>>(ok, { trusted, lazy: true });
    for (const k of ["c", "v", "b"]) await checkAgainstEager(lazy[k], eager[k], `${k} ${trusted}`);
  }
});

test("load(lazy) keeps the trust boundary: links out, FIFOs and expansion bounds fail like eager loads", async () => {
  // A symlinked data file pointing outside the archive.
  const entry = await saved("npy");
  const outside = await tempDir();
  await npy.write(join(outside, "x.npy"), sample("u1", [400]));
  const file = join(dirname(entry), "_arrays", "array_0.npy");
  await rename(file, `${file}.was`);
  await symlink(join(outside, "x.npy"), file);
  for (const trusted of [false, true]) {
    await assert.rejects(load(entry, { trusted, lazy: true }), /outside/);
  }
  // A FIFO in place of the data file: refused at once, never opened for reading.
  await rm(file);
  execFileSync("mkfifo", [file]);
  for (const trusted of [false, true]) {
    await assert.rejects(load(entry, { trusted, lazy: true }), /regular file|not a file|FIFO/i);
  }
  // An npz entry declaring far more data than its deflated bytes may expand to.
  const dir = await tempDir();
  const big = npy.encode(new NDArray(new Float64Array(1 << 17), [1 << 17]));
  await writeFile(
    join(dir, "_arrays.npz"),
    craftZip([{ name: "array_0.npy", data: big, deflate: true }]),
  );
  await writeFile(
    join(dir, "index.mjs"),
    `import { loadArrays as _loadArrays } from "./_persist_runtime.v1.mjs";\n` +
      `const _arrays = await _loadArrays(import.meta.url, "./_arrays.npz", "npz", ["array_0"]);\n` +
      "export const a = _arrays.array_0;\n",
  );
  await writeFile(
    join(dir, "_persist_runtime.v1.mjs"),
    await readFile(new URL("../../src/runtime/persist-runtime.mjs", import.meta.url)),
  );
  for (const trusted of [false, true]) {
    await assert.rejects(
      load(join(dir, "index.mjs"), { trusted, lazy: true, maxExpansion: 2 }),
      /expan|bound|memory/i,
    );
  }
});
