/**
 * Runs the `persist` CLI as a real child process (through tsx, from the sources) and builds the
 * archives and DataSets the CLI tests read.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Archive } from "../../src/archive.js";
import { runCli } from "../../src/cli/run.js";
import { DataSet } from "../../src/dataset/dataset.js";
import { NDArray } from "../../src/runtime/persist-runtime.mjs";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const MAIN = join(ROOT, "src", "cli", "main.ts");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `persist ...args` in a child process with piped (non-TTY) stdio. */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return runNode(["--import", "tsx", MAIN, ...args], env);
}

/**
 * `persist ...args` in this process, with plain (non-TTY) fake streams: the same code path as the
 * executable (main.ts only calls runCli), without a process start-up per case.
 */
export async function runInProcess(args: string[]): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  const code = await runCli(args, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
  });
  return { code, stdout, stderr };
}

export function runNode(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      args,
      { cwd: ROOT, env: { ...process.env, ...env }, maxBuffer: 64 << 20 },
      (error, stdout, stderr) => {
        const code = error ? (error as { code?: unknown }).code : 0;
        if (typeof code !== "number") return reject(error);
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The values saved by makeArchive (fresh objects each call). */
export function archiveValues() {
  return {
    cfg: { n: 3, label: "run", when: new Date(0), big: 12n, tags: new Set(["a", "b"]) },
    // external (threshold 10): 20, 24, 12 and 16 elements
    xs: Float64Array.from({ length: 20 }, (_, i) => i / 4),
    grid: new NDArray(
      Int32Array.from({ length: 24 }, (_, i) => i - 5),
      [4, 6],
    ),
    fortran: new NDArray(
      Float32Array.from({ length: 12 }, (_, i) => i * 1.5),
      [3, 4],
      {
        order: "F",
      },
    ),
    counts: BigInt64Array.from({ length: 16 }, (_, i) => BigInt(i) * 1000000000000n),
    // inline: at most 10 elements
    small: new Float32Array([1.5, -2]),
  };
}

/** Saves archiveValues() with arrayThreshold 10 as `name` in `dir`; returns the entry module. */
export async function makeArchive(
  dir: string,
  name: string,
  options: { package?: boolean; dataFormat?: "npy" | "npz" | "hdf5" } = {},
): Promise<string> {
  const archive = new Archive({ arrayThreshold: 10 });
  archive.insert(archiveValues());
  const saved = await archive.save(dir, { name, ...options });
  return saved.entry;
}

/** The items of makeDataSet, in key order, with their infos. */
export function dataSetItems(): { name: string; value: unknown; info: unknown }[] {
  return [
    {
      name: "alpha",
      value: { v: Float64Array.from({ length: 50 }, (_, i) => i * i) },
      info: { t: 1, tag: "first" },
    },
    {
      name: "x_0",
      value: new NDArray(
        Int16Array.from({ length: 30 }, (_, i) => i),
        [6, 5],
      ),
      info: { step: 2, ok: true },
    },
    { name: "small", value: [1, "two", new Float32Array([3])], info: null },
    // written with threshold 1000: its 500 elements stay inline
    { name: "wide", value: Uint8Array.from({ length: 500 }, (_, i) => i % 256), info: "inline" },
    {
      name: "mixed",
      value: { big: new Float64Array(40).fill(0.5), tiny: new Float64Array([1, 2, 3]) },
      info: { mixed: [1, 2] },
    },
  ];
}

/** A DataSet (arrays over 10 elements external, except item "wide") holding dataSetItems(). */
export async function makeDataSet(dir: string): Promise<void> {
  const ds = await DataSet.open(dir, { mode: "w", arrayThreshold: 10 });
  const inline = await DataSet.open(dir, { mode: "w", arrayThreshold: 1000 });
  for (const { name, value, info } of dataSetItems()) {
    if (name === "x_0") {
      assertEqual(await ds.insert(value, { info }), "x_0");
    } else {
      await (name === "wide" ? inline : ds).set(name, value, info === null ? {} : { info });
    }
  }
  await ds.close();
  await inline.close();
}

function assertEqual(actual: unknown, expected: unknown): void {
  if (actual !== expected) throw new Error(`expected ${String(expected)}, got ${String(actual)}`);
}

/** path → sha256 of every file under `dir` (to prove a directory was left untouched). */
export async function treeHashes(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function walk(path: string, rel: string): Promise<void> {
    const info = await stat(path);
    if (info.isDirectory()) {
      for (const entry of (await readdir(path)).sort())
        await walk(join(path, entry), `${rel}/${entry}`);
    } else {
      out[rel] = createHash("sha256")
        .update(await readFile(path))
        .digest("hex");
    }
  }
  await walk(dir, "");
  return out;
}

/** True when `text` holds an escape character (ANSI colour or cursor movement). */
export function hasEscapes(text: string): boolean {
  return text.includes("\u001b");
}
