/**
 * `persist view` end to end: the real command in a child process, Debian's Chromium through
 * puppeteer-core. DataSet page (rows, info columns, sorting, filtering, a live insert from another
 * writer), item tree, every plot kind drawing pixels, scatter click-through, the token, and an
 * archive whose strings hold <script> staying inert.
 */
import assert from "node:assert/strict";
import { request } from "node:http";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Browser, Page } from "puppeteer-core";
import { Archive } from "../../src/archive.js";
import { DataSet } from "../../src/dataset/dataset.js";
import { NDArray } from "../../src/runtime/persist-runtime.mjs";
import { tempDir } from "../helpers/tmp.js";
import {
  chromiumMissing,
  inkedPixels,
  launchBrowser,
  type RunningViewer,
  startViewerProcess,
  step,
} from "./browser.js";

const skip = chromiumMissing();
const ITEMS = 24;

let browser: Browser;
let dsPath: string;
let archivePath: string;
let dsViewer: RunningViewer;
let archiveViewer: RunningViewer;

async function makeFixtures(): Promise<void> {
  const dir = await tempDir();
  dsPath = join(dir, "runs");
  const ds = await DataSet.open(dsPath, { mode: "w", arrayThreshold: 16 });
  for (let i = 0; i < ITEMS; i++) {
    await ds.set(
      `run${String(i).padStart(2, "0")}`,
      {
        x: Float64Array.from({ length: 3000 }, (_, k) => Math.sin(k / (40 + i)) * (1 + i / 10)),
        grid: new NDArray(
          Float32Array.from({ length: 40 * 30 }, (_, k) => Math.cos(k / 50) * (k % 30)),
          [40, 30],
        ),
      },
      { info: { omega: (i * 7) % ITEMS, k: i % 5, tag: i % 2 ? "odd" : "even" } },
    );
  }
  await ds.close();
  const archive = new Archive({ arrayThreshold: 16 });
  const cfg: Record<string, unknown> = {
    title: "<script>window.__pwned = 1</script>",
    closing: '</script><img src=x onerror="window.__pwned = 2">',
    html: "<b onmouseover=alert(1)>bold</b>",
  };
  cfg.self = cfg;
  archive.insert({
    cfg,
    signal: Float64Array.from(
      { length: 200_000 },
      (_, k) => Math.sin(k / 3000) + (k === 123_456 ? 5 : 0),
    ),
    image: new NDArray(
      Float64Array.from({ length: 120 * 90 }, (_, k) => Math.floor(k / 90) * (k % 90)),
      [120, 90],
    ),
    wave: new NDArray(
      Float64Array.from({ length: 2 * 4000 }, (_, k) => (k % 2 ? Math.sin : Math.cos)(k / 200)),
      [4000],
      { dtype: "<c16" },
    ),
    field: new NDArray(
      Float32Array.from({ length: 2 * 50 * 40 }, (_, k) => Math.sin(k / 100)),
      [50, 40],
      { dtype: "<c8" },
    ),
  });
  archivePath = (await archive.save(dir, { name: "archive" })).entry;
}

before(async () => {
  if (skip) return;
  await makeFixtures();
  [browser, dsViewer, archiveViewer] = await Promise.all([
    launchBrowser(),
    startViewerProcess(dsPath),
    startViewerProcess(archivePath),
  ]);
});

after(async () => {
  await browser?.close();
  const codes = await Promise.all([dsViewer?.stop(), archiveViewer?.stop()]);
  if (!skip) assert.deepEqual(codes, [0, 0], "Ctrl-C ends persist view with exit 0");
});

/** status of a raw request (to set the Host header and method freely). */
function status(
  origin: string,
  path: string,
  options: { host?: string; method?: string } = {},
): Promise<number> {
  const url = new URL(path, origin);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: options.method ?? "GET", headers: options.host ? { host: options.host } : {} },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on("error", reject);
    req.end();
  });
}

async function rowNames(page: Page): Promise<string[]> {
  return page.$$eval("#items tbody tr", (rows) =>
    rows.map((r) => (r as any).dataset.name as string),
  );
}

async function waitRows(page: Page, predicate: string): Promise<void> {
  await page.waitForFunction(
    `(() => { const names = [...document.querySelectorAll("#items tbody tr")].map(r => r.dataset.name); return ${predicate}; })()`,
    { timeout: 20_000 },
  );
}

