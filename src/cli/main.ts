#!/usr/bin/env node
/** The `persist` executable (package.json "bin"). See run.ts. */
import { runCli } from "./run.js";

// Exit via process.exitCode (not process.exit) so that piped stdout is flushed completely.
process.exitCode = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
});
