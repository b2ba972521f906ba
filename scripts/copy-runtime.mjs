// After tsc: put the runtime into dist/ byte for byte. tsc re-emits .mjs files (reformatted), but
// this file is copied verbatim beside every saved archive, so archives written by the published
// package must carry exactly the reviewed source.
import { copyFileSync } from "node:fs";

copyFileSync("src/runtime/persist-runtime.mjs", "dist/runtime/persist-runtime.mjs");

// The Python package (python/) ships the same runtime for the archives its save() writes.
copyFileSync(
  "src/runtime/persist-runtime.mjs",
  "python/persist_archive/_runtime/persist-runtime.mjs",
);
