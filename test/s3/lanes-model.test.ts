/**
 * Writer lanes against a model, on the real gateway: several handles of one S3 DataSet (lanes of
 * 3 names, so lanes are used up, sealed and reserved again all the time) take turns at random
 * operations — insert, insertMany, set of new, existing and lane-held names, setInfo, delete,
 * close and reopen, and a housekeeping open that seals every idle lane — and after each step
 * every handle, and a fresh reader, must hold exactly the model's items, values and infos.
 * Seeded: a failure prints its seed (PERSIST_MODEL_SEED=<seed> replays it).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { LaneWriter } from "../../src/dataset/lane-writer.js";
import type { S3DataSet } from "../../src/dataset/s3-dataset.js";
import { DataSet } from "../../src/index.js";
import { type Gateway, requireGateway } from "./gateway.js";

/** mulberry32: a small seeded generator, so that a failing sequence can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Entry {
  value: unknown;
  info: unknown;
}

async function agrees(ds: S3DataSet, model: Map<string, Entry>, where: string): Promise<void> {
  const keys = await ds.keys();
  assert.deepEqual([...keys].sort(), [...model.keys()].sort(), `${where}: keys`);
  assert.equal(new Set(keys).size, keys.length, `${where}: a name listed twice`);
  const infos = await ds.infos();
  for (const [name, entry] of model) {
    assert.deepEqual(infos[name], entry.info, `${where}: info of ${name}`);
    assert.deepEqual(await ds.get(name), entry.value, `${where}: value of ${name}`);
  }
}

/** A fresh DataSet with lanes of 3 names, three writer handles on it, and an empty model. */
async function setUp(gw: Gateway, label: string) {
  const url = gw.freshUrl(label);
  const s3 = { ...gw.options, laneSize: 3 };
  const open = async () =>
    (await DataSet.open(url, { mode: "w", s3, arrayThreshold: 10 })) as unknown as S3DataSet;
  const fresh = async () => (await DataSet.open(url, { s3 })) as unknown as S3DataSet;
  const handles = [await open(), await open(), await open()];
  return { url, s3, open, fresh, handles, model: new Map<string, Entry>() };
}

/** A test that runs `run` with the seed PERSIST_MODEL_SEED gives, else `fixed` and a random one. */
function modelTest(
  title: string,
  fixed: number,
  run: (gw: Gateway, seed: number) => Promise<void>,
): void {
  test(title, async (t) => {
    const gw = requireGateway(t);
    if (!gw) return;
    const given = process.env.PERSIST_MODEL_SEED;
    for (const seed of given ? [Number(given)] : [fixed, Math.floor(Math.random() * 2 ** 31)]) {
      t.diagnostic(`seed ${seed}`);
      await run(gw, seed);
    }
  });
}

