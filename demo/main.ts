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
} finally {
  if (process.env.PERSIST_DEMO_KEEP) console.log(`(kept ${root})`);
  else await rm(root, { recursive: true, force: true });
}
