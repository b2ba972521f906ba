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
import { type Io, Printer, styled } from "./terminal.js";
import { parseCommandLine, UsageError } from "./usage.js";
import { verify } from "./verify.js";

export async function runCli(argv: readonly string[], io: Io): Promise<number> {
  const err = new Printer(io.stderr);
  let parsed: ReturnType<typeof parseCommandLine>;
  try {
    parsed = parseCommandLine(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    err.line`${styled("red", "persist")}: ${error.message}\n`;
    new Printer(io.stderr).json(error.usage); // the usage text is this program's own
    return 2;
  }
  const out = new Printer(io.stdout);
  try {
    if ("path" in parsed && parsed.path.startsWith("s3://") && parsed.command !== "convert") {
      // S3 (store/s3-archive.ts): a DataSet is read in place, an archive from a downloaded copy.
      const { isS3DataSet, withDownloadedArchive } = await import("../store/s3-archive.js");
      if (!(await isS3DataSet(parsed.path))) {
        const url = parsed.path;
        return await withDownloadedArchive(url, undefined, (local) => {
          // Messages name the archive's address, not the temp copy.
          const home = local.replace(/[\\/](index\.mjs)?$/, "");
          const remote = url.replace(/\/(index\.mjs)?$/, "");
          const named = (stream: Io["stdout"]): Io["stdout"] =>
            Object.assign(Object.create(stream), {
              write: (text: string) => stream.write(text.split(home).join(remote)),
            });
          const localIo = { stdout: named(io.stdout), stderr: named(io.stderr) };
          return runCli(
            [...argv].map((a) => (a === url ? local : a)),
            localIo,
          );
        });
      }
    }
    switch (parsed.command) {
      case "help":
        out.json(parsed.text); // this program's own text
        return 0;
      case "version":
        out.line`${version()}`;
        return 0;
      case "show":
        return await show(parsed.path, parsed.json, parsed.select, io);
      case "get":
        return await get(parsed.path, parsed.name, parsed.json, io);
      case "verify":
        return await verify(parsed.path, parsed.json, io);
      case "convert":
        return await convert(parsed.path, parsed.format, parsed.out, io);
      case "view": {
        const { view } = await import("../view/command.js");
        return await view(parsed, io);
      }
    }
  } catch (error) {
    const label = styled("red", `persist ${parsed.command}`);
    if (error instanceof UsageError) {
      err.line`${label}: ${error.message}`;
      err.line`(run "persist ${parsed.command} --help" for its usage)`;
      return 2;
    }
    if (isInputError(error)) {
      err.line`${label}: ${errorText(error)}`;
    } else {
      // A bug rather than a problem with the input: still no stack trace unless asked for.
      err.line`${label}: internal error: ${errorText(error)}`;
      if (process.env.PERSIST_DEBUG && error instanceof Error) {
        for (const line of String(error.stack).split("\n")) err.line`${line}`;
      }
      err.line`(set PERSIST_DEBUG=1 for a stack trace; please report it)`;
    }
    return 1;
  }
}

/** package.json is two levels up both from src/cli/main.ts and from dist/cli/main.js. */
function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
  return `persist-archive ${pkg.version}`;
}
