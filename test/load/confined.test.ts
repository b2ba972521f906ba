/**
 * src/store/confined.ts: reads of untrusted files stay inside their root, refuse non-regular
 * files without blocking (real FIFOs), respect the byte limit and return exact-size buffers.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { FormatError, NotFoundError } from "../../src/errors.js";
import {
  checkConfined,
  isInside,
  openConfined,
  readConfined,
  readConfinedSync,
  readConfinedText,
} from "../../src/store/confined.js";
import { tempDir } from "../helpers/tmp.js";

const base = await tempDir("persist-confined-");
const root = join(base, "root");
const outsideDir = join(base, "outside");
await mkdir(join(root, "sub"), { recursive: true });
await mkdir(outsideDir);
await writeFile(join(root, "a.txt"), "hello");
await writeFile(join(root, "..dots.txt"), "inside, despite the dots");
await writeFile(join(root, "sub", "b.txt"), "bee");
await writeFile(join(outsideDir, "secret.txt"), "secret");
await symlink(join(outsideDir, "secret.txt"), join(root, "out-link.txt"));
await symlink(outsideDir, join(root, "out-dir"));
await symlink("../outside/secret.txt", join(root, "relative-out.txt"));
await symlink("/dev/zero", join(root, "zero"));
await symlink(join(root, "sub", "b.txt"), join(root, "in-link.txt"));
await symlink("loop2", join(root, "loop1"));
await symlink("loop1", join(root, "loop2"));
execFileSync("mkfifo", [join(root, "fifo")]);

async function refuses(
  promise: Promise<unknown>,
  errorClass: typeof FormatError,
  pattern: RegExp,
): Promise<void> {
  const error = await promise.then(
    () => assert.fail("expected a refusal"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof errorClass, `got ${String(error)}`);
  assert.match((error as Error).message, pattern);
}

test("isInside: `..name` is inside, `..` and `../x` are not", () => {
  assert.equal(isInside("/r", "/r/..evil.mjs"), true);
  assert.equal(isInside("/r", "/r"), true);
  assert.equal(isInside("/r", "/r/a/b"), true);
  assert.equal(isInside("/r", "/"), false);
  assert.equal(isInside("/r", "/r2/x"), false);
  assert.equal(isInside("/r", "/x"), false);
});

test("reads regular files inside the root, also through inside symlinks and `..` names", async () => {
  assert.equal(await readConfinedText(join(root, "a.txt"), { root }), "hello");
  assert.equal(await readConfinedText(join(root, "in-link.txt"), { root }), "bee");
  assert.equal(
    await readConfinedText(join(root, "..dots.txt"), { root }),
    "inside, despite the dots",
  );
  // The root itself may be reached through a symlink.
  await symlink(root, join(base, "root-link"));
  assert.equal(
    await readConfinedText(join(base, "root-link", "a.txt"), { root: join(base, "root-link") }),
    "hello",
  );
});

test("returned buffers hold exactly the file's bytes", async () => {
  const bytes = await readConfined(join(root, "a.txt"), { root });
  assert.equal(bytes.byteLength, 5);
  assert.equal(bytes.byteOffset, 0);
  assert.equal(bytes.buffer.byteLength, 5);
  const empty = join(root, "empty");
  await writeFile(empty, "");
  assert.equal((await readConfined(empty, { root })).buffer.byteLength, 0);
});

test("symlinks out of the root are refused (absolute, relative, through a folder)", async () => {
  await refuses(readConfined(join(root, "out-link.txt"), { root }), FormatError, /outside/);
  await refuses(readConfined(join(root, "relative-out.txt"), { root }), FormatError, /outside/);
  await refuses(
    readConfined(join(root, "out-dir", "secret.txt"), { root }),
    FormatError,
    /outside/,
  );
  await refuses(
    readConfined(join(root, "..", "outside", "secret.txt"), { root }),
    FormatError,
    /outside/,
  );
  await refuses(
    checkConfined(join(root, "out-dir"), { root, kind: "directory" }),
    FormatError,
    /outside/,
  );
});

test("a symlink to /dev/zero is refused before any byte is read", async () => {
  await refuses(readConfined(join(root, "zero"), { root }), FormatError, /zero/);
  // Even with the root at / (so it is "inside"), a device is not a regular file.
  await refuses(readConfined("/dev/zero", { root: "/" }), FormatError, /device/);
});

test("a FIFO is refused without blocking, also many at once", async () => {
  const fifo = join(root, "fifo");
  await refuses(readConfined(fifo, { root }), FormatError, /FIFO/);
  await refuses(checkConfined(fifo, { root }), FormatError, /FIFO/);
  // More concurrent attempts than libuv has threads: none may hang, and other reads still work.
  const attempts = Array.from({ length: 8 }, () =>
    readConfined(fifo, { root }).then(
      () => "read",
      (e: unknown) => (e instanceof FormatError ? "refused" : String(e)),
    ),
  );
  assert.deepEqual(await Promise.all(attempts), Array(8).fill("refused"));
  assert.equal(await readFile(join(root, "a.txt"), "utf8"), "hello");
});

test("directories, missing files and symlink loops get typed errors", async () => {
  await refuses(readConfined(join(root, "sub"), { root }), FormatError, /directory/);
  await refuses(readConfined(join(root, "nope"), { root }), NotFoundError, /does not exist/);
  await refuses(readConfined(join(root, "loop1"), { root }), FormatError, /loop/);
  await refuses(
    checkConfined(join(root, "a.txt"), { root, kind: "directory" }),
    FormatError,
    /not a directory/,
  );
  const { stats } = await checkConfined(join(root, "sub"), { root, kind: "directory" });
  assert.ok(stats.isDirectory());
});

test("the byte limit is checked before reading and names the option", async () => {
  await refuses(
    readConfined(join(root, "a.txt"), {
      root,
      maxBytes: 4,
      maxBytesOption: "maxFileBytes",
      what: "archive",
    }),
    FormatError,
    /archive .*a\.txt is 5 bytes, more than the limit of 4 \(raise maxFileBytes/,
  );
  assert.equal((await readConfined(join(root, "a.txt"), { root, maxBytes: 5 })).length, 5);
});

test("openConfined hands out a handle for positional reads", async () => {
  const { handle, size } = await openConfined(join(root, "sub", "b.txt"), { root });
  try {
    assert.equal(size, 3);
  } finally {
    await handle.close();
  }
});

test("readConfinedSync makes the same checks", () => {
  assert.equal(new TextDecoder().decode(readConfinedSync(join(root, "a.txt"), { root })), "hello");
  assert.throws(() => readConfinedSync(join(root, "fifo"), { root }), FormatError);
  assert.throws(() => readConfinedSync(join(root, "out-link.txt"), { root }), /outside/);
  assert.throws(() => readConfinedSync(join(root, "zero"), { root }), FormatError);
  assert.throws(() => readConfinedSync(join(root, "sub"), { root }), /directory/);
  assert.throws(() => readConfinedSync(join(root, "nope"), { root }), NotFoundError);
  assert.throws(() => readConfinedSync(join(root, "a.txt"), { root, maxBytes: 1 }), /limit/);
});
