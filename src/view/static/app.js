// persist view: the page. Plain browser JavaScript (no build step), served by src/view/server.ts.
// Every piece of archive text enters the page as a text node (el() below, textContent): never as
// HTML, so an archive holding "<script>" shows those characters and runs nothing.

const TOKEN = new URLSearchParams(location.search).get("token") || "";
const PAGE_SIZE = 50;
const main = document.getElementById("main");
const state = {
  summary: null,
  ready: null,
  version: null,
  sort: "",
  where: "",
  offset: 0,
  selected: new Set(),
};

/** An element with attributes/properties and children (strings become text nodes). */
function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (key === "class") node.className = value;
    else if (key === "on")
      for (const [event, fn] of Object.entries(value)) node.addEventListener(event, fn);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key in node) node[key] = value;
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

async function api(route, params) {
  const query = new URLSearchParams(params || {});
  query.set("token", TOKEN);
  const response = await fetch(`api/${route}?${query}`);
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  return body;
}

function showError(where, error) {
  where.replaceChildren(
    el("p", { class: "error" }, String(error?.message ? error.message : error)),
  );
}

function formatBytes(n) {
  if (n === null || n === undefined) return "…";
  const units = ["B", "kB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${i === 0 ? n : n < 10 ? n.toFixed(1) : Math.round(n)} ${units[i]}`;
}

function decode(base64, Type) {
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  return new Type(bytes.buffer);
}

// ---------------------------------------------------------------------------------------------
// Routing

function route() {
  const hash = decodeURIComponent(location.hash.slice(1) || "/");
  document.body.dataset.route = hash;
  if (hash.startsWith("/item/")) return itemPage(hash.slice(6));
  if (hash === "/archive") return itemPage("");
  if (hash === "/scatter") return scatterPage();
  if (hash.startsWith("/overlay/")) return overlayPage(JSON.parse(hash.slice(9)));
  return state.summary && state.summary.type === "archive" ? itemPage("") : tablePage();
}

async function start() {
  // The kind of target comes with the page, so the first view's requests start now, beside the
  // summary's, instead of after it (what the summary carries fills in when it arrives).
  const kind = document.body.dataset.kind === "dataset" ? "dataset" : "archive";
  state.summary = { type: kind };
  const nav = document.getElementById("nav");
  if (kind === "dataset") {
    nav.append(el("a", { href: "#/" }, "Items"), el("a", { href: "#/scatter" }, "Scatter"));
  }
  state.ready = api("summary").then((s) => {
    state.summary = s;
    state.version = s.version;
    document.getElementById("where").textContent = s.path;
    document.title = `persist view: ${s.path}`;
    updateStats();
    return s;
  });
  state.ready.catch(() => undefined); // shown below
  window.addEventListener("hashchange", route);
  route();
  try {
    await state.ready;
  } catch (error) {
    return showError(main, error);
  }
  if (kind === "dataset") setInterval(poll, 1000);
}

function updateStats() {
  const s = state.summary;
  const stats = document.getElementById("stats");
  if (s.type === "dataset") {
    const when = s.lastChange ? new Date(s.lastChange).toLocaleString() : "never";
    stats.textContent = `${s.count} items · ${formatBytes(s.bytes)} · last change ${when}`;
  } else {
    stats.textContent = `archive · ${formatBytes(s.bytes)}`;
  }
}

/** Live updates: the summary's version changes whenever any process writes the DataSet. */
async function poll() {
  try {
    const s = await api("summary");
    const changed = s.version !== state.version;
    state.summary = s;
    state.version = s.version;
    updateStats();
    if (changed && document.body.dataset.route === "/") await loadTable();
  } catch {
    // the server stopped; keep the page
  }
}

// ---------------------------------------------------------------------------------------------
// DataSet table

let tableView = null;

function tablePage() {
  const filter = el("input", {
    type: "text",
    id: "filter",
    placeholder: 'filter: omega > 1 && tag == "first"',
    value: state.where,
    on: {
      keydown: (event) => {
        if (event.key === "Enter") {
          state.where = filter.value.trim();
          state.offset = 0;
          loadTable();
        }
      },
    },
  });
  const count = el("span", { id: "count", class: "muted" });
  const pager = el("span", { class: "pager" });
  const overlay = el(
    "button",
    {
      id: "overlay-selected",
      on: { click: () => openOverlayChooser() },
      title: "plot one array of each selected item on one set of axes",
    },
    "Overlay arrays of selected",
  );
  const table = el("table", { class: "items", id: "items" });
  const message = el("div");
  tableView = { table, count, pager, message };
  main.replaceChildren(
    el(
      "div",
      { class: "toolbar" },
      filter,
      el(
        "button",
        {
          on: {
            click: () => {
              state.where = filter.value.trim();
              state.offset = 0;
              loadTable();
            },
          },
        },
        "Apply",
      ),
      count,
      pager,
      overlay,
    ),
    message,
    table,
  );
  loadTable();
}

async function loadTable() {
  if (!tableView) return;
  const { table, count, pager, message } = tableView;
  let page;
  try {
    page = await api("table", {
      offset: state.offset,
      limit: PAGE_SIZE,
      sort: state.sort,
      where: state.where,
    });
  } catch (error) {
    return showError(message, error);
  }
  message.replaceChildren();
  count.textContent =
    page.matched === page.total ? `${page.total} items` : `${page.matched} of ${page.total} items`;
  const sortField = state.sort.replace(/^-/, "");
  const header = el(
    "tr",
    {},
    el("th", {}, ""),
    ["name", ...page.columns].map((column) => {
      const cls =
        column === sortField ? (state.sort.startsWith("-") ? "sorted-desc" : "sorted-asc") : "";
      return el(
        "th",
        {
          class: cls,
          dataset: { column },
          title: `sort by ${column}`,
          on: {
            click: () => {
              state.sort = state.sort === column ? `-${column}` : column;
              state.offset = 0;
              loadTable();
            },
          },
        },
        column,
      );
    }),
  );
  const rows = page.rows.map((row) =>
    el(
      "tr",
      { dataset: { name: row.name } },
      el(
        "td",
        {},
        el("input", {
          type: "checkbox",
          checked: state.selected.has(row.name),
          on: {
            change: (e) =>
              e.target.checked ? state.selected.add(row.name) : state.selected.delete(row.name),
          },
        }),
      ),
      el("td", {}, el("a", { href: `#/item/${encodeURIComponent(row.name)}` }, row.name)),
      row.error !== undefined
        ? el(
            "td",
            { class: "error", colSpan: Math.max(1, page.columns.length) },
            `info unreadable: ${row.error}`,
          )
        : row.cells.map((cell) =>
            el(
              "td",
              {
                class: typeof cell === "number" ? "num" : "",
                title: cell === null ? "" : String(cell),
              },
              cell === null ? "" : String(cell),
            ),
          ),
    ),
  );
  table.replaceChildren(el("thead", {}, header), el("tbody", {}, rows));
  const pages = Math.max(1, Math.ceil(page.matched / PAGE_SIZE));
  const current = Math.floor(state.offset / PAGE_SIZE) + 1;
  pager.replaceChildren(
    el(
      "button",
      {
        disabled: current <= 1,
        on: {
          click: () => {
            state.offset -= PAGE_SIZE;
            loadTable();
          },
        },
      },
      "‹ prev",
    ),
    ` page ${current} of ${pages} `,
    el(
      "button",
      {
        disabled: current >= pages,
        on: {
          click: () => {
            state.offset += PAGE_SIZE;
            loadTable();
          },
        },
      },
      "next ›",
    ),
  );
}

// ---------------------------------------------------------------------------------------------
// Item / archive page

async function itemPage(name) {
  const title = name === "" ? "archive" : name;
  const treeBox = el("div", { class: "tree", id: "tree" }, el("p", { class: "muted" }, "Loading…"));
  const plots = el("div", { id: "plots" });
  const source = el("div", { class: "source", id: "source" });
  main.replaceChildren(
    el("h1", { style: "font-size:18px;margin:4px 0 12px" }, title),
    el(
      "div",
      { class: "cols" },
      el("div", {}, el("div", { class: "panel" }, el("h2", {}, "Value"), treeBox)),
      el(
        "div",
        {},
        el("div", { class: "panel" }, el("h2", {}, "Plots"), plots),
        el("div", { class: "panel" }, el("h2", {}, "Source"), source),
      ),
    ),
  );
  const arrays = [];
  try {
    const tree = await api("tree", { item: name });
    treeBox.replaceChildren(renderNode(tree, name, arrays, 0, plots));
  } catch (error) {
    showError(treeBox, error);
  }
  // the first arrays are plotted right away
  for (const node of arrays.slice(0, 4)) addPlot(plots, name, node);
  if (arrays.length === 0)
    plots.replaceChildren(el("p", { class: "muted" }, "No arrays in this value."));
  try {
    const src = await api("source", { item: name });
    const lines = src.text.split("\n");
    const shown = lines.slice(0, 5000);
    source.replaceChildren(...shown.map((line) => el("div", {}, line)));
    if (lines.length > shown.length || src.truncated) {
      source.append(
        el(
          "p",
          { class: "muted" },
          `… ${lines.length - shown.length} more lines not shown (${src.file})`,
        ),
      );
    }
  } catch (error) {
    showError(source, error);
  }
}

function renderNode(node, item, arrays, depth, plots) {
  const label = [
    node.k !== undefined ? el("span", { class: "key" }, node.k, ": ") : null,
    el("span", { class: "type" }, node.type),
    node.module !== undefined
      ? el("span", { class: "module" }, ` from ${JSON.stringify(node.module)}`)
      : null,
    node.info ? el("span", { class: "info" }, ` ${node.info}`) : null,
    node.v !== undefined ? el("span", { class: "value" }, ` ${node.v}`) : null,
    node.id !== undefined ? el("span", { class: "ref" }, ` #${node.id}`) : null,
    node.ref !== undefined
      ? el(
          "span",
          { class: "ref" },
          node.cycle ? ` ↻ cycle to #${node.ref}` : ` → shared #${node.ref}`,
        )
      : null,
  ];
  if (node.plot) {
    arrays.push(node);
    label.push(el("button", { on: { click: () => addPlot(plots, item, node, true) } }, "plot"));
    if (state.summary.type === "dataset" && node.plot === "line") {
      label.push(
        el(
          "button",
          {
            title: "plot this array of the selected items (or of the first 8 in the table)",
            on: { click: () => (location.hash = `#/overlay/${JSON.stringify(node.at)}`) },
          },
          "overlay",
        ),
      );
    }
  }
  const hasChildren = (node.c && node.c.length > 0) || node.deeper || node.more;
  if (!hasChildren) return el("div", { class: "leaf" }, label);
  const box = el("details", { open: depth < 2 }, el("summary", {}, label));
  for (const child of node.c || []) box.append(renderNode(child, item, arrays, depth + 1, plots));
  if (node.more || node.deeper) {
    const from = (node.c || []).length;
    const more = el(
      "button",
      {
        on: {
          click: async () => {
            more.disabled = true;
            try {
              const sub = await api("tree", {
                item,
                at: JSON.stringify(node.at),
                from: node.deeper ? 0 : from,
              });
              const extra = [];
              for (const child of sub.c || [])
                box.insertBefore(renderNode(child, item, extra, depth + 1, plots), more);
              more.remove();
              if (sub.more) box.append(el("div", { class: "leaf muted" }, `… ${sub.more} more`));
            } catch (error) {
              more.replaceWith(el("span", { class: "error" }, String(error.message)));
            }
          },
        },
      },
      node.deeper ? "open deeper levels" : `show ${node.more} more`,
    );
    box.append(more);
  }
  return box;
}

// ---------------------------------------------------------------------------------------------
// Plots

function plotWidth(container) {
  return Math.max(320, Math.min(1100, (container.clientWidth || 800) - 10));
}

async function addPlot(plots, item, node, first) {
  const box = el(
    "div",
    { class: "plot" },
    el("h3", {}, `${pathText(node.at)}  ${node.dtype} [${node.shape.join(", ")}]`),
  );
  if (first) plots.prepend(box);
  else plots.append(box);
  try {
    if (node.plot === "line") {
      if (node.complex) {
        await linePlot(box, item, node, "abs", "magnitude");
        await linePlot(box, item, node, "phase", "phase");
      } else {
        await linePlot(box, item, node, "abs", "value");
      }
    } else {
      await heatmapPlot(box, item, node);
    }
  } catch (error) {
    box.append(el("p", { class: "error" }, String(error.message)));
  }
}

function pathText(steps) {
  return (
    (steps || [])
      .map((s) => {
        const key = s.slice(2);
        switch (s[0]) {
          case "k":
            return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
          case "i":
            return `[${key}]`;
          case "m":
            return `.get(#${key})`;
          case "s":
            return `.values[${key}]`;
          default:
            return `.args[${key}]`;
        }
      })
      .join("")
      .replace(/^\./, "") || "value"
  );
}

/** Line data from /api/array as uPlot columns: x, min, max (raw values: min = max). */
function lineColumns(line) {
  const lo = decode(line.min, Float64Array);
  const hi = line.max ? decode(line.max, Float64Array) : lo;
  const x = new Float64Array(lo.length);
  for (let i = 0; i < lo.length; i++)
    x[i] = line.start + (line.step === 1 ? i : (i + 0.5) * line.step);
  const clean = (a) => Array.from(a, (v) => (Number.isFinite(v) ? v : null));
  return [Array.from(x), clean(lo), clean(hi)];
}

async function linePlot(box, item, node, part, label) {
  const width = plotWidth(box);
  const fetchRange = (start, stop) =>
    api("array", {
      item,
      at: JSON.stringify(node.at),
      width: Math.round(width),
      part,
      ...(start !== undefined ? { start, stop } : {}),
    });
  const first = await fetchRange();
  const size = first.size;
  const holder = el("div", { class: "uplot-holder" });
  const status = el("span", { class: "muted" });
  let pending = 0;
  let ready = false;
  const plot = new uPlot(
    {
      width,
      height: 260,
      scales: { x: { time: false } },
      series: [
        { label: "index" },
        { label: `${label} min`, stroke: "#2d6cdf", width: 1 },
        { label: `${label} max`, stroke: "#2d6cdf", width: 1 },
      ],
      bands: [{ series: [2, 1], fill: "rgba(45,108,223,0.25)" }],
      cursor: { drag: { x: true, y: false } },
      hooks: {
        setScale: [
          (u, key) => {
            if (key !== "x" || !ready) return;
            // more detail for the range now on screen (the server reduces again)
            const lo = Math.max(0, Math.floor(u.scales.x.min));
            const hi = Math.min(size, Math.ceil(u.scales.x.max) + 1);
            const ticket = ++pending;
            setTimeout(async () => {
              if (ticket !== pending) return;
              try {
                const more = await fetchRange(lo, hi);
                if (ticket === pending) {
                  u.setData(lineColumns(more.line), false);
                  status.textContent = describeLine(more.line);
                }
              } catch (error) {
                status.textContent = String(error.message);
              }
            }, 120);
          },
        ],
      },
    },
    lineColumns(first.line),
    holder,
  );
  status.textContent = describeLine(first.line);
  ready = true;
  const zoom = (factor, shift) => {
    const min = plot.scales.x.min;
    const max = plot.scales.x.max;
    const span = (max - min) * factor;
    const centre = (min + max) / 2 + (max - min) * shift;
    const lo = Math.max(0, centre - span / 2);
    plot.setScale("x", { min: lo, max: Math.min(size, lo + span) });
  };
  holder.addEventListener(
    "wheel",
    (event) => {
      event.preventDefault();
      zoom(event.deltaY > 0 ? 1.25 : 0.8, 0);
    },
    { passive: false },
  );
  box.append(
    holder,
    el(
      "div",
      { class: "toolbar" },
      el("button", { title: "pan left", on: { click: () => zoom(1, -0.25) } }, "◀"),
      el("button", { title: "pan right", on: { click: () => zoom(1, 0.25) } }, "▶"),
      el("button", { title: "zoom in", on: { click: () => zoom(0.5, 0) } }, "+"),
      el("button", { title: "zoom out", on: { click: () => zoom(2, 0) } }, "−"),
      el(
        "button",
        { title: "whole array", on: { click: () => plot.setScale("x", { min: 0, max: size }) } },
        "all",
      ),
      el("span", { class: "muted" }, "drag to zoom, wheel to zoom, hover for values"),
      status,
    ),
  );
  return plot;
}

function describeLine(line) {
  const n = line.stop - line.start;
  return line.step === 1
    ? `${n} values`
    : `${n} values as min/max of ${line.step.toFixed(1)} per pixel`;
}

/** Viridis, sampled: colour of t in [0, 1]. */
const VIRIDIS = [
  [68, 1, 84],
  [72, 40, 120],
  [62, 74, 137],
  [49, 104, 142],
  [38, 130, 142],
  [31, 158, 137],
  [53, 183, 121],
  [109, 205, 89],
  [180, 222, 44],
  [253, 231, 37],
];
function colour(t) {
  if (!Number.isFinite(t)) return [255, 255, 255];
  const x = Math.max(0, Math.min(1, t)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  return VIRIDIS[i].map((c, k) => Math.round(c + (VIRIDIS[i + 1][k] - c) * f));
}

async function heatmapPlot(box, item, node) {
  const parts = node.complex
    ? [
        ["abs", "magnitude"],
        ["phase", "phase"],
      ]
    : [["abs", "value"]];
  for (const [part, label] of parts) {
    const width = Math.min(plotWidth(box) - 80, 800);
    const data = await api("array", {
      item,
      at: JSON.stringify(node.at),
      width: Math.round(width),
      height: 400,
      part,
    });
    const heat = data.heat;
    const cells = decode(heat.cells, Float32Array);
    const lo = heat.lo ?? 0;
    const hi = heat.hi ?? 1;
    const span = hi - lo || 1;
    const image = new ImageData(heat.cols, heat.rows);
    for (let i = 0; i < cells.length; i++) {
      const [r, g, b] = colour((cells[i] - lo) / span);
      image.data.set([r, g, b, 255], 4 * i);
    }
    const scale = Math.max(1, Math.floor(Math.min(width / heat.cols, 400 / heat.rows)));
    const map = el("canvas", {
      class: "map heatmap",
      width: heat.cols * scale,
      height: heat.rows * scale,
      title: label,
    });
    const off = el("canvas", { width: heat.cols, height: heat.rows });
    off.getContext("2d").putImageData(image, 0, 0);
    const ctx = map.getContext("2d");
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(off, 0, 0, map.width, map.height);
    const bar = el("canvas", { class: "bar colourbar-canvas", width: 16, height: map.height });
    const bctx = bar.getContext("2d");
    for (let y = 0; y < bar.height; y++) {
      const [r, g, b] = colour(1 - y / Math.max(1, bar.height - 1));
      bctx.fillStyle = `rgb(${r},${g},${b})`;
      bctx.fillRect(0, y, 16, 1);
    }
    const hover = el("span", { class: "muted" });
    map.addEventListener("mousemove", (event) => {
      const c = Math.floor(event.offsetX / scale);
      const r = Math.floor(event.offsetY / scale);
      const v = cells[r * heat.cols + c];
      const rows = heat.shape[0];
      const cols = heat.shape[1];
      hover.textContent = `row ${Math.floor((r * rows) / heat.rows)}, col ${Math.floor((c * cols) / heat.cols)}: ${v}`;
    });
    box.append(
      el(
        "div",
        { class: "muted" },
        `${label}${heat.rows < heat.shape[0] || heat.cols < heat.shape[1] ? ` (block means, ${heat.rows}×${heat.cols} cells)` : ""}`,
      ),
      el(
        "div",
        { class: "heat" },
        map,
        bar,
        el("div", { class: "colourbar" }, el("span", {}, String(hi)), el("span", {}, String(lo))),
      ),
      hover,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Scatter of two info fields; overlay of one array across items

async function scatterPage() {
  await state.ready;
  const columns = (state.summary.columns || []).filter((c) => c !== "info");
  const pick = (id, initial) =>
    el(
      "select",
      { id, on: { change: draw } },
      columns.map((c) => el("option", { value: c, selected: c === initial }, c)),
    );
  const xs = pick("scatter-x", columns[0]);
  const ys = pick("scatter-y", columns[1] || columns[0]);
  const canvas = el("canvas", { class: "scatter", id: "scatter", width: 760, height: 480 });
  const hover = el("span", { class: "muted" });
  main.replaceChildren(el("div", { class: "toolbar" }, "x ", xs, " y ", ys, hover), canvas);
  let points = null;
  async function draw() {
    const data = await api("scatter", { x: xs.value, y: ys.value });
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    const pad = 40;
    const range = (a) => {
      let lo = Math.min(...a);
      let hi = Math.max(...a);
      if (!(hi > lo)) {
        lo -= 1;
        hi += 1;
      }
      return [lo, hi];
    };
    if (data.x.length === 0) {
      ctx.fillText("no items have both fields as numbers", pad, pad);
      points = [];
      return;
    }
    const [x0, x1] = range(data.x);
    const [y0, y1] = range(data.y);
    const px = (v) => pad + ((v - x0) / (x1 - x0)) * (canvas.width - 2 * pad);
    const py = (v) => canvas.height - pad - ((v - y0) / (y1 - y0)) * (canvas.height - 2 * pad);
    ctx.strokeStyle = "#999";
    ctx.strokeRect(pad, pad, canvas.width - 2 * pad, canvas.height - 2 * pad);
    ctx.fillStyle = "#333";
    ctx.fillText(String(x0), pad, canvas.height - pad + 14);
    ctx.fillText(String(x1), canvas.width - pad - 30, canvas.height - pad + 14);
    ctx.fillText(String(y1), 2, pad + 4);
    ctx.fillText(String(y0), 2, canvas.height - pad);
    ctx.fillStyle = "rgba(45,108,223,0.7)";
    points = data.names.map((name, i) => ({
      name,
      x: px(data.x[i]),
      y: py(data.y[i]),
      vx: data.x[i],
      vy: data.y[i],
    }));
    for (const p of points) {
      ctx.beginPath();
      ctx.arc(p.x, p.y, 3, 0, 2 * Math.PI);
      ctx.fill();
    }
  }
  const nearest = (event) => {
    let best = null;
    let bestD = 100;
    for (const p of points || []) {
      const d = (p.x - event.offsetX) ** 2 + (p.y - event.offsetY) ** 2;
      if (d < bestD) {
        best = p;
        bestD = d;
      }
    }
    return best;
  };
  canvas.addEventListener("mousemove", (event) => {
    const p = nearest(event);
    hover.textContent = p ? `${p.name}: ${p.vx}, ${p.vy}` : "";
  });
  canvas.addEventListener("click", (event) => {
    const p = nearest(event);
    if (p) location.hash = `#/item/${encodeURIComponent(p.name)}`;
  });
  await draw();
}

function openOverlayChooser() {
  main.prepend(
    el(
      "p",
      { class: "muted" },
      "Open an item, then press “overlay” beside one of its 1-D arrays: that array of the selected items (or the first 8 in the table) is plotted together.",
    ),
  );
}

async function overlayPage(at) {
  let names = [...state.selected];
  if (names.length === 0) {
    const page = await api("table", { offset: 0, limit: 8, sort: state.sort, where: state.where });
    names = page.rows.map((r) => r.name);
  }
  const holder = el("div", { id: "overlay" });
  main.replaceChildren(
    el("h1", { style: "font-size:18px" }, `${pathText(at)} across ${names.length} items`),
    holder,
  );
  const width = plotWidth(main);
  const series = [{ label: "index" }];
  const columns = [];
  const palette = [
    "#2d6cdf",
    "#e4572e",
    "#17bebb",
    "#ffb400",
    "#76b041",
    "#9b5de5",
    "#f15bb5",
    "#555",
  ];
  for (const [i, name] of names.entries()) {
    try {
      const data = await api("array", {
        item: name,
        at: JSON.stringify(at),
        width: Math.round(width),
      });
      if (data.kind !== "line") continue;
      const [x, lo, hi] = lineColumns(data.line);
      columns.push({
        x,
        y: lo.map((v, k) => (v === null || hi[k] === null ? null : (v + hi[k]) / 2)),
      });
      series.push({ label: name, stroke: palette[i % palette.length], width: 1 });
    } catch (error) {
      holder.append(el("p", { class: "error" }, `${name}: ${error.message}`));
    }
  }
  if (columns.length === 0)
    return holder.append(el("p", { class: "muted" }, "none of these items has that array"));
  // one x axis: the longest series' positions; shorter series end early
  const longest = columns.reduce((a, b) => (b.x.length > a.x.length ? b : a));
  const data = [
    longest.x,
    ...columns.map((c) => longest.x.map((_, k) => (k < c.y.length ? c.y[k] : null))),
  ];
  new uPlot({ width, height: 320, scales: { x: { time: false } }, series }, data, holder);
}

start();
