#!/usr/bin/env node
/** The `persist` executable (package.json "bin"). See run.ts. */
import { runCli } from "./run.js";

// The AWS SDK warns on stderr, once per process, that its releases after January 2027 will need
// Node >= 22. That is advice for the maintainers of this package, not for a CLI user reading an
// S3 DataSet, whose output it clutters. Only the executable turns it off (programs that use the
// library keep the SDK's default), and a user who set the variable keeps their choice.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

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
