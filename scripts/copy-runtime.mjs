// After tsc: put the runtime into dist/ byte for byte. tsc re-emits .mjs files (reformatted), but
// this file is copied verbatim beside every saved archive, so archives written by the published
// package must carry exactly the reviewed source.
import { copyFileSync, cpSync } from "node:fs";

copyFileSync("src/runtime/persist-runtime.mjs", "dist/runtime/persist-runtime.mjs");

// The Python package (python/) ships the same runtime for the archives its save() writes.
copyFileSync(
  "src/runtime/persist-runtime.mjs",
  "python/persist_archive/_runtime/persist-runtime.mjs",
);

// The viewer's page (src/view/static: HTML, CSS, browser JavaScript) is served as files, not
// compiled: copy it beside dist/view/server.js.
cpSync("src/view/static", "dist/view/static", { recursive: true });
