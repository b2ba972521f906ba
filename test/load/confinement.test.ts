/**
 * Everything load() reads stays inside the archive folder and is a regular file (issue 8, classes
 * 3 and 5; wrong error classes): symlinked array files and folders, symlinked package entries and
 * package.json, FIFOs (several concurrent loads, then an unrelated read still completes), symlinks
 * to /dev/zero, directories, a 100k-deep `exports`, `"main": "..evil.mjs"` inside the package.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createWriteStream } from "node:fs";
import { cp, mkdir, readFile, rename, rm, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { test } from "node:test";
import yazl from "yazl";
import { ArchiveError, FormatError, NotFoundError } from "../../src/errors.js";
import { Archive } from "../../src/index.js";
import { load } from "../../src/load/index.js";
import { tempDir } from "../helpers/tmp.js";

const base = await tempDir("persist-confine-");
const outside = join(base, "outside");
await mkdir(outside);

/** Saves a package archive with one external array in `format`; returns its folder. */
async function saved(name: string, format: "npy" | "npz" | "hdf5" = "npy"): Promise<string> {
  const archive = new Archive({ arrayThreshold: 2 });
  archive.insert({ big: new Float64Array([1, 2, 3, 4]), small: { a: 1 } });
  const { entry } = await archive.save(join(base, name), { name: "pkg", dataFormat: format });
  return join(entry, "..");
}

// Outside data an attacker would like to read: a valid npy / npz / h5 / module elsewhere.
const decoy = await saved("decoy-npy");
const decoyNpz = await saved("decoy-npz", "npz");
const decoyH5 = await saved("decoy-h5", "hdf5");
await cp(join(decoy, "_arrays"), join(outside, "arrays"), { recursive: true });
await writeFile(join(outside, "evil.mjs"), "export const secret = 42;\n");

async function refused(
  path: string,
  pattern: RegExp,
  errorClass: typeof ArchiveError = FormatError,
): Promise<ArchiveError> {
  const error = await load(path).then(
    () => assert.fail(`load(${path}) accepted it`),
    (e: unknown) => e,
  );
  assert.ok(error instanceof errorClass, `expected ${errorClass.name}, got ${String(error)}`);
  assert.match((error as Error).message, pattern);
  return error as ArchiveError;
}

test("a saved archive loads (the baseline the attacks below modify)", async () => {
  const dir = await saved("plain");
  assert.deepEqual(Array.from((await load(dir)).big as Float64Array), [1, 2, 3, 4]);
});

test("a symlinked _arrays/array_0.npy pointing outside is refused", async () => {
  const dir = await saved("npy-file-link");
  await rm(join(dir, "_arrays", "array_0.npy"));
  await symlink(join(outside, "arrays", "array_0.npy"), join(dir, "_arrays", "array_0.npy"));
  const error = await refused(dir, /array_0\.npy .*outside/);
  assert.match(error.message, /replace the symlink/);
  // A relative link climbing out is the same.
  await rm(join(dir, "_arrays", "array_0.npy"));
  await symlink("../../../outside/arrays/array_0.npy", join(dir, "_arrays", "array_0.npy"));
  await refused(dir, /outside/);
});

test("a symlinked _arrays folder pointing outside is refused", async () => {
  const dir = await saved("npy-dir-link");
  await rm(join(dir, "_arrays"), { recursive: true });
  await symlink(join(outside, "arrays"), join(dir, "_arrays"));
  await refused(dir, /_arrays .*outside/);
});

test("a symlinked .npz or .h5 pointing outside is refused", async () => {
  const npz = await saved("npz-link", "npz");
  await rm(join(npz, "_arrays.npz"));
  await symlink(join(decoyNpz, "_arrays.npz"), join(npz, "_arrays.npz"));
  await refused(npz, /_arrays\.npz .*outside/);
  const h5 = await saved("h5-link", "hdf5");
  await rm(join(h5, "_arrays.h5"));
  await symlink(join(decoyH5, "_arrays.h5"), join(h5, "_arrays.h5"));
  await refused(h5, /_arrays\.h5 .*outside/);
});

test("symlinks that stay inside the archive folder are fine", async () => {
  const dir = await saved("inside-links");
  await rename(join(dir, "_arrays"), join(dir, "real-arrays"));
  await symlink("real-arrays", join(dir, "_arrays"));
  await rename(join(dir, "index.mjs"), join(dir, "real-index.mjs"));
  await symlink(join(dir, "real-index.mjs"), join(dir, "index.mjs"));
  assert.deepEqual(Array.from((await load(dir)).big as Float64Array), [1, 2, 3, 4]);
});

