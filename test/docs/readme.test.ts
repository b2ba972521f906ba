/**
 * The README is a contract: every code block in README.md runs as written.
 *
 * - ```ts blocks are type-checked in strict mode and then run (compiled by tsc to .mjs beside
 *   themselves, run by this Node, i.e. Node 20 on CI); ```js / ```mjs blocks run as plain .mjs.
 * - They run in order, each as its own module, in ONE fresh project outside the repository that
 *   installs the packed tarball (`npm pack` of a build of this commit), so a later block may use
 *   what an earlier one saved (the quick start's `archives/sweep1`), as a reader would.
 * - A block that is an illustration (a fragment, sample output, a shell command, a directory
 *   listing) says so on the line before its fence, with a reason:
 *       <!-- doctest: skip — sample output, not code -->
 *   Any other block must be ts/js and pass. Use the marker sparingly.
 *
 * The project installs with `--prefer-offline`: after `npm ci` the npm cache holds every
 * dependency, so no network is needed; should the cache miss, npm fetches as usual.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { copyFile, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { tempDir } from "../helpers/tmp.js";

const ROOT = process.cwd();
const run = promisify(execFile);

export interface Block {
  /** 1-based line of the opening fence in README.md. */
  line: number;
  /** First word of the info string (`ts`, `js`, ``, ...). */
  lang: string;
  code: string;
  /** The reason given by a `<!-- doctest: skip — reason -->` marker, if any. */
  skip: string | undefined;
}

const MARKER = /^<!--\s*doctest:\s*skip\s*[—–-]+\s*(.+?)\s*-->$/;
const RUNNABLE = new Set(["ts", "typescript", "mts", "js", "javascript", "mjs"]);
const TYPESCRIPT = new Set(["ts", "typescript", "mts"]);

/** Every fenced code block of a Markdown text, with the skip marker of the line before it. */
export function extractBlocks(markdown: string): Block[] {
  const lines = markdown.split("\n");
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const fence = open[2]!;
    const lang = open[3]!.trim().split(/\s+/)[0] ?? "";
    let previous = i - 1;
    while (previous >= 0 && lines[previous]!.trim() === "") previous--;
    const skip = previous >= 0 ? MARKER.exec(lines[previous]!.trim())?.[1] : undefined;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !lines[j]!.trimStart().startsWith(fence)) body.push(lines[j++]!);
    blocks.push({ line: i + 1, lang, code: `${body.join("\n")}\n`, skip });
    i = j;
  }
  return blocks;
}

async function readmeBlocks(): Promise<Block[]> {
  return extractBlocks(await readFile(join(ROOT, "README.md"), "utf8"));
}

test("every README code block is runnable ts/js or marked as an illustration with a reason", async () => {
  const blocks = await readmeBlocks();
  assert.ok(blocks.length > 0);
  const unmarked = blocks
    .filter((b) => b.skip === undefined && !RUNNABLE.has(b.lang))
    .map((b) => `README.md:${b.line} (\`\`\`${b.lang})`);
  assert.deepEqual(
    unmarked,
    [],
    "mark illustrations with <!-- doctest: skip — reason --> on the line before the fence",
  );
  const skipped = blocks.filter((b) => b.skip !== undefined).length;
  assert.ok(
    skipped <= blocks.length / 2,
    `${skipped} of ${blocks.length} blocks skipped: too many`,
  );
});

/** Builds this commit into a package folder and packs it; returns the tarball's path. */
async function packTarball(work: string): Promise<string> {
  const pkg = join(work, "package");
  await mkdir(pkg);
  for (const file of ["package.json", "README.md", "LICENSE"]) {
    await copyFile(join(ROOT, file), join(pkg, file));
  }
  const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");
  await run(process.execPath, [tsc, "-p", "tsconfig.build.json", "--outDir", join(pkg, "dist")], {
    cwd: ROOT,
  });
  // What scripts/copy-runtime.mjs does after a build: the runtime byte for byte.
  await copyFile(
    join(ROOT, "src", "runtime", "persist-runtime.mjs"),
    join(pkg, "dist", "runtime", "persist-runtime.mjs"),
  );
  const npm = npmCommand();
  const { stdout } = await run(
    npm.command,
    [...npm.args, "pack", "--json", "--ignore-scripts", "--pack-destination", work],
    { cwd: pkg, encoding: "utf8" },
  );
  const [info] = JSON.parse(stdout) as { filename: string }[];
  assert.ok(info);
  return join(work, info.filename);
}

