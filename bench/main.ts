/**
 * `npm run bench [area ...]`: runs bench/<area>.ts for each area (all by default) and prints
 * ratios against baselines measured in the same run.
 */
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const all = readdirSync(here)
  .filter(
    (f) =>
      f.endsWith(".ts") && !["main.ts", "util.ts", "shapes.ts"].includes(f) && !f.startsWith("_"),
  )
  .map((f) => f.replace(/\.ts$/, ""))
  .sort();
const wanted = process.argv.slice(2);
for (const area of wanted.length ? wanted : all) {
  if (!all.includes(area)) {
    console.error(`unknown bench "${area}"; choose from: ${all.join(", ")}`);
    process.exit(2);
  }
  const mod = (await import(pathToFileURL(join(here, `${area}.ts`)).href)) as {
    run: () => Promise<void>;
  };
  await mod.run();
}