test("package main / exports / package.json symlinked outside are refused", async () => {
  const main = await saved("main-link");
  await rm(join(main, "index.mjs"));
  await symlink(join(outside, "evil.mjs"), join(main, "index.mjs"));
  await refused(main, /index\.mjs .*outside/);

  const exportsDir = await saved("exports-link");
  await symlink(join(outside, "evil.mjs"), join(exportsDir, "other.mjs"));
  await writeFile(join(exportsDir, "package.json"), JSON.stringify({ exports: "./other.mjs" }));
  await refused(exportsDir, /other\.mjs .*outside/);

  const pkgDir = await saved("pkg-link");
  await writeFile(join(outside, "package.json"), JSON.stringify({ main: "./x.mjs" }));
  await rm(join(pkgDir, "package.json"));
  await symlink(join(outside, "package.json"), join(pkgDir, "package.json"));
  await refused(pkgDir, /package\.json .*outside/);

  // A module named directly that is a symlink out of its folder.
  const linkDir = join(base, "file-link");
  await mkdir(linkDir);
  await symlink(join(outside, "evil.mjs"), join(linkDir, "a.mjs"));
  await refused(join(linkDir, "a.mjs"), /a\.mjs .*outside/);
  // ... unless the caller widens the root to a folder they trust.
  assert.deepEqual(await load(join(linkDir, "a.mjs"), { root: base }), { secret: 42 });
});

test('"main": "..evil.mjs" is a file inside the package; "../evil.mjs" is not', async () => {
  const dir = await saved("dotted-main");
  await writeFile(join(dir, "..evil.mjs"), "export const inside = 1;\n");
  await writeFile(join(dir, "package.json"), JSON.stringify({ main: "..evil.mjs" }));
  assert.deepEqual(await load(dir), { inside: 1 });
  await writeFile(join(dir, "package.json"), JSON.stringify({ exports: { ".": "./..evil.mjs" } }));
  assert.deepEqual(await load(dir), { inside: 1 });
  await writeFile(join(dir, "package.json"), JSON.stringify({ main: "../outside/evil.mjs" }));
  await refused(dir, /points outside the package/);
  await writeFile(join(dir, "package.json"), JSON.stringify({ main: "/etc/hostname" }));
  await refused(dir, /points outside the package/);
});

test("a 100k-deep `exports` in package.json is a FormatError, not a RangeError", async () => {
  const dir = await saved("deep-exports");
  const depth = 100_000;
  const text = `{"exports": ${'{"import": '.repeat(depth)}"./index.mjs"${"}".repeat(depth)}}`;
  await writeFile(join(dir, "package.json"), text);
  await refused(dir, /nested deeper/);
  // Deep in a key that is not followed is harmless.
  await writeFile(
    join(dir, "package.json"),
    `{"main": "./index.mjs", "other": ${"[".repeat(depth)}${"]".repeat(depth)}}`,
  );
  assert.deepEqual(Object.keys(await load(dir)).sort(), ["big", "small"]);
});

test("a package.json that is not an object, or not JSON, is a FormatError", async () => {
  const dir = await saved("bad-pkg");
  for (const text of ["null", "[1", "42", '"x"']) {
    await writeFile(join(dir, "package.json"), text);
    await refused(dir, /package\.json/);
  }
});

// ---- non-regular files -------------------------------------------------------------------------

test("FIFOs anywhere load() reads are FormatErrors, and never block other file reads", async () => {
  const npy = await saved("fifo-npy");
  await rm(join(npy, "_arrays", "array_0.npy"));
  execFileSync("mkfifo", [join(npy, "_arrays", "array_0.npy")]);
  const npz = await saved("fifo-npz", "npz");
  await rm(join(npz, "_arrays.npz"));
  execFileSync("mkfifo", [join(npz, "_arrays.npz")]);
  const h5 = await saved("fifo-h5", "hdf5");
  await rm(join(h5, "_arrays.h5"));
  execFileSync("mkfifo", [join(h5, "_arrays.h5")]);
  const entry = await saved("fifo-entry");
  await rm(join(entry, "index.mjs"));
  execFileSync("mkfifo", [join(entry, "index.mjs")]);
  const pkg = await saved("fifo-pkg");
  await rm(join(pkg, "package.json"));
  execFileSync("mkfifo", [join(pkg, "package.json")]);

  // More loads at once than libuv has pool threads (4): a blocking open would starve them all.
  const targets = [npy, npz, h5, entry, pkg, npy, npz, entry, join(entry, "index.mjs")];
  const results = await Promise.all(
    targets.map((t) =>
      load(t).then(
        () => "loaded",
        (e: unknown) =>
          e instanceof FormatError && /FIFO/.test((e as Error).message) ? "refused" : String(e),
      ),
    ),
  );
  assert.deepEqual(results, Array(targets.length).fill("refused"));
  // The thread pool is free: an unrelated read completes.
  assert.match(await readFile(join(decoy, "package.json"), "utf8"), /exports/);
});

