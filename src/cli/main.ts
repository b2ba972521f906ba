#!/usr/bin/env node
/** The `persist` executable (package.json "bin"). See run.ts. */
import { runCli } from "./run.js";

// A reader that stops early (`persist show big.ds | head -1`) closes the pipe: that is not an
// error. Stop quietly with exit 0 instead of dying of an unhandled EPIPE.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(0);
    throw error;
  });
}

// Exit via process.exitCode (not process.exit) so that piped stdout is flushed completely.
process.exitCode = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
});
