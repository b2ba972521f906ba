/**
 * Helpers of the viewer's end-to-end tests: `persist view` as a real child process, Debian's
 * Chromium driven by puppeteer-core (no browser download), pixel checks of canvases, and
 * screenshots kept when a check fails.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { MAIN, ROOT } from "../cli/helpers.js";
import { tempDir } from "../helpers/tmp.js";

export const CHROMIUM = process.env.PERSIST_CHROMIUM ?? "/usr/bin/chromium";

/** Why the browser tests cannot run here, or undefined. CI sets PERSIST_REQUIRE_CHROMIUM=1. */
export function chromiumMissing(): string | false {
  if (existsSync(CHROMIUM)) return false;
  if (process.env.PERSIST_REQUIRE_CHROMIUM) throw new Error(`${CHROMIUM} is required but missing`);
  return `${CHROMIUM} not installed (apt-get install chromium)`;
}

export async function launchBrowser(): Promise<Browser> {
  const profile = await tempDir("persist-chromium-");
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir: profile,
    args: [
      "--no-sandbox",
      "--headless",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--window-size=1400,1000",
    ],
    defaultViewport: { width: 1400, height: 1000 },
  });
}

export interface RunningViewer {
  url: string;
  origin: string;
  token: string;
  child: ChildProcess;
  /** Ctrl-C; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * `persist view PATH --no-open [args]` in a child process; resolves with the URL it prints. From
 * the sources through tsx, or with `built` the compiled `dist/cli/main.js` a user runs (what the
 * benchmark times: tsx compiles each module on first use, which the first requests would pay).
 */
export function startViewerProcess(
  path: string,
  args: string[] = [],
  { built = false } = {},
): Promise<RunningViewer> {
  const main = built ? ["dist/cli/main.js"] : ["--import", "tsx", MAIN];
  const child = spawn(process.execPath, [...main, "view", path, "--no-open", ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`persist view printed no URL: ${output}`)),
      60_000,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /(http:\/\/127\.0\.0\.1:\d+)\/\?token=([A-Za-z0-9_-]+)/.exec(output);
      if (!match) return;
      clearTimeout(timer);
      child.stdout!.off("data", onData);
      const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
      resolve({
        url: match[0],
        origin: match[1]!,
        token: match[2]!,
        child,
        async stop() {
          child.kill("SIGINT");
          return exited;
        },
      });
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("exit", (code) => reject(new Error(`persist view exited ${code}: ${output}`)));
  });
}

/** Pixels of `selector`'s canvases (each) that are neither transparent nor white. */
export async function inkedPixels(page: Page, selector: string): Promise<number[]> {
  return page.$$eval(selector, (canvases) =>
    canvases.map((node) => {
      // a DOM element (this program has no DOM types)
      const canvas = node as any;
      const context = canvas.getContext("2d");
      if (!context || canvas.width === 0 || canvas.height === 0) return 0;
      const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
      let inked = 0;
      for (let i = 0; i < data.length; i += 4) {
        const white = data[i]! > 245 && data[i + 1]! > 245 && data[i + 2]! > 245;
        if (data[i + 3]! > 0 && !white) inked++;
      }
      return inked;
    }),
  );
}

/** Where screenshots of failed checks go: outside the tests' private TMPDIR, so they are kept. */
async function screenshotDir(): Promise<string> {
  const tmp = tmpdir();
  const base = basename(tmp).startsWith("persist-test-run-") ? dirname(tmp) : tmp;
  const dir = join(base, `persist-view-screenshots-${process.pid}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

/** Runs `check`; on failure saves a screenshot of `page` (path in the error) and rethrows. */
export async function step<T>(page: Page, name: string, check: () => Promise<T>): Promise<T> {
  try {
    return await check();
  } catch (error) {
    const file = join(await screenshotDir(), `${name.replace(/\W+/g, "-")}.png`);
    await page.screenshot({ path: file as `${string}.png`, fullPage: true }).catch(() => {});
    (error as Error).message += `\n(screenshot: ${file})`;
    throw error;
  }
}