test("a symlink to /dev/zero anywhere load() reads is refused before reading", async () => {
  const npy = await saved("zero-npy");
  await rm(join(npy, "_arrays", "array_0.npy"));
  await symlink("/dev/zero", join(npy, "_arrays", "array_0.npy"));
  await refused(npy, /array_0\.npy/);
  const entry = await saved("zero-entry");
  await rm(join(entry, "index.mjs"));
  await symlink("/dev/zero", join(entry, "index.mjs"));
  await refused(entry, /index\.mjs/);
  const pkg = await saved("zero-pkg");
  await rm(join(pkg, "package.json"));
  await symlink("/dev/zero", join(pkg, "package.json"));
  await refused(pkg, /package\.json/);
  // Even with the root widened to /, a device is not a regular file.
  const error = await load(join(entry, "index.mjs"), { root: "/" }).catch((e: unknown) => e);
  assert.ok(error instanceof FormatError);
  assert.match((error as Error).message, /device/);
});

test("directories where files belong are FormatErrors", async () => {
  const npy = await saved("dir-npy");
  await rm(join(npy, "_arrays", "array_0.npy"));
  await mkdir(join(npy, "_arrays", "array_0.npy"));
  await refused(npy, /array_0\.npy is a directory/);
  const npz = await saved("dir-npz", "npz");
  await rm(join(npz, "_arrays.npz"));
  await mkdir(join(npz, "_arrays.npz"));
  await refused(npz, /_arrays\.npz is a directory/);
  const entry = await saved("dir-entry");
  await rm(join(entry, "index.mjs"));
  await mkdir(join(entry, "index.mjs"));
  await refused(entry, /index\.mjs is a directory/);
  const pkg = await saved("dir-pkg");
  await rm(join(pkg, "package.json"));
  await mkdir(join(pkg, "package.json"));
  await refused(pkg, /package\.json is a directory/);
});

test("a missing array file is a typed error naming it", async () => {
  const npy = await saved("missing-npy");
  await rm(join(npy, "_arrays", "array_0.npy"));
  await refused(npy, /array_0/, ArchiveError);
  const gone = await saved("missing-entry");
  await rm(join(gone, "index.mjs"));
  await refused(gone, /no entry module/, NotFoundError);
});

test("maxExpansion is passed to the array readers; the error names the option", async () => {
  // An npz whose one entry is deflated: 2 MiB of zeros in a few KiB.
  const archive = new Archive({ arrayThreshold: 2 });
  archive.insert({ zeros: new Float64Array(1 << 18) });
  const { entry } = await archive.save(join(base, "expansion"), { name: "pkg", dataFormat: "npz" });
  const dir = join(entry, "..");
  const zeros = new Archive({ arrayThreshold: 2 });
  zeros.insert({ zeros: new Float64Array(1 << 18) });
  const npyEntry = (await zeros.save(join(base, "expansion-src"), { name: "pkg" })).entry;
  const npyBytes = await readFile(join(npyEntry, "..", "_arrays", "array_0.npy"));
  const zip = new yazl.ZipFile();
  zip.addBuffer(npyBytes, "array_0.npy", { compress: true });
  zip.end();
  await pipeline(zip.outputStream, createWriteStream(join(dir, "_arrays.npz")));
  assert.ok((await stat(join(dir, "_arrays.npz"))).size < 64 << 10);
  // Honest files load with the default bound.
  assert.equal(((await load(dir)).zeros as Float64Array).length, 1 << 18);
  // A bound below its real expansion is refused, naming the option to raise.
  await assert.rejects(load(dir, { maxExpansion: 2 }), (e: unknown) => {
    assert.ok(e instanceof FormatError, String(e));
    assert.match((e as Error).message, /maxExpansion/);
    return true;
  });
  assert.equal(
    ((await load(dir, { maxExpansion: Infinity })).zeros as Float64Array).length,
    1 << 18,
  );
});
