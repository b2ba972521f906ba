/**
 * Runs real numpy/h5py through /usr/bin/python3 for interop tests. When numpy is missing the
 * tests skip loudly; with PERSIST_REQUIRE_PYTHON=1 (CI) a missing numpy is a failure.
 */
import { spawnSync } from "node:child_process";
import type { TestContext } from "node:test";

const PYTHON = "/usr/bin/python3";
let cached: { numpy: boolean; h5py: boolean } | undefined;

function probe(): { numpy: boolean; h5py: boolean } {
  if (cached) return cached;
  const has = (mod: string) => spawnSync(PYTHON, ["-c", `import ${mod}`]).status === 0;
  cached = { numpy: has("numpy"), h5py: has("h5py") };
  return cached;
}

/**
 * Returns true when `module` ("numpy" or "h5py") is usable. Otherwise skips the test with a loud
 * message, or fails it when PERSIST_REQUIRE_PYTHON=1.
 */
export function requirePython(t: TestContext, module: "numpy" | "h5py" = "numpy"): boolean {
  if (probe()[module]) return true;
  const msg = `${module} is not importable by ${PYTHON} (apt-get install python3-numpy python3-h5py)`;
  if (process.env.PERSIST_REQUIRE_PYTHON === "1")
    throw new Error(`PERSIST_REQUIRE_PYTHON=1 but ${msg}`);
  console.warn(`\n*** SKIPPING interop test: ${msg} ***\n`);
  t.skip(msg);
  return false;
}

/** Runs a Python script with /usr/bin/python3, returns stdout; throws with stderr on failure. */
export function runPython(script: string, args: string[] = []): string {
  const res = spawnSync(PYTHON, ["-c", script, ...args], { encoding: "utf8", maxBuffer: 1 << 28 });
  if (res.status !== 0)
    throw new Error(`python failed (${res.status}):\n${res.stderr}\n--- script:\n${script}`);
  return res.stdout;
}