/** npm itself, run by this Node (npm_execpath when run through npm, else npm beside node). */
function npmCommand(): { command: string; args: string[] } {
  const cli = process.env.npm_execpath;
  if (cli?.endsWith(".js") || cli?.endsWith(".cjs"))
    return { command: process.execPath, args: [cli] };
  return { command: "npm", args: [] };
}

/** A fresh consumer project with the packed package (and @types/node, as a TS user has). */
async function consumerProject(work: string, tarball: string): Promise<string> {
  const project = join(work, "project");
  await mkdir(project);
  const typesNode = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")).devDependencies[
    "@types/node"
  ];
  await writeFile(
    join(project, "package.json"),
    `${JSON.stringify({ name: "readme-consumer", private: true, type: "module" }, null, 2)}\n`,
  );
  await writeFile(
    join(project, "tsconfig.json"),
    `${JSON.stringify(
      {
        compilerOptions: {
          strict: true,
          target: "es2022",
          lib: ["es2023"],
          module: "nodenext",
          moduleResolution: "nodenext",
          types: ["node"],
          skipLibCheck: true,
          skipDefaultLibCheck: true,
        },
      },
      null,
      2,
    )}\n`,
  );
  const npm = npmCommand();
  await run(
    npm.command,
    [
      ...npm.args,
      "install",
      "--prefer-offline",
      "--no-audit",
      "--no-fund",
      "--ignore-scripts",
      "--no-package-lock",
      tarball,
      `@types/node@${typesNode}`,
    ],
    { cwd: project, encoding: "utf8" },
  );
  return project;
}

async function compileAndRun(project: string, block: Block, index: number): Promise<void> {
  const base = `readme-${String(index).padStart(2, "0")}-line-${block.line}`;
  const where = `README.md:${block.line}`;
  let script: string;
  if (TYPESCRIPT.has(block.lang)) {
    await writeFile(join(project, `${base}.mts`), block.code);
    const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");
    const options = JSON.parse(await readFile(join(project, "tsconfig.json"), "utf8"))
      .compilerOptions as Record<string, unknown>;
    // The project's strict options, for this one file (emits base.mjs beside it).
    const single = join(project, `tsconfig.${base}.json`);
    await writeFile(single, JSON.stringify({ compilerOptions: options, files: [`${base}.mts`] }));
    try {
      await run(process.execPath, [tsc, "--project", single, "--pretty", "false"], {
        cwd: project,
        encoding: "utf8",
      });
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string };
      assert.fail(
        `${where}: the TypeScript block does not type-check (strict):\n${e.stdout}${e.stderr}`,
      );
    }
    script = `${base}.mjs`;
  } else {
    script = `${base}.mjs`;
    await writeFile(join(project, script), block.code);
  }
  try {
    await run(process.execPath, [script], { cwd: project, encoding: "utf8", timeout: 120_000 });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    assert.fail(
      `${where}: the block fails when run on Node ${process.version}:\n${e.stderr || e.message}`,
    );
  }
}

test("README code blocks type-check (strict) and run, in order, against the packed tarball", async (t) => {
  const blocks = (await readmeBlocks()).filter((b) => b.skip === undefined && RUNNABLE.has(b.lang));
  const work = await tempDir("persist-readme-");
  const tarball = await packTarball(work);
  const project = await consumerProject(work, tarball);
  const installed = await readdir(join(project, "node_modules", "persist-archive", "dist"));
  assert.ok(installed.includes("index.d.ts"), "the tarball ships declarations");
  for (const [index, block] of blocks.entries()) {
    await t.test(`README.md:${block.line} (${block.lang})`, () =>
      compileAndRun(project, block, index),
    );
  }
});
