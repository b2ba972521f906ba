/**
 * Saved archives import in a browser from a plain static HTTP server: npy, npz stored and
 * deflated, a module-layout archive, a DataSet's index and items. Debian's Chromium (driven by
 * puppeteer-core) imports them with `import()` in a page and describes every export down to the
 * bytes; Node imports the same files from disk, and the two must agree — except Buffers, which
 * a browser gets as Uint8Arrays (as the README says). Hostile data files are refused in the
 * browser exactly as in Node: CRC, expansion bound, confinement to the archive folder, missing
 * files; and a redirect out of the folder. HDF5 needs h5wasm, which a page provides with an
 * import map; without one the import fails with an error that says so. Deno, which imports
 * modules from http URLs too, takes the same fetch path (with node:zlib) and must see Node's
 * values exactly.
 *
 * CI sets PERSIST_REQUIRE_CHROMIUM=1: then a missing Chromium fails these tests instead of
 * skipping them.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, mkdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import type { Browser } from "puppeteer-core";
import yazl from "yazl";
import { Archive, DataSet, NDArray } from "../../src/index.js";
import { tempDir } from "../helpers/tmp.js";
import { chromiumMissing, launchBrowser } from "../view/browser.js";
import { type StaticServer, serveStatic } from "./static-server.js";

const H5WASM_PACKAGE = fileURLToPath(new URL("../../node_modules/h5wasm", import.meta.url));
const H5WASM_ESM = join(H5WASM_PACKAGE, "dist/esm");
const DENO = fileURLToPath(new URL("../../node_modules/.bin/deno", import.meta.url));
const execFileAsync = promisify(execFile);
const SHOW_EXPORTS = fileURLToPath(new URL("./show-exports.mjs", import.meta.url));

/** Archives whose values must come out the same in the browser as in Node. */
const GOOD = [
  "./npy/run1/index.mjs",
  "./npz/run1/index.mjs",
  "./npz-deflated/run1/index.mjs",
  "./run2.mjs",
  "./ds/index.mjs",
  "./ds/x_0.mjs",
  "./ds/x_1.mjs",
];

/** Hostile archives, and what both runtimes must refuse them with. */
const BAD: Record<string, RegExp> = {
  "./crc/run1/index.mjs": /fails its CRC-32 check/,
  "./bomb/run1/index.mjs": /declares \d+ bytes from \d+: more than deflate can produce/,
  "./outside/run1/index.mjs": /outside the archive's folder/,
  "./missing/run1/index.mjs": /array "array_0".*missing|missing.*array_0|is missing/,
};

/** The static server's redirect rules: a data file that leads out of its archive's folder. */
const REDIRECTS = { "/redirect/run1/_arrays.npz": "/npz/run1/_arrays.npz" };

function values() {
  return {
    results: {
      mu: 0.5,
      label: "é ✓",
      big: new Float64Array(40).map((_, i) => i / 4 - 3),
      f32: new Float32Array(16).map((_, i) => Math.sqrt(i)),
      counts: new BigInt64Array(16).map((_, i) => BigInt(i) * -(2n ** 40n)),
      clamped: new Uint8ClampedArray(20).fill(255),
      buf: Buffer.from("some bytes, a Buffer in Node"),
    },
    grid: new NDArray(
      new Int32Array(24).map((_, i) => i * 3 - 7),
      [2, 3, 4],
      { order: "F" },
    ),
    waves: new NDArray(
      new Float64Array(24).map((_, i) => Math.sin(i)),
      [3, 4],
      { dtype: "<c16" },
    ),
    // Compressible and large enough for many deflate output chunks.
    long: new Float64Array(40_000).map((_, i) => i % 7),
  };
}

async function saveArchive(dir: string, options: Parameters<Archive["save"]>[1]) {
  const archive = new Archive({ arrayThreshold: 10 });
  archive.insert(values());
  await archive.save(dir, options);
}

