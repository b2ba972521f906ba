/**
 * Demo part 2: worker processes write simulation results into one DataSet at the same time;
 * `persist show` lists it; a fresh Node process imports one item natively (no library); Python
 * reads one of its .npy files when numpy is present.
 */
import { spawn, spawnSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DataSet } from "../src/index.js";

const here = fileURLToPath(new URL(".", import.meta.url));

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.on("exit", (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(" ")} exited ${code}`)),
    );
  });
}

export async function datasetStory(root: string): Promise<void> {
  const ds = join(root, "sweep.ds");
  const workers = 4;
  const runs = 5;
  console.log(`\n=== ${workers} worker processes insert ${runs} results each into ${ds} at once`);
  const t0 = performance.now();
  const outputs = await Promise.all(
    Array.from({ length: workers }, (_, w) =>
      run(process.execPath, [
        "--import",
        "tsx",
        join(here, "worker.ts"),
        ds,
        String(w),
        String(runs),
      ]),
    ),
  );
  const names = outputs.flatMap((o) => o.trim().split("\n"));
  console.log(
    `    ${names.length} inserts in ${(performance.now() - t0).toFixed(0)} ms, names: ${names.slice(0, 6).join(", ")}, ...`,
  );

  await using dataset = await DataSet.open(ds);
  const keys = await dataset.keys();
  if (keys.length !== workers * runs || new Set(keys).size !== keys.length) {
    throw new Error(`expected ${workers * runs} distinct items, got ${keys.length}`);
  }
  console.log(
    `    the DataSet lists ${keys.length} distinct items; info of ${keys[0]}:`,
    await dataset.info(keys[0]!),
  );

  const cli = join(here, "..", "src", "cli", "main.ts");
  console.log("\n=== persist show (the CLI, reading safely without running the archive code)\n");
  console.log((await run(process.execPath, ["--import", "tsx", cli, "show", ds])).trimEnd());

  const item = keys[3]!;
  const script = join(root, "read-item.mjs");
  await writeFile(
    script,
    `const { default: x } = await import(${JSON.stringify(join(ds, `${item}.mjs`))});\n` +
      `const { info } = await import(${JSON.stringify(join(ds, "index.mjs"))});\n` +
      `console.log("    ${item}: trajectory", x.trajectory.dtype, JSON.stringify(x.trajectory.shape), "omega", x.params.omega, "| index info:", JSON.stringify(info["${item}"]));\n`,
  );
  console.log(
    "\n=== A fresh Node process imports one item and the index natively (plain node, no library)",
  );
  console.log((await run(process.execPath, [script])).trimEnd());

  const npy = join(ds, `${item}_arrays`, "array_0.npy");
  const py = spawnSync(
    "/usr/bin/python3",
    [
      "-c",
      "import numpy, sys; a = numpy.load(sys.argv[1]); print('    numpy.load:', a.dtype, a.shape, 'x[0:3] =', a[1, :3])",
      npy,
    ],
    { encoding: "utf8" },
  );
  console.log("\n=== Python reads the item's .npy file");
  if (py.status === 0) console.log(py.stdout.trimEnd());
  else
    console.log(
      `    (skipped: /usr/bin/python3 with numpy not available: ${py.stderr.trim().split("\n").pop()})`,
    );
}