test("the token and the bound Host are required; the viewer is read-only", { skip }, async () => {
  const { origin, token } = dsViewer;
  const host = new URL(origin).host;
  assert.equal(await status(origin, "/"), 403);
  assert.equal(await status(origin, "/api/table"), 403);
  assert.equal(await status(origin, "/static/app.js"), 403);
  assert.equal(await status(origin, "/?token=wrong"), 403);
  assert.equal(await status(origin, `/?token=${token}x`), 403);
  assert.equal(await status(origin, `/?token=${token}`), 200);
  // DNS rebinding: a page of evil.example resolved to 127.0.0.1 sends its own Host
  assert.equal(
    await status(origin, `/?token=${token}`, { host: `evil.example:${new URL(origin).port}` }),
    403,
  );
  assert.equal(await status(origin, `/?token=${token}`, { host }), 200);
  for (const method of ["POST", "PUT", "DELETE", "PATCH"]) {
    assert.equal(await status(origin, `/api/table?token=${token}`, { method }), 405, method);
  }
  assert.equal(await status(origin, `/api/tree?token=${token}&item=../../etc/passwd`), 404);
  assert.equal(
    await status(origin, `/api/source?token=${token}&item=${encodeURIComponent("../x")}`),
    404,
  );
});

test("DataSet page: rows, info columns, sorting, filtering, a live insert", { skip }, async () => {
  const page = await browser.newPage();
  try {
    await page.goto(dsViewer.url);
    await step(page, "table", async () => {
      await page.waitForSelector("#items tbody tr");
      const headers = await page.$$eval("#items th", (ths) =>
        ths.map((t) => t.textContent!.trim()),
      );
      assert.deepEqual(headers.slice(1), ["name", "omega", "k", "tag"]);
      assert.equal((await rowNames(page)).length, ITEMS);
      assert.match(await page.$eval("#count", (e) => e.textContent!), new RegExp(`${ITEMS} items`));
      assert.match(await page.$eval("#stats", (e) => e.textContent!), /24 items .* last change/);
    });
    await step(page, "sort", async () => {
      await page.click('#items th[data-column="omega"]');
      await waitRows(page, 'names[0] === "run00" && names[1] === "run07"');
      await page.click('#items th[data-column="omega"]');
      // omega = 7i mod 24 is largest (23) for i = 17
      await waitRows(page, 'names[0] === "run17"');
      assert.ok(await page.$('#items th[data-column="omega"].sorted-desc'));
    });
    await step(page, "filter", async () => {
      await page.type("#filter", "k == 3 && tag == 'odd'");
      await page.keyboard.press("Enter");
      // k = i mod 5 = 3 and i odd: 3, 13, 23
      await waitRows(page, "names.length === 3");
      assert.deepEqual((await rowNames(page)).sort(), ["run03", "run13", "run23"]);
      assert.match(await page.$eval("#count", (e) => e.textContent!), /3 of 24 items/);
    });
    await step(page, "live insert", async () => {
      // another process (here: this one) inserts while the page is open; no reload
      const ds = await DataSet.open(dsPath, { mode: "w" });
      await ds.set("late", { x: new Float64Array(20) }, { info: { omega: 99, k: 3, tag: "odd" } });
      await ds.close();
      await waitRows(page, 'names.includes("late")');
      assert.match(await page.$eval("#stats", (e) => e.textContent!), /25 items/);
    });
  } finally {
    await page.close();
  }
});

