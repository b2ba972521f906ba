/**
 * Compiles a strict TypeScript consumer of saved archives with each supported TypeScript major
 * (5.9, 6.0, 7.0, installed as aliased devDependencies) and each module resolution that
 * understands `.mjs` (node16, nodenext, bundler), the way a user's project would.
 */
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const ROOT = process.cwd();

export const COMPILERS = ["typescript-5.9", "typescript-6.0", "typescript-7.0"];

export interface Resolution {
  module: string;
  moduleResolution: string;
}

export const RESOLUTIONS: readonly Resolution[] = [
  { module: "node16", moduleResolution: "node16" },
  { module: "nodenext", moduleResolution: "nodenext" },
  { module: "esnext", moduleResolution: "bundler" },
];

/** Compiles `file` in `dir` with `compiler`; `lib` defaults to ES2022 only (no DOM). */
export async function compile(
  compiler: string,
  dir: string,
  file: string,
  r: Resolution,
  lib: readonly string[] = ["es2022"],
): Promise<{ ok: boolean; output: string }> {
  const tsc = join(ROOT, "node_modules", compiler, "bin", "tsc");
  // A tsconfig per run: what a user's project has, and the only way to say `types: []` to tsc.
  const config = `tsconfig.${compiler}.${r.moduleResolution}.${file}.json`;
  const compilerOptions = {
    noEmit: true,
    strict: true,
    noUncheckedIndexedAccess: true,
    exactOptionalPropertyTypes: true,
    target: "es2022",
    // The standard library is not re-checked: keeps the compiler runs affordable. The archive's
    // own declaration files are checked (no skipLibCheck).
    lib,
    skipDefaultLibCheck: true,
    module: r.module,
    moduleResolution: r.moduleResolution,
    types: [],
    pretty: false,
  };
  await writeFile(join(dir, config), JSON.stringify({ compilerOptions, files: [file] }));
  try {
    await promisify(execFile)(process.execPath, [tsc, "-p", config], {
      cwd: dir,
      encoding: "utf8",
    });
    return { ok: true, output: "" };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    return { ok: false, output: `${e.stdout ?? ""}${e.stderr ?? ""}` || e.message };
  }
}

/** Compiles `files` with every compiler × resolution; returns the failures' output. */
export async function compileMatrix(
  dir: string,
  files: (r: Resolution) => readonly string[],
  lib?: readonly string[],
): Promise<string[]> {
  const failures: string[] = [];
  for (const compiler of COMPILERS) {
    for (const r of RESOLUTIONS) {
      for (const file of files(r)) {
        const res = await compile(compiler, dir, file, r, lib);
        if (!res.ok) failures.push(`${compiler} ${r.moduleResolution} ${file}:\n${res.output}`);
      }
    }
  }
  return failures;
}
