/**
 * What the CLI writes, and how it looks: colour and progress bars only when the stream is a
 * terminal (and NO_COLOR is unset), so piped or redirected output stays plain text.
 */
import { readFileSync } from "node:fs";
import { clean } from "./escape.js";

/** The part of a stream the CLI needs; tests pass fakes. */
export interface OutStream {
  /** Returns false when the caller should wait for "drain" (Node streams). */
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
  once?(event: "drain", listener: () => void): unknown;
}

/** Where a command writes: results to stdout, problems and progress to stderr. */
export interface Io {
  stdout: OutStream;
  stderr: OutStream;
}

// SGR codes written by hand: util.styleText decides by looking at process.stdout (and in Node 20
// not at all), whereas the stream written to is what matters here.
const STYLES = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  cyan: [36, 39],
} as const;

type Style = keyof typeof STYLES;

/** True when `stream` is a terminal that should get colour. */
export function wantsColour(stream: OutStream): boolean {
  return stream.isTTY === true && !process.env.NO_COLOR;
}

/** clean(`text`) in `style` on a colour terminal, clean(`text`) otherwise. */
export function paint(stream: OutStream, style: Style, text: string): string {
  if (!wantsColour(stream)) return clean(text);
  const [on, off] = STYLES[style];
  return `\x1b[${on}m${clean(text)}\x1b[${off}m`;
}

/** A value to print in a style (see Printer). */
export class Styled {
  constructor(
    readonly style: Style,
    readonly text: string,
  ) {}
}

export function styled(style: Style, text: string): Styled {
  return new Styled(style, text);
}

export type Printable = string | number | Styled;

/**
 * Everything the CLI prints goes through a Printer, so that nothing an archive controls reaches the
 * terminal raw: the literal parts of a template are this program's own text and are written as
 * they are; every interpolated value is passed through clean() (and coloured if Styled).
 * JSON text from json-stream.ts is written with `json`: it escapes its strings itself.
 */
export class Printer {
  private waiting: Promise<void> | undefined;

  constructor(readonly stream: OutStream) {}

  /** One line: `out.line\`item ${name}: ${summary}\``. */
  line(strings: TemplateStringsArray, ...values: Printable[]): void {
    this.put(`${this.render(strings, values)}\n`);
  }

  /** Like line, without the newline. */
  text(strings: TemplateStringsArray, ...values: Printable[]): void {
    this.put(this.render(strings, values));
  }

  /** A table of cells (each cleaned), left-aligned, the first column highlighted. */
  table(rows: readonly (readonly string[])[]): void {
    const cleaned = rows.map((row) => row.map(clean));
    const widths: number[] = [];
    // a very long cell (a deeply nested path) overflows its column instead of widening it
    for (const row of cleaned) {
      for (const [i, cell] of row.entries()) {
        if (cell.length <= 48) widths[i] = Math.max(widths[i] ?? 0, cell.length);
      }
    }
    for (const row of cleaned) {
      const cells = row.map((cell, i) => {
        const padded = i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0);
        // already clean: paint cleans again, which leaves clean text as it is
        return i === 0 ? paint(this.stream, "cyan", padded) : padded;
      });
      this.put(`  ${cells.join("  ")}\n`);
    }
  }

  /** JSON text made by json-stream.ts (strings already escaped with jsonQuote). */
  json(text: string): void {
    this.put(text);
  }

  /** Resolves when the stream has room again (backpressure for long outputs). */
  async drained(): Promise<void> {
    const waiting = this.waiting;
    this.waiting = undefined;
    if (waiting) await waiting;
  }

  private put(text: string): void {
    const ok = this.stream.write(text);
    if (ok === false && this.stream.once && !this.waiting) {
      const stream = this.stream;
      this.waiting = new Promise((resolve) => stream.once!("drain", resolve));
    }
  }

  private render(strings: TemplateStringsArray, values: readonly Printable[]): string {
    let out = strings[0]!;
    for (let i = 0; i < values.length; i++) {
      const value = values[i]!;
      out +=
        value instanceof Styled
          ? paint(this.stream, value.style, value.text)
          : clean(String(value));
      out += strings[i + 1]!;
    }
    return out;
  }
}

