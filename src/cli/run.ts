/**
 * The `persist` command as a function of its arguments and output streams (main.ts is the
 * executable that calls it), so tests can also run it in-process.
 * Exit codes: 0 ok, 1 problem found (bad path, broken item; named on stderr), 2 usage error.
 */
import { readFileSync } from "node:fs";
import { convert } from "./convert.js";
import { errorText, isInputError } from "./errors.js";
import { get } from "./get.js";
import { show } from "./show.js";
import { type Io, paint } from "./terminal.js";
import { parseCommandLine, UsageError } from "./usage.js";
import { verify } from "./verify.js";

export async function runCli(argv: readonly string[], io: Io): Promise<number> {
  let parsed: ReturnType<typeof parseCommandLine>;
  try {
    parsed = parseCommandLine(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr.write(`${paint(io.stderr, "red", "persist")}: ${error.message}\n\n${error.usage}`);
    return 2;
  }
  try {
    switch (parsed.command) {
      case "help":
        io.stdout.write(parsed.text);
        return 0;
      case "version":
        io.stdout.write(`${version()}\n`);
        return 0;
      case "show":
        return await show(parsed.path, parsed.json, io);
      case "get":
        return await get(parsed.path, parsed.name, parsed.json, io);
      case "verify":
        return await verify(parsed.path, io);
      case "convert":
        return await convert(parsed.path, parsed.format, parsed.out, io);
    }
  } catch (error) {
    const label = paint(io.stderr, "red", `persist ${parsed.command}`);
    if (isInputError(error)) {
      io.stderr.write(`${label}: ${errorText(error)}\n`);
    } else {
      // A bug rather than a problem with the input: still no stack trace unless asked for.
      const detail = process.env.PERSIST_DEBUG && error instanceof Error ? `\n${error.stack}` : "";
      io.stderr.write(
        `${label}: internal error: ${errorText(error)}${detail}\n` +
          "(set PERSIST_DEBUG=1 for a stack trace; please report it)\n",
      );
    }
    return 1;
  }
}

/** package.json is two levels up both from src/cli/main.ts and from dist/cli/main.js. */
function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
  return `persist-archive ${pkg.version}`;
}