/** An .npz of the given .npy files with every entry deflated (numpy's savez_compressed shape). */
async function deflatedNpz(files: [string, string][], to: string): Promise<void> {
  const zip = new yazl.ZipFile();
  for (const [name, path] of files) {
    zip.addBuffer(await readFile(path), name, { compress: true, mtime: new Date(1980, 0, 1) });
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  await writeFile(to, Buffer.concat(chunks));
}

/** Makes the first entry of a zip declare far more bytes than its deflate data can produce. */
async function inflateSizeLie(path: string): Promise<void> {
  const zip = await readFile(path);
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const cd = zip.readUInt32LE(eocd + 16);
  assert.equal(zip.readUInt32LE(cd), 0x02014b50);
  assert.equal(zip.readUInt16LE(cd + 10), 8, "the entry is deflated");
  const lie = zip.readUInt32LE(cd + 20) * 2000 + 4096;
  zip.writeUInt32LE(lie, cd + 24);
  const local = zip.readUInt32LE(cd + 42);
  if (!(zip.readUInt16LE(local + 6) & 8)) zip.writeUInt32LE(lie, local + 22);
  await writeFile(path, zip);
}

/** The folder the static server serves: archives, the describing module, h5wasm, two pages. */
async function site(): Promise<string> {
  const dir = await tempDir("persist-browser-");
  await saveArchive(join(dir, "npy"), { name: "run1", dataFormat: "npy" });
  await saveArchive(join(dir, "npz"), { name: "run1", dataFormat: "npz" });
  await saveArchive(join(dir, "h5"), { name: "run1", dataFormat: "hdf5" });
  await saveArchive(dir, { name: "run2", package: false });
  const ds = await DataSet.open(join(dir, "ds"), { mode: "w", arrayThreshold: 10 });
  await ds.insert({ n: 0 }, { info: { mu: 0 } });
  await ds.insert(values(), { info: { mu: 1, tags: ["a", "ü"] } });
  await ds.close();

  // The same arrays, every npz entry deflated.
  await cp(join(dir, "npz"), join(dir, "npz-deflated"), { recursive: true });
  const npyFiles = Object.keys(values()).length + 5; // upper bound; missing names are skipped
  const entries: [string, string][] = [];
  for (let i = 0; i < npyFiles; i++) {
    const path = join(dir, "npy/run1/_arrays", `array_${i}.npy`);
    if (await stat(path).catch(() => undefined)) entries.push([`array_${i}.npy`, path]);
  }
  const deflated = join(dir, "npz-deflated/run1/_arrays.npz");
  await rm(deflated);
  await deflatedNpz(entries, deflated);
  assert.ok(
    (await stat(deflated)).size < (await stat(join(dir, "npz/run1/_arrays.npz"))).size / 4,
    "the deflated npz really is compressed",
  );

  // Hostile copies.
  await cp(join(dir, "npz"), join(dir, "crc"), { recursive: true });
  const crc = join(dir, "crc/run1/_arrays.npz");
  const bytes = await readFile(crc);
  const middle = bytes.length >> 1; // inside the data of the large array
  bytes[middle] = (bytes[middle] as number) ^ 0x40;
  await writeFile(crc, bytes);

  await cp(join(dir, "npz-deflated"), join(dir, "bomb"), { recursive: true });
  await inflateSizeLie(join(dir, "bomb/run1/_arrays.npz"));

  await cp(join(dir, "npz"), join(dir, "outside"), { recursive: true });
  const outside = join(dir, "outside/run1/index.mjs");
  const text = await readFile(outside, "utf8");
  assert.ok(text.includes('"./_arrays.npz"'));
  await writeFile(outside, text.replace('"./_arrays.npz"', '"../../npz/run1/_arrays.npz"'));

  // Its data file is a redirect to another archive's (see REDIRECTS).
  await cp(join(dir, "npz"), join(dir, "redirect"), { recursive: true });
  await rm(join(dir, "redirect/run1/_arrays.npz"));

  // A DataSet served without its journal (a 404 must be named, not parsed as a journal).
  await cp(join(dir, "ds"), join(dir, "ds-nojournal"), { recursive: true });
  await rm(join(dir, "ds-nojournal/index.journal"));

  await cp(join(dir, "npy"), join(dir, "missing"), { recursive: true });
  await rm(join(dir, "missing/run1/_arrays/array_0.npy"));

  await cp(SHOW_EXPORTS, join(dir, "show-exports.mjs"));
  await cp(H5WASM_ESM, join(dir, "h5wasm"), { recursive: true });
  // Node finds h5wasm beside the archives, as a user would install it there.
  await mkdir(join(dir, "node_modules"));
  await symlink(H5WASM_PACKAGE, join(dir, "node_modules/h5wasm"), "dir");
  await writeFile(join(dir, "blank.html"), "<!doctype html><title>archives</title>\n");
  await writeFile(
    join(dir, "h5.html"),
    '<!doctype html><title>hdf5</title>\n<script type="importmap">{"imports":{"h5wasm":"/h5wasm/hdf5_hl.js"}}</script>\n',
  );
  return dir;
}

type Shown = Record<string, unknown>;

async function importInNode(dir: string, specs: string[]): Promise<Shown> {
  const url = pathToFileURL(join(dir, "show-exports.mjs")).href;
  const { showModules } = await import(url);
  return showModules(specs);
}

/** What Chromium imports, from a page of the static server. */
async function importInBrowser(
  browser: Browser,
  url: string,
  specs: string[],
): Promise<{ shown: Shown; pageErrors: string[] }> {
  const page = await browser.newPage();
  const pageErrors: string[] = [];
  page.on("pageerror", (err) => pageErrors.push(String(err)));
  try {
    await page.goto(url);
    const shown = (await page.evaluate(
      `import("/show-exports.mjs").then((m) => m.showModules(${JSON.stringify(specs)}))`,
    )) as Shown;
    return { shown, pageErrors };
  } finally {
    await page.close();
  }
}

/** What a browser should see, given what Node saw: Buffers arrive as plain Uint8Arrays. */
function asInBrowser(fromNode: Shown): Shown {
  return JSON.parse(JSON.stringify(fromNode).replaceAll('"view":"Buffer"', '"view":"Uint8Array"'));
}

describe("archives served over HTTP import in Chromium", () => {
  let dir: string;
  let server: StaticServer;
  let browser: Browser | undefined;
  const missing = chromiumMissing();

  before(async () => {
    dir = await site();
    server = await serveStatic(dir, REDIRECTS);
    if (!missing) browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test("npy, npz (stored and deflated), module layout, DataSet index and items: the same values as in Node", async (t) => {
    if (missing) return t.skip(missing);
    const fromNode = await importInNode(dir, GOOD);
    for (const spec of GOOD) assert.ok(!("error" in (fromNode[spec] as object)), spec);
    // The README's claim about Buffers, from both sides.
    assert.match(JSON.stringify(fromNode["./npz/run1/index.mjs"]), /"view":"Buffer"/);
    const { shown, pageErrors } = await importInBrowser(
      browser as Browser,
      `${server.origin}/blank.html`,
      GOOD,
    );
    assert.deepEqual(pageErrors, []);
    assert.doesNotMatch(JSON.stringify(shown), /"view":"Buffer"/);
    assert.deepEqual(shown, asInBrowser(fromNode));
    // The data files really came over HTTP.
    for (const file of [
      "/npy/run1/_arrays/array_0.npy",
      "/npz/run1/_arrays.npz",
      "/npz-deflated/run1/_arrays.npz",
    ]) {
      assert.ok(server.requests.includes(file), `${file} was fetched`);
    }
  });

  test("hostile data files are refused in the browser as in Node (CRC, expansion bound, confinement, missing file)", async (t) => {
    if (missing) return t.skip(missing);
    const specs = Object.keys(BAD);
    const fromNode = await importInNode(dir, specs);
    const redirect = "./redirect/run1/index.mjs";
    const { shown } = await importInBrowser(browser as Browser, `${server.origin}/blank.html`, [
      ...specs,
      redirect,
    ]);
    for (const [spec, pattern] of Object.entries(BAD)) {
      for (const [side, result] of [
        ["node", fromNode[spec]],
        ["chromium", shown[spec]],
      ] as const) {
        const error = (result as { error?: { code: string; message: string } }).error;
        assert.ok(error, `${side} ${spec}: import must fail, got ${JSON.stringify(result)}`);
        assert.equal(error.code, "PERSIST_FORMAT", `${side} ${spec}: ${error.message}`);
        assert.match(error.message, pattern, `${side} ${spec}`);
      }
    }
    // A redirect out of the archive's folder is refused too (Node has no redirects to follow).
    const redirected = (shown[redirect] as { error?: { code: string; message: string } }).error;
    assert.equal(redirected?.code, "PERSIST_FORMAT", JSON.stringify(shown[redirect]));
    assert.match(
      redirected.message,
      /redirected to \S+\/npz\/run1\/_arrays\.npz, outside the archive folder/,
    );
    // Confinement is checked before any request: the file outside was never asked for through
    // the hostile archive (only the good npz archive fetches it, under its own folder).
    assert.ok(!server.requests.some((p) => p.startsWith("/outside/") && p.endsWith(".npz")));
  });

  test("a DataSet index whose journal is not served names the HTTP status, not a format error", async (t) => {
    if (missing) return t.skip(missing);
    const spec = "./ds-nojournal/index.mjs";
    const { shown } = await importInBrowser(browser as Browser, `${server.origin}/blank.html`, [
      spec,
    ]);
    const error = (shown[spec] as { error?: { message: string } }).error;
    assert.ok(error, `import must fail, got ${JSON.stringify(shown[spec])}`);
    assert.match(error.message, /index\.journal: HTTP 404 .*could not be fetched/);
    assert.ok(server.requests.includes("/ds-nojournal/index.journal"));
  });

  test("HDF5: with an import map for h5wasm the values match Node's; without one, a clear error", async (t) => {
    if (missing) return t.skip(missing);
    const spec = "./h5/run1/index.mjs";
    const fromNode = await importInNode(dir, [spec]);
    assert.ok(!("error" in (fromNode[spec] as object)), JSON.stringify(fromNode[spec]));
    const mapped = await importInBrowser(browser as Browser, `${server.origin}/h5.html`, [spec]);
    assert.deepEqual(mapped.shown, asInBrowser(fromNode));
    const plain = await importInBrowser(browser as Browser, `${server.origin}/blank.html`, [spec]);
    const error = (plain.shown[spec] as { error?: { code: string; message: string } }).error;
    assert.equal(error?.code, "PERSIST_FORMAT");
    assert.match(error.message, /reading HDF5 in a browser needs h5wasm.*import map/);
  });

  test("Deno imports the same archives over HTTP, with network access only (no --allow-read)", async (t) => {
    if (!existsSync(DENO)) {
      const msg = `${DENO} missing: npm ci installs the deno devDependency`;
      if (process.env.CI) throw new Error(msg);
      return t.skip(msg);
    }
    const fromNode = await importInNode(dir, GOOD);
    const cache = await tempDir("persist-deno-cache-");
    const host = new URL(server.origin).host;
    const script = join(cache, "check.mjs");
    await writeFile(
      script,
      `const { showModules } = await import(${JSON.stringify(`${server.origin}/show-exports.mjs`)});
console.log(JSON.stringify(await showModules(${JSON.stringify(GOOD)})));\n`,
    );
    // Asynchronous: this process serves the files Deno asks for.
    const { stdout } = await execFileAsync(
      DENO,
      ["run", `--allow-net=${host}`, `--allow-import=${host}`, "--no-prompt", script],
      {
        cwd: cache,
        env: {
          ...process.env,
          DENO_DIR: join(cache, ".deno"),
          DENO_NO_UPDATE_CHECK: "1",
          NO_COLOR: "1",
        },
        maxBuffer: 256 << 20,
        timeout: 120_000,
      },
    );
    // Deno has Buffer: the values are Node's exactly.
    assert.deepEqual(JSON.parse(stdout.trim().split("\n").at(-1) as string), fromNode);
  });
});
