import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import {
  formatBytes,
  type OutStream,
  Progress,
  paint,
  renderProgress,
} from "../../src/cli/terminal.js";
import { tempDir } from "../helpers/tmp.js";
import { MAIN, makeDataSet, ROOT } from "./helpers.js";

function fakeStream(isTTY: boolean, columns = 80): OutStream & { text: string } {
  const stream = {
    text: "",
    isTTY,
    columns,
    write(chunk: string) {
      stream.text += chunk;
      return true;
    },
  };
  return stream;
}

test("renderProgress draws a bar that fills with done/total and fits the width", () => {
  // 30 columns: "verify [" + 17 bar characters + "] 0/4"
  assert.equal(renderProgress("verify", 0, 4, 30), "verify [.................] 0/4");
  assert.equal(renderProgress("verify", 1, 4, 30), "verify [####.............] 1/4");
  assert.equal(renderProgress("verify", 4, 4, 30), "verify [#################] 4/4");
  assert.equal(
    renderProgress("x", 1, 2, 200).length,
    "x [] 1/2".length + 40,
    "bar at most 40 wide",
  );
  assert.equal(renderProgress("convert", 3, 10, 12), "convert 3/10", "no room for a bar");
  assert.equal(renderProgress("convert", 3, 10, 5), "conve");
  assert.equal(renderProgress("empty", 0, 0, 20), "empty [########] 0/0");
  for (let width = 0; width < 60; width++) {
    assert.ok(renderProgress("verify", 7, 13, width).length <= width, `width ${width}`);
  }
});

test("Progress redraws in place on a TTY, erases itself at the end, and writes nothing elsewhere", () => {
  const tty = fakeStream(true, 31);
  const progress = new Progress(tty, "verify", 3, 0);
  progress.tick();
  progress.tick();
  progress.tick();
  progress.finish();
  const erase = "\r\x1b[2K";
  assert.equal(
    tty.text,
    `${erase}verify [######...........] 1/3${erase}verify [###########......] 2/3` +
      `${erase}verify [#################] 3/3${erase}`,
  );
  const throttled = fakeStream(true);
  const slow = new Progress(throttled, "convert", 100, 60_000);
  for (let i = 0; i < 100; i++) slow.tick();
  // The first tick and the last are drawn; the ones in between fall inside the interval.
  assert.equal(throttled.text.split("\r").length - 1, 2);
  // A terminal that reports no size still gets a bar (80 columns assumed).
  const sizeless = fakeStream(true, 0);
  new Progress(sizeless, "verify", 1, 0).tick();
  assert.equal(sizeless.text, `${erase}${renderProgress("verify", 1, 1, 79)}`);
  const piped = fakeStream(false);
  const silent = new Progress(piped, "verify", 3, 0);
  for (let i = 0; i < 3; i++) silent.tick();
  silent.finish();
  assert.equal(piped.text, "");
});

test("paint colours only terminals, and not with NO_COLOR", () => {
  assert.equal(paint(fakeStream(false), "red", "x"), "x");
  const saved = process.env.NO_COLOR;
  try {
    delete process.env.NO_COLOR;
    assert.equal(paint(fakeStream(true), "red", "x"), "\x1b[31mx\x1b[39m");
    process.env.NO_COLOR = "1";
    assert.equal(paint(fakeStream(true), "red", "x"), "x");
  } finally {
    if (saved === undefined) delete process.env.NO_COLOR;
    else process.env.NO_COLOR = saved;
  }
});

test("formatBytes", () => {
  assert.deepEqual([0, 999, 1000, 1234, 56_789, 3_400_000, 7e12].map(formatBytes), [
    "0 B",
    "999 B",
    "1.0 kB",
    "1.2 kB",
    "57 kB",
    "3.4 MB",
    "7.0 TB",
  ]);
});

// A real terminal through script(1): progress bar and colour appear there, and only there.
const script = spawnSync("script", ["--version"], { encoding: "utf8" });
test("on a real TTY verify draws a progress bar and colours its output", {
  skip: script.status !== 0 && "script(1) not available",
}, async () => {
  const dir = await tempDir();
  const ds = join(dir, "ds");
  await makeDataSet(ds);
  const command = [process.execPath, "--import", "tsx", MAIN, "verify", ds]
    .map((a) => `'${a}'`)
    .join(" ");
  const env = { ...process.env };
  delete env.NO_COLOR;
  const r = spawnSync("script", ["-qefc", command, "/dev/null"], {
    cwd: ROOT,
    encoding: "utf8",
    env,
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /verify \[#+\] 5\/5/);
  assert.ok(r.stdout.includes("\x1b[2K"), "the bar is erased in place");
  assert.ok(r.stdout.includes("\x1b[32mok\x1b[39m"), "colour on a terminal");
  assert.match(r.stdout, /ok.*: DataSet .* 5 items/);
});
