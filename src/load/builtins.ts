/**
 * Argument shapes the allow-listed built-in constructors accept in an archive, and the work budget
 * that keeps a small file from asking for a huge allocation (`new ArrayBuffer(1e12)`) or from
 * copying one big value over and over (`[new Set(_g0), new Set(_g0), ...]`).
 */
import { ERROR_CLASSES, isView, TYPED_ARRAY_CLASSES } from "./globals.js";

/**
 * Bytes of allocation and copying an archive may cause beyond its literals: 1 MiB plus 16 bytes
 * per character of text, plus twice the bytes of external arrays it loads. Literal arrays cost at
 * least two characters per element, so legitimate archives stay far below it.
 */
export class WorkBudget {
  left: number;
  constructor(textLength: number) {
    this.left = (1 << 20) + 16 * textLength;
  }
  /** Adds `bytes` (for data loaded from external array files). */
  grant(bytes: number): void {
    this.left += bytes;
  }
  /** Takes `bytes` from the budget; false when that would overdraw it. */
  charge(bytes: number): boolean {
    if (!(bytes <= this.left)) return false;
    this.left -= bytes;
    return true;
  }
}

export function isIndex(value: unknown): boolean {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

export function isPlainObject(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Returns undefined when `new ctor(...args)` is allowed, else what is wrong ("takes ...").
 * Charges the budget for what the call will allocate or copy.
 */
export function builtinArgsProblem(
  ctor: unknown,
  args: unknown[],
  budget: WorkBudget,
): string | undefined {
  const n = args.length;
  const a0 = args[0];
  if (ctor === Map || ctor === Set) {
    if (n > 1 || (n === 1 && !Array.isArray(a0))) return "takes an array literal";
    if (n === 1 && !budget.charge((a0 as unknown[]).length * 8))
      return "exceeds the archive's work budget";
  } else if (ctor === Date) {
    if (n === 0) return "needs a time (it would read the clock)";
    const numbers = args.every((a) => typeof a === "number");
    if ((!(n === 1 && typeof a0 === "string") && !numbers) || n > 7)
      return "takes a string or numbers";
  } else if (ctor === RegExp) {
    if (n < 1 || n > 2 || !args.every((a) => typeof a === "string"))
      return "takes a pattern and flags string";
  } else if (ERROR_CLASSES.has(ctor)) {
    if (n > 2 || (n >= 1 && typeof a0 !== "string" && a0 !== undefined))
      return "takes a message string";
    if (n === 2 && !isPlainObject(args[1])) return "takes an options object literal";
  } else if (ctor === AggregateError) {
    if (n < 1 || n > 3 || !Array.isArray(a0)) return "takes an array of errors";
    if (n >= 2 && typeof args[1] !== "string" && args[1] !== undefined)
      return "takes a message string";
    if (n === 3 && !isPlainObject(args[2])) return "takes an options object literal";
    if (!budget.charge(a0.length * 8)) return "exceeds the archive's work budget";
  } else if (ctor === Number || ctor === String || ctor === Boolean) {
    const t = typeof a0;
    if (n > 1 || t === "object" || t === "function" || t === "symbol") return "takes one primitive";
  } else if (ctor === URL || ctor === URLSearchParams) {
    if (n !== 1 || typeof a0 !== "string") return "takes one string";
  } else if (ctor === ArrayBuffer) {
    // `new ArrayBuffer(n, { maxByteLength: m })`: a resizable buffer. Only its current length is
    // allocated (and charged); the maximum is reserved address space.
    if (n === 2) {
      const opts = args[1] as { maxByteLength?: unknown };
      const keys = isPlainObject(opts) ? Object.keys(opts) : [];
      if (keys.length !== 1 || keys[0] !== "maxByteLength" || !isIndex(opts.maxByteLength)) {
        return "takes a byte length and { maxByteLength }";
      }
      if (!isIndex(a0) || (a0 as number) > (opts.maxByteLength as number))
        return "takes a byte length up to maxByteLength";
    } else if (n !== 1 || !isIndex(a0)) return "takes a byte length";
    if (!budget.charge(a0 as number))
      return `takes a byte length up to ${budget.left} for this archive`;
  } else if (ctor === DataView) {
    if (n < 1 || n > 3 || !(a0 instanceof ArrayBuffer) || !args.slice(1).every(isIndex)) {
      return "takes an ArrayBuffer, offset and length";
    }
  } else if (TYPED_ARRAY_CLASSES.has(ctor)) {
    const bytes = (ctor as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
    if (n === 0) return undefined;
    if (n <= 3 && a0 instanceof ArrayBuffer && args.slice(1).every(isIndex)) return undefined;
    let elements: number;
    if (n !== 1) elements = -1;
    else if (Array.isArray(a0)) elements = a0.length;
    else if (isView(a0) && !(a0 instanceof DataView)) elements = (a0 as Uint8Array).length;
    else if (isIndex(a0)) elements = a0 as number;
    else elements = -1;
    if (elements < 0) {
      return "takes an array literal, a typed array, a bounded length, or a buffer with offset and length";
    }
    if (!budget.charge(elements * bytes))
      return "exceeds the archive's work budget (a bounded length)";
  }
  return undefined;
}
