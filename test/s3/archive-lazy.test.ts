/**
 * `load("s3://…", { lazy: true })` on the real gateway: only the archive's modules are downloaded,
 * its external arrays are LazyArrays whose rows are fetched with ranged GETs (counted at the
 * store), for packages and the module layout, npy and npz (HDF5 is read whole: h5wasm needs the
 * file); a module naming data outside its archive is refused.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Archive, LazyArray, load, NDArray } from "../../src/index.js";
import { S3Store } from "../../src/store/s3-store.js";
import { bytesFetched } from "./fetched.js";
import { requireGateway } from "./gateway.js";

// 2 MiB of rows of 1 KiB, and a typed array beside it.
const grid = new NDArray(
  Float64Array.from({ length: 2048 * 128 }, (_, i) => i * 0.5),
  [2048, 128],
);
const xs = Float64Array.from({ length: 5000 }, (_, i) => -i);

for (const dataFormat of ["npy", "npz", "hdf5"] as const) {
  for (const layout of ["package", "module"] as const) {
    test(`load("s3://…", { lazy: true }), ${dataFormat}, ${layout} layout: modules downloaded, rows by ranged GETs`, async (t) => {
      const gw = requireGateway(t);
      if (!gw) return;
      const url = gw.freshUrl(`archive-lazy-${dataFormat}`);
      const archive = new Archive({ arrayThreshold: 10 });
      archive.insert({ grid, xs, note: "lazy" });
      const packaged = layout === "package";
      await archive.save(url, { name: "run", dataFormat, package: packaged, s3: gw.options });
      const at = packaged ? `${url}/run` : `${url}/run.mjs`;

      let value: { grid: LazyArray; xs: LazyArray; note: string } | undefined;
      const { bytes: opened } = await bytesFetched(async () => {
        value = (await load(at, { s3: gw.options, lazy: true })) as typeof value;
      });
      assert.ok(value);
      assert.ok(value.grid instanceof LazyArray, String(value.grid));
      assert.deepEqual(value.grid.shape, [2048, 128]);
      assert.equal(value.xs.loadsAs, "Float64Array");
      assert.equal(value.note, "lazy");
      // Named where it is, not after a temp folder that is gone.
      assert.match(value.grid.file, /^\/s3\/test-bucket\//);
      let rows: NDArray | undefined;
      const { bytes: read } = await bytesFetched(async () => {
        rows = await value!.grid.rows(1000, 1010);
      });
      t.diagnostic(`${dataFormat}/${layout}: opening ${opened} bytes, rows(1000, 1010) ${read}`);
      assert.deepEqual([...rows!.data], [...grid.data.subarray(1000 * 128, 1010 * 128)]);
      assert.deepEqual([...(await value.xs.rows(10, 13)).data], [...xs.subarray(10, 13)]);
      assert.deepEqual((await value.grid.read()).data, grid.data);
      if (dataFormat !== "hdf5") {
        const data = grid.data.byteLength;
        assert.ok(opened < data / 8, `opening fetched ${opened} bytes (the data is ${data})`);
        assert.ok(read < 10 * 1024 + 4 * (64 << 10), `rows(1000, 1010) fetched ${read} bytes`);
      }
      // The eager load of the same archive agrees; a trusted lazy load (from a download, since
      // the archive's own code runs) gives LazyArrays too.
      const eager = (await load(at, { s3: gw.options })) as { grid: NDArray };
      assert.deepEqual(eager.grid.data, grid.data);
      const trusted = await load(at, { s3: gw.options, lazy: true, trusted: true });
      assert.ok(trusted.grid instanceof LazyArray, String(trusted.grid));
      // Read after the load returned: from the store, not from the download (gone by now).
      assert.deepEqual(
        [...(await trusted.grid.rows(5, 6)).data],
        [...grid.data.subarray(640, 768)],
      );
    });
  }
}

for (const layout of ["package", "module"] as const) {
  test(`a lazy S3 load refuses a module naming data outside its archive (${layout} layout)`, async (t) => {
    const gw = requireGateway(t);
    if (!gw) return;
    const url = gw.freshUrl("archive-lazy-hostile");
    const archive = new Archive({ arrayThreshold: 10 });
    archive.insert({ grid });
    const packaged = layout === "package";
    for (const name of ["victim", "attacker"]) {
      await archive.save(url, { name, package: packaged, s3: gw.options });
    }
    // What a hostile writer of the attacker's module could do: point it at the victim's arrays,
    // in the same bucket and prefix but not the attacker's archive.
    const store = new S3Store(url, gw.options);
    const key = packaged ? "attacker/index.mjs" : "attacker.mjs";
    const text = new TextDecoder().decode(await store.get(key));
    const arrays = /"\.\/([\w.]*_arrays[\w.]*)"/.exec(text);
    assert.ok(arrays, text.slice(0, 400));
    const folder = (arrays[1] as string).replace("attacker", "victim");
    const elsewhere = packaged ? `"./../victim/${folder}"` : `"./${folder}"`;
    await store.put(key, new TextEncoder().encode(text.replace(arrays[0], elsewhere)));
    const at = packaged ? `${url}/attacker` : `${url}/attacker.mjs`;
    await assert.rejects(load(at, { s3: gw.options, lazy: true }), (e: unknown) => {
      assert.ok(
        e instanceof Error && /missing|outside|relative path inside/.test(e.message),
        String(e),
      );
      return true;
    });
  });
}
