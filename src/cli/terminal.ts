/**
 * What the CLI writes, and how it looks: colour and progress bars only when the stream is a
 * terminal (and NO_COLOR is unset), so piped or redirected output stays plain text.
 */
/** The part of a stream the CLI needs; tests pass fakes. */
export interface OutStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
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

/** `text` in `style` on a colour terminal, unchanged otherwise. */
export function paint(stream: OutStream, style: Style, text: string): string {
  if (!wantsColour(stream)) return text;
  const [on, off] = STYLES[style];
  return `\x1b[${on}m${text}\x1b[${off}m`;
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
export function renderProgress(label: string, done: number, total: number, width: number): string {
  const count = `${done}/${total}`;
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
  ) {
    this.active = stream.isTTY === true;
  }

  tick(): void {
    this.done++;
    if (!this.active) return;
    const now = Date.now();
    if (this.done < this.total && now - this.lastDraw < this.intervalMs) return;
    this.lastDraw = now;
    this.draw();
  }

  /** Erase the bar so that the next line starts clean. */
  finish(): void {
    if (!this.active || !this.drawn) return;
    this.stream.write("\r\x1b[2K");
    this.drawn = false;
  }

  private draw(): void {
    // A pseudo-terminal without a size (e.g. under script(1)) reports 0 columns.
    const columns = this.stream.columns;
    const width = (columns !== undefined && columns > 0 ? columns : 80) - 1;
    this.stream.write(`\r\x1b[2K${renderProgress(this.label, this.done, this.total, width)}`);
    this.drawn = true;
  }
}
