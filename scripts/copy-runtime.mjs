// After tsc: put the runtime into dist/ byte for byte. tsc re-emits .mjs files (reformatted), but
// this file is copied verbatim beside every saved archive, so archives written by the published
// package must carry exactly the reviewed source.
import { copyFileSync } from "node:fs";

copyFileSync("src/runtime/persist-runtime.mjs", "dist/runtime/persist-runtime.mjs");
