/**
 * The Python package's own test suite (python/tests, pytest), run as part of `npm test`. It needs
 * Debian's python3 with numpy and pytest (h5py optional); CI installs them in .ci/run.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { tempDir } from "../helpers/tmp.js";
import { PYTHON, repoRoot, requirePythonModules } from "./python.js";

test("python/tests pass under pytest (persist_archive: reader, save, DataSet, lock, show)", async (t) => {
  if (!requirePythonModules(t, ["numpy", "pytest"])) return;
  // pytest's own temp root (pytest-of-<user>) goes in a folder this test file removes.
  const basetemp = join(await tempDir("persist-pytest-"), "base");
  const args = ["-m", "pytest", "-q", "-p", "no:cacheprovider", `--basetemp=${basetemp}`];
  const res = spawnSync(PYTHON, [...args, "python/tests"], {
    cwd: repoRoot,
    env: { ...process.env, PYTHONPATH: `${repoRoot}python`, PYTHONDONTWRITEBYTECODE: "1" },
    encoding: "utf8",
    maxBuffer: 1 << 26,
  });
  assert.equal(res.status, 0, `pytest failed:\n${res.stdout}\n${res.stderr}`);
});
