/**
 * Running the Python package (python/persist_archive) from the Node tests: Debian's
 * /usr/bin/python3 with numpy (h5py optional), PYTHONPATH pointing at python/. When it is missing
 * the tests skip loudly; with PERSIST_REQUIRE_PYTHON=1 (CI) that is a failure.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { after, type TestContext } from "node:test";
import { fileURLToPath } from "node:url";

export const PYTHON = "/usr/bin/python3";
export const repoRoot: string = fileURLToPath(new URL("../..", import.meta.url));
const env = { ...process.env, PYTHONPATH: `${repoRoot}python` };

let probed: Record<string, boolean> | undefined;

/** True when `/usr/bin/python3` can import every module in `modules`; else skips (or fails in CI). */
export function requirePythonModules(t: TestContext, modules: string[]): boolean {
  probed ??= {};
  const missing = modules.filter((m) => {
    probed![m] ??= spawnSync(PYTHON, ["-c", `import ${m}`]).status === 0;
    return !probed![m];
  });
  if (missing.length === 0) return true;
  const msg = `${PYTHON} cannot import ${missing.join(", ")} (apt-get install python3-numpy python3-pytest python3-h5py)`;
  if (process.env.PERSIST_REQUIRE_PYTHON === "1")
    throw new Error(`PERSIST_REQUIRE_PYTHON=1 but ${msg}`);
  console.warn(`\n*** SKIPPING Python test: ${msg} ***\n`);
  t.skip(msg);
  return false;
}

/** Runs python with `args` (cwd: repo), returns stdout; throws with stderr on a non-zero exit. */
export function python(args: string[], options: { input?: string } = {}): string {
  const res = spawnSync(PYTHON, args, {
    cwd: repoRoot,
    env,
    encoding: "utf8",
    maxBuffer: 1 << 28,
    input: options.input,
  });
  if (res.status !== 0) {
    throw new Error(
      `python ${args.join(" ")} failed (${res.status}):\n${res.stdout}\n${res.stderr}`,
    );
  }
  return res.stdout;
}

const running = new Set<ChildProcess>();

/** A python child process whose stdout lines are collected; killed if still running at the end. */
export function startPython(args: string[]): {
  proc: ChildProcess;
  lines: string[];
  waitFor(pattern: RegExp): Promise<void>;
  exited: Promise<{ code: number | null; stderr: string }>;
} {
  const proc = spawn(PYTHON, args, { cwd: repoRoot, env, stdio: ["ignore", "pipe", "pipe"] });
  if (running.size === 0) {
    after(() => {
      for (const p of running) p.kill("SIGKILL");
    });
  }
  running.add(proc);
  const lines: string[] = [];
  let partial = "";
  let stderr = "";
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  proc.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    const parts = (partial + chunk).split("\n");
    partial = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      for (const w of waiters.splice(0)) w.pattern.test(line) ? w.resolve() : waiters.push(w);
    }
  });
  proc.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const exited = once(proc, "exit").then(([code]) => {
    running.delete(proc);
    return { code: code as number | null, stderr };
  });
  return {
    proc,
    lines,
    waitFor: (pattern) =>
      new Promise<void>((resolve, reject) => {
        if (lines.some((l) => pattern.test(l))) return resolve();
        waiters.push({ pattern, resolve });
        exited.then((e) =>
          reject(new Error(`python exited (${e.code}) before ${pattern}: ${e.stderr}`)),
        );
      }),
    exited,
  };
}
