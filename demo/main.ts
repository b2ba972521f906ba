/**
 * `npm run demo`: the whole story in a few seconds, in a temp folder that is removed afterwards
 * (set PERSIST_DEMO_KEEP=1 to keep it).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { archiveStory } from "./archive-story.js";
import { datasetStory } from "./dataset-story.js";

const root = await mkdtemp(join(tmpdir(), "persist-demo-"));
try {
  await archiveStory(root);
  await datasetStory(root);
  console.log("\nDemo finished.");
  const sweep = join(root, "sweep.ds");
  console.log(
    process.env.PERSIST_DEMO_KEEP
      ? `Look at the demo DataSet in the viewer: npx persist view ${sweep}`
      : "Look at the demo DataSet in the viewer: PERSIST_DEMO_KEEP=1 npm run demo, then\n" +
          "  npx persist view <the kept folder>/sweep.ds   (prints a URL to open in a browser)",
  );
} finally {
  if (process.env.PERSIST_DEMO_KEEP) console.log(`(kept ${root})`);
  else await rm(root, { recursive: true, force: true });
}