test("item page: tree, line plot and heatmap draw; scatter and overlay draw and link", {
  skip,
}, async () => {
  const page = await browser.newPage();
  try {
    await page.goto(`${dsViewer.url}#/item/run05`);
    await step(page, "item tree", async () => {
      await page.waitForSelector("#tree details");
      const text = await page.$eval("#tree", (e) => e.textContent!);
      assert.match(text, /x: Float64Array <f8 \[3000\]/);
      assert.match(text, /grid: NDArray <f4 \[40, 30\]/);
      await page.waitForSelector("#source div");
      assert.match(await page.$eval("#source", (e) => e.textContent!), /export default/);
    });
    await step(page, "item plots", async () => {
      await page.waitForSelector("#plots .uplot canvas");
      await page.waitForSelector("#plots canvas.heatmap");
      for (const selector of [
        "#plots .uplot canvas",
        "#plots canvas.heatmap",
        "#plots canvas.colourbar-canvas",
      ]) {
        const inked = await inkedPixels(page, selector);
        assert.ok(inked.length > 0 && inked.every((n) => n > 200), `${selector}: ${inked}`);
      }
    });
    await step(page, "scatter", async () => {
      await page.goto(`${dsViewer.url}#/scatter`);
      await page.waitForSelector("#scatter");
      await page.select("#scatter-x", "omega");
      await page.select("#scatter-y", "k");
      await page.waitForSelector("#scatter");
      await new Promise((r) => setTimeout(r, 500));
      assert.ok((await inkedPixels(page, "#scatter"))[0]! > 100);
      // click where the page drew run17 (axes span the data's range, 40 px padding)
      const response = await fetch(
        `${dsViewer.origin}/api/scatter?token=${dsViewer.token}&x=omega&y=k`,
      );
      const data = (await response.json()) as { names: string[]; x: number[]; y: number[] };
      const span = (a: number[]) => [Math.min(...a), Math.max(...a)] as const;
      const [x0, x1] = span(data.x);
      const [y0, y1] = span(data.y);
      const at = data.names.indexOf("run17");
      const box = (await (await page.$("#scatter"))!.boundingBox())!;
      const x = 40 + ((data.x[at]! - x0) / (x1 - x0)) * (760 - 80);
      const y = 480 - 40 - ((data.y[at]! - y0) / (y1 - y0)) * (480 - 80);
      await page.mouse.click(box.x + x, box.y + y);
      await page.waitForFunction('location.hash === "#/item/run17"', { timeout: 10_000 });
    });
    await step(page, "overlay", async () => {
      await page.goto(`${dsViewer.url}#/overlay/${encodeURIComponent(JSON.stringify(["k:x"]))}`);
      await page.waitForSelector("#overlay .uplot canvas", { timeout: 20_000 });
      assert.ok((await inkedPixels(page, "#overlay .uplot canvas"))[0]! > 200);
      const legend = await page.$eval("#overlay", (e) => e.textContent!);
      assert.match(legend, /run00/);
    });
  } finally {
    await page.close();
  }
});

test("archive page: 1-D, 2-D and complex plots; cycles marked; <script> in strings stays inert", {
  skip,
}, async () => {
  const page = await browser.newPage();
  const dialogs: string[] = [];
  page.on("dialog", async (dialog) => {
    dialogs.push(dialog.message());
    await dialog.dismiss();
  });
  try {
    await page.goto(archiveViewer.url);
    await step(page, "archive tree", async () => {
      await page.waitForSelector("#tree details");
      const text = await page.$eval("#tree", (e) => e.textContent!);
      assert.ok(text.includes('"<script>window.__pwned = 1</script>"'), text.slice(0, 500));
      assert.ok(text.includes("</script><img src=x onerror="));
      assert.match(text, /self: object .*↻ cycle to #1/);
      assert.match(text, /wave: NDArray <c16 \[4000\]/);
    });
    await step(page, "archive plots", async () => {
      // four arrays: signal (line), image (heatmap), wave (magnitude + phase lines), field (heatmaps)
      await page.waitForFunction('document.querySelectorAll("#plots .uplot").length >= 3', {
        timeout: 30_000,
      });
      await page.waitForFunction('document.querySelectorAll("#plots canvas.heatmap").length >= 3', {
        timeout: 30_000,
      });
      const lines = await inkedPixels(page, "#plots .uplot canvas");
      assert.ok(lines.length >= 3 && lines.every((n) => n > 200), `lines: ${lines}`);
      const heat = await inkedPixels(page, "#plots canvas.heatmap");
      assert.ok(heat.length >= 3 && heat.every((n) => n > 200), `heatmaps: ${heat}`);
      const titles = await page.$$eval("#plots .plot h3", (hs) => hs.map((h) => h.textContent));
      assert.ok(titles.some((t) => /wave .*<c16/.test(t!)));
    });
    await step(page, "inert", async () => {
      assert.equal(await page.evaluate("typeof window.__pwned"), "undefined");
      assert.equal(await page.$$eval("img", (imgs) => imgs.length), 0);
      assert.equal(await page.$$eval("script", (s) => s.length), 2, "only the page's own scripts");
      assert.equal(await page.$$eval("b", (b) => b.length), 0);
      assert.deepEqual(dialogs, []);
    });
  } finally {
    await page.close();
  }
});
