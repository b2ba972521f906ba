/**
 * Archivable: a base class whose instances archive as `new Cls(items)`, where items are the own
 * enumerable fields. The subclass names its module with `static [persist.module] = "my-sim"` (or
 * `register(Cls, { module })`) and takes that one object in its constructor.
 */
import { persist } from "./symbols.js";

export abstract class Archivable {
  /** The fields to archive; the constructor receives them back as its only argument. */
  items(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(this)) out[key] = (this as Record<string, unknown>)[key];
    return out;
  }

  [persist.rep](): readonly unknown[] {
    return [this.items()];
  }
}
