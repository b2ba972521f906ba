/**
 * Archivable: a base class whose instances archive as `new Cls(items)`, where items are the own
 * enumerable fields. The subclass names its module with `static [persist.module] = "my-sim"` (or
 * `register(Cls, { module })`) and takes that one object in its constructor.
 */
import { persist } from "./symbols.js";

/**
 * Base class for classes archived by their fields: an instance is written as `new Cls(fields)`,
 * where `fields` is what {@link Archivable.items} returns (by default its own enumerable fields),
 * so the subclass's constructor must accept that one object. Name the module with
 * `static [persist.module] = "my-sim"` (or `register(Cls, { module })`).
 */
export abstract class Archivable {
  /** The fields to archive; the constructor receives them back as its only argument. */
  items(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(this)) out[key] = (this as Record<string, unknown>)[key];
    return out;
  }

  /** The archive protocol: constructor arguments `[this.items()]`, i.e. `new Cls(fields)`. */
  [persist.rep](): readonly unknown[] {
    return [this.items()];
  }
}
