/**
 * Lazy arrays over S3 (real radosgw): `ds.get(name, { lazy: true })` reads the item's module
 * only, and `LazyArray.rows()` fetches the rows it returns with ranged GETs, never the whole
 * object (counted at the store: bytes the gateway sent back), for npy and npz items; keys outside
 * the item are refused.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { S3DataSet } from "../../src/dataset/s3-dataset.js";
import { DataSet, LazyArray, NDArray } from "../../src/index.js";
import { S3Store } from "../../src/store/s3-store.js";
import { bytesFetched } from "./fetched.js";
import { requireGateway } from "./gateway.js";

for (const dataFormat of ["npy", "npz"] as const) {
  test(`get(name, { lazy: true }) on S3, ${dataFormat}: rows() by ranged GETs, not the whole object`, async (t) => {
    const gw = requireGateway(t);
    if (!gw) return;
    const url = gw.freshUrl(`lazy-${dataFormat}`);
    const ds = await DataSet.open(url, {
      mode: "w",
      s3: gw.options,
      arrayThreshold: 10,
      dataFormat,
    });
    // 2 MiB of rows of 1 KiB, and a typed array beside it.
    const grid = new NDArray(
      Float64Array.from({ length: 2048 * 128 }, (_, i) => i * 0.5),
      [2048, 128],
    );
    const xs = Float64Array.from({ length: 5000 }, (_, i) => -i);
    await ds.set("run", { grid, xs, note: "lazy" });
    const eager = await ds.get<{ grid: NDArray; xs: Float64Array }>("run");
    assert.deepEqual(eager.grid.shape, [2048, 128]);

    let value: { grid: LazyArray; xs: LazyArray; note: string } | undefined;
    const opened = await bytesFetched(async () => {
      value = await ds.get("run", { lazy: true });
    });
    assert.ok(value);
    assert.ok(value.grid instanceof LazyArray, String(value.grid));
    assert.equal(value.grid.loadsAs, "NDArray");
    assert.deepEqual(value.grid.shape, [2048, 128]);
    assert.equal(value.grid.dtype, "<f8");
    assert.equal(value.xs.loadsAs, "Float64Array");
    assert.equal(value.note, "lazy");
    assert.ok(
      opened.bytes < grid.data.byteLength / 8,
      `opening fetched ${opened.bytes} bytes (the data is ${grid.data.byteLength})`,
    );

    let rows: NDArray | undefined;
    const read = await bytesFetched(async () => {
      rows = await value!.grid.rows(1000, 1010);
    });
    t.diagnostic(
      `${dataFormat}: opening ${opened.bytes} bytes in ${opened.gets} GETs; rows(1000, 1010) ${read.bytes} bytes in ${read.gets} GETs, of ${grid.data.byteLength} bytes of data`,
    );
    assert.deepEqual(rows!.shape, [10, 128]);
    assert.deepEqual([...rows!.data], [...grid.data.subarray(1000 * 128, 1010 * 128)]);
    // The rows (10 KiB) and a read-ahead window per header read, never the 2 MiB object.
    assert.ok(
      read.bytes < 10 * 1024 + 4 * (64 << 10),
      `rows(1000, 1010) fetched ${read.bytes} bytes in ${read.gets} GETs`,
    );
    assert.deepEqual([...(await value.xs.rows(10, 13)).data], [...xs.subarray(10, 13)]);
    const whole = await value.grid.read();
    assert.deepEqual(whole.data, grid.data);
  });
}

test("lazy S3 items keep the trust boundary: a module naming data outside its item is refused", async (t) => {
  const gw = requireGateway(t);
  if (!gw) return;
  const url = gw.freshUrl("lazy-hostile");
  const ds = (await DataSet.open(url, {
    mode: "w",
    s3: gw.options,
    arrayThreshold: 10,
  })) as unknown as S3DataSet;
  const big = new NDArray(
    Float64Array.from({ length: 400 }, (_, i) => i),
    [20, 20],
  );
  await ds.set("victim", { big });
  await ds.set("attacker", { big });
  // Rewrite the attacker's module to read the victim's array folder: "../<victim id>/item_arrays".
  const store = new S3Store(url, gw.options);
  const keys = (await store.list("items/")).map((e) => e.key);
  const modules = keys.filter((k) => k.endsWith("/item.mjs"));
  assert.equal(modules.length, 2);
  for (const key of modules) {
    const text = new TextDecoder().decode(await store.get(key));
    const other = modules.find((k) => k !== key)!.split("/")[1];
    await store.put(
      key,
      new TextEncoder().encode(text.replace('"./item_arrays"', `"./../${other}/item_arrays"`)),
    );
  }
  for (const name of ["victim", "attacker"]) {
    await assert.rejects(ds.get(name, { lazy: true }), (e: unknown) => {
      assert.ok(e instanceof Error && /outside|relative path inside/.test(e.message), String(e));
      return true;
    });
  }
});