async function run(gw: Gateway, seed: number, steps: number): Promise<void> {
  const next = random(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T;
  const { url, s3, open, fresh, handles, model } = await setUp(gw, "lanes-model");
  let made = 0;
  const value = (): unknown => {
    made++;
    return next() < 0.2 ? { k: made, data: new Float64Array(12).fill(made) } : `v${made}`;
  };
  for (let step = 0; step < steps; step++) {
    const h = Math.floor(next() * handles.length);
    const ds = handles[h] as S3DataSet;
    const names = [...model.keys()];
    const roll = next();
    let did: string;
    if (roll < 0.3) {
      const v = value();
      const info = { made };
      const name = await ds.insert(v, { info });
      assert.ok(!model.has(name), `insert gave ${name}, which exists`);
      model.set(name, { value: v, info });
      did = `insert → ${name}`;
    } else if (roll < 0.4) {
      const values = Array.from({ length: 1 + Math.floor(next() * 4) }, value);
      const got = await ds.insertMany(values);
      for (const [i, name] of got.entries()) {
        assert.ok(!model.has(name), `insertMany gave ${name}, which exists`);
        model.set(name, { value: values[i], info: null });
      }
      did = `insertMany → ${got.join(",")}`;
    } else if (roll < 0.55) {
      // An existing name, a name just past the highest (often held by some lane), or a new one.
      const highest = Math.max(-1, ...names.map((n) => Number(/^x_(\d+)$/.exec(n)?.[1] ?? -1)));
      const name =
        names.length > 0 && next() < 0.4
          ? pick(names)
          : next() < 0.6
            ? `x_${highest + 1 + Math.floor(next() * 4)}`
            : `named${made}`;
      const v = value();
      await ds.set(name, v);
      model.set(name, { value: v, info: model.get(name)?.info ?? null });
      did = `set ${name}`;
    } else if (roll < 0.65 && names.length > 0) {
      const name = pick(names);
      const info = { changed: made++ };
      await ds.setInfo(name, info);
      (model.get(name) as Entry).info = info;
      did = `setInfo ${name}`;
    } else if (roll < 0.75 && names.length > 0) {
      const name = pick(names);
      await ds.delete(name);
      model.delete(name);
      did = `delete ${name}`;
    } else if (roll < 0.85) {
      await ds.close();
      handles[h] = await open();
      did = `close handle ${h}`;
    } else if (roll < 0.9) {
      // Housekeeping with no grace: every lane is idle enough to be sealed and ended.
      await DataSet.open(url, { mode: "w", s3: { ...s3, staleUploadGrace: 0 } });
      did = "housekeeping";
    } else {
      did = "nothing";
    }
    const where = `seed ${seed}, step ${step} (${did})`;
    if (step % 10 === 9 || step === steps - 1) {
      await agrees(await fresh(), model, `${where}, fresh reader`);
    }
    if (step === steps - 1) {
      for (const [k, other] of handles.entries())
        await agrees(other, model, `${where}, handle ${k}`);
    }
  }
  for (const ds of handles) await ds.close();
}

modelTest(
  "lanes against a model: random operations of several handles, every view exact",
  1,
  (gw, seed) => run(gw, seed, 50),
);

/**
 * The handles at once: each step runs one operation per handle concurrently. Each handle sets,
 * changes and deletes only names of its own, so that the outcome does not depend on the order,
 * except for what the order is known to be: a name deleted in a step and inserted in the same
 * step was deleted first (an insert never returns a name that exists), and a name some lane holds
 * that one handle sets while another's insert gets it was inserted first (the set's commit
 * follows the lane insert it saw). So the model applies deletes, then inserts, then the rest.
 */
async function runParallel(gw: Gateway, seed: number, steps: number): Promise<void> {
  const next = random(seed);
  const { open, fresh, handles, model } = await setUp(gw, "lanes-model-parallel");
  const own: string[][] = [[], [], []];
  let made = 0;
  for (let step = 0; step < steps; step++) {
    const highest = Math.max(
      -1,
      ...[...model.keys()].map((n) => Number(/^x_(\d+)$/.exec(n)?.[1] ?? -1)),
    );
    const inserted: [string, Entry][] = [];
    const deleted: string[] = [];
    const setNames = new Set<string>();
    const later: (() => void)[] = [];
    const ops = handles.map((ds, h) => {
      const roll = next();
      const v = `v${++made}`;
      const mine = own[h] as string[];
      if (roll < 0.4) {
        const info = { made };
        return ds.insert(v, { info }).then((name) => {
          inserted.push([name, { value: v, info }]);
          mine.push(name);
        });
      }
      if (roll < 0.55) {
        // A name some lane may hold (each handle its own), or one of its own names.
        const name =
          next() < 0.5 || mine.length === 0 ? `x_${highest + 1 + h}` : (mine[0] as string);
        setNames.add(name);
        return ds.set(name, v).then(() =>
          later.push(() => {
            model.set(name, { value: v, info: model.get(name)?.info ?? null });
            if (!mine.includes(name)) mine.push(name);
          }),
        );
      }
      if (roll < 0.7 && mine.length > 0) {
        const name = mine.shift() as string;
        return ds.delete(name).then(() => deleted.push(name));
      }
      if (roll < 0.8 && mine.length > 0) {
        const name = mine[mine.length - 1] as string;
        const info = { changed: made };
        return ds.setInfo(name, info).then(() =>
          later.push(() => {
            (model.get(name) as Entry).info = info;
          }),
        );
      }
      if (roll < 0.9) {
        return ds.close().then(async () => {
          handles[h] = await open();
        });
      }
      // Other writers end every lane as if all were idle, while the handles insert: sealed lanes
      // race with their owners' next inserts. (Not with a stale-upload grace of 0, which would
      // also delete the uploads of inserts in flight: the grace is what protects those.)
      return open().then((other) => (other as unknown as { lane: LaneWriter }).lane.endIdle(-1));
    });
    await Promise.all(ops);
    for (const name of deleted) model.delete(name);
    for (const [name, entry] of inserted) {
      assert.ok(!model.has(name), `seed ${seed}, step ${step}: insert gave ${name}, which exists`);
      model.set(name, entry);
    }
    for (const apply of later) apply();
    // A name one handle set while another's insert got it is left alone from now on.
    for (const [name] of inserted) {
      if (!setNames.has(name)) continue;
      for (const [h, mine] of own.entries()) own[h] = mine.filter((n) => n !== name);
    }
    if (step % 10 === 9 || step === steps - 1) {
      await agrees(await fresh(), model, `seed ${seed}, step ${step}, fresh reader`);
    }
  }
  for (const [k, ds] of handles.entries())
    await agrees(ds, model, `seed ${seed}, end, handle ${k}`);
  for (const ds of handles) await ds.close();
}

modelTest("lanes against a model: the handles at once", 3, (gw, seed) => runParallel(gw, seed, 30));
