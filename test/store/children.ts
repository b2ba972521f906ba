/** Real child processes for concurrency and crash tests: spawn a TypeScript fixture through tsx. */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { fileURLToPath } from "node:url";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

// Children still running when a test file ends (a failed assertion skipped the kill) are killed,
// so that a failing test cannot hang the run.
const running = new Set<ChildProcess>();
// Registered when this module loads (not inside a test, where `after` would belong to that test
// and a failure in a later test would leave its children holding the run open).
after(() => {
  for (const child of running) child.kill("SIGKILL");
});

export interface Child {
  proc: ChildProcess;
  /** Every complete stdout line so far. */
  lines: string[];
  /** Resolves with the first stdout line matching `pattern` (rejects if the child exits first). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves with the exit code (null when killed) once the child has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

let childTmp: string | undefined;
function childrenTmp(): string {
  if (childTmp === undefined) {
    const dir = mkdtempSync(join(tmpdir(), "persist-children-"));
    childTmp = dir;
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  }
  return childTmp;
}

/** Start `node --import tsx <fixture> ...args` with the repo as working directory. */
export function startChild(fixture: string, args: string[]): Child {
  const proc = spawn(process.execPath, ["--import", "tsx", fixture, ...args], {
    cwd: repoRoot,
    // A child killed with SIGKILL cannot remove its own temp folders: give children a temp dir that
    // this process removes when it exits.
    env: { ...process.env, TMPDIR: childrenTmp() },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(proc);
  proc.once("exit", () => running.delete(proc));
  const lines: string[] = [];
  let partial = "";
  let err = "";
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  proc.stdout!.setEncoding("utf8");
  proc.stdout!.on("data", (chunk: string) => {
    partial += chunk;
    const parts = partial.split("\n");
    partial = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      for (const w of waiters.splice(0)) {
        if (w.pattern.test(line)) w.resolve(line);
        else waiters.push(w);
      }
    }
  });
  proc.stderr!.setEncoding("utf8");
  proc.stderr!.on("data", (chunk: string) => {
    err += chunk;
  });
  const exited = once(proc, "exit").then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  return {
    proc,
    lines,
    exited,
    stderr: () => err,
    waitFor(pattern, timeoutMs = 120_000) {
      const seen = lines.find((l) => pattern.test(l));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`timed out waiting for ${pattern}; stderr: ${err}`)),
          timeoutMs,
        );
        waiters.push({
          pattern,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
        void exited.then(({ code, signal }) => {
          clearTimeout(timer);
          reject(new Error(`child exited (${code ?? signal}) before ${pattern}; stderr: ${err}`));
        });
      });
    },
  };
}

/** Run a child to completion; rejects with its stderr when it exits non-zero. */
export async function runChild(fixture: string, args: string[]): Promise<string[]> {
  const child = startChild(fixture, args);
  const { code, signal } = await child.exited;
  if (code !== 0)
    throw new Error(`${fixture} ${args.join(" ")} exited ${code ?? signal}: ${child.stderr()}`);
  return child.lines;
}
