/** `persist view PATH [--port N] [--host H] [--no-open]`: serve the viewer until Ctrl-C. */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { type Io, Printer, styled } from "../cli/terminal.js";
import { startViewer } from "./server.js";

export interface ViewCommand {
  path: string;
  port: number;
  host: string;
  open: boolean;
}

export async function view(options: ViewCommand, io: Io): Promise<number> {
  const viewer = await startViewer(options.path, {
    host: options.host,
    port: options.port,
    token: randomBytes(24).toString("base64url"),
  });
  const out = new Printer(io.stdout);
  out.line`${styled("bold", "persist view")} ${viewer.model.root}`;
  out.line`  ${styled("cyan", viewer.url)}`;
  out.line`(read-only; the URL's token is the key, keep it private; Ctrl-C stops)`;
  if (options.open) openBrowser(viewer.url);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  await viewer.close();
  return 0;
}

/** Best effort: the URL is printed anyway, and a machine without a desktop just has no opener. */
function openBrowser(url: string): void {
  const command =
    process.platform === "darwin" ? "open" : process.platform === "win32" ? "explorer" : "xdg-open";
  try {
    const child = spawn(command, [url], { stdio: "ignore", detached: true });
    child.on("error", () => {});
    child.unref();
  } catch {
    // no opener
  }
}