/** Human-readable byte count: "812 B", "1.2 kB", "3.4 MB" (powers of 1000, like `ls -h --si`). */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = "B";
  for (const u of units) {
    if (value < 1000) break;
    value /= 1000;
    unit = u;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${unit}`;
}

/**
 * One line of a progress bar, at most `width` characters: `label [#####.....] 12/40`.
 * Pure, so it is unit-tested; Progress below decides when and where to draw it.
 */
export function renderProgress(
  label: string,
  done: number,
  total: number,
  width: number,
  unit: "items" | "bytes" = "items",
): string {
  const count =
    unit === "bytes" ? `${formatBytes(done)}/${formatBytes(total)}` : `${done}/${total}`;
  const fixed = label.length + count.length + 4; // "label [" + "] " + count
  const barWidth = Math.max(0, Math.min(40, width - fixed));
  const fraction = total > 0 ? Math.min(1, Math.max(0, done / total)) : 1;
  const filled = Math.round(fraction * barWidth);
  const bar = `${"#".repeat(filled)}${".".repeat(barWidth - filled)}`;
  const line = barWidth > 0 ? `${label} [${bar}] ${count}` : `${label} ${count}`;
  return line.slice(0, Math.max(0, width));
}

/**
 * A progress bar redrawn in place (carriage return) on a terminal, at most every `intervalMs`;
 * on anything else it writes nothing at all.
 */
export class Progress {
  private done = 0;
  private lastDraw = 0;
  private drawn = false;
  private readonly active: boolean;

  constructor(
    private readonly stream: OutStream,
    private readonly label: string,
    private readonly total: number,
    private readonly intervalMs = 50,
    private readonly unit: "items" | "bytes" = "items",
  ) {
    this.active = stream.isTTY === true;
  }

  /** `amount` more done: one item, or a number of bytes for a byte progress bar. */
  tick(amount = 1): void {
    this.done += amount;
    if (!this.active) return;
    const now = Date.now();
    if (this.done < this.total && now - this.lastDraw < this.intervalMs) return;
    this.lastDraw = now;
    this.draw();
  }

  /** Sets the amount done (for progress measured elsewhere), redrawing as tick does. */
  set(done: number): void {
    this.tick(Math.max(0, Math.min(this.total, done)) - this.done);
  }

  /** Erase the bar so that the next line starts clean. */
  finish(): void {
    if (!this.active || !this.drawn) return;
    // the only raw writes besides Printer's: this class's own escape sequences
    this.stream.write("\r\x1b[2K");
    this.drawn = false;
  }

  private draw(): void {
    // A pseudo-terminal without a size (e.g. under script(1)) reports 0 columns.
    const columns = this.stream.columns;
    const width = (columns !== undefined && columns > 0 ? columns : 80) - 1;
    const line = renderProgress(clean(this.label), this.done, this.total, width, this.unit);
    this.stream.write(`\r\x1b[2K${line}`);
    this.drawn = true;
  }
}

/**
 * Byte progress of work done inside library calls that report none (reading one 1 GiB array,
 * re-saving it): on a terminal, polls the bytes this process has read and written
 * (/proc/self/io rchar + wchar, Linux) every 200 ms against the bytes expected. Elsewhere (or
 * without /proc) it does nothing. Stop it with `stop()`.
 */
export function watchBytes(stream: OutStream, label: string, expected: number): { stop(): void } {
  if (stream.isTTY !== true || expected <= 0) return { stop() {} };
  const start = ioBytes();
  if (start === undefined) return { stop() {} };
  const progress = new Progress(stream, label, expected, 0, "bytes");
  const timer = setInterval(() => {
    const now = ioBytes();
    if (now !== undefined) progress.set(now - start);
  }, 200);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      progress.finish();
    },
  };
}

function ioBytes(): number | undefined {
  try {
    const text = readFileSync("/proc/self/io", "utf8");
    const read = /^rchar:\s*(\d+)/m.exec(text);
    const written = /^wchar:\s*(\d+)/m.exec(text);
    if (!read || !written) return undefined;
    return Number(read[1]) + Number(written[1]);
  } catch {
    return undefined;
  }
}
