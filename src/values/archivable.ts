/**
 * Archivable: a base class whose instances archive by their fields, as
 * `_Run.fromFields({ omega: 5, gamma: 0.1 })`. The factory constructs the instance first and then
 * sets the fields, so subclass field initializers (`omega = 0`), which run after `super()`, cannot
 * overwrite the restored values. The archive names fields only, so it stays loadable when the
 * class's constructor or methods change.
 */
import { persist } from "./symbols.js";

/** Defines fields as own data properties (like class fields; a `__proto__` field stays a field). */
function setFields(target: object, fields: Readonly<Record<string, unknown>> | undefined): void {
  if (fields === undefined || fields === null) return;
  for (const key of Object.keys(fields)) {
    Object.defineProperty(target, key, {
      value: fields[key],
      writable: true,
      enumerable: true,
      configurable: true,
    });
  }
}

/**
 * Base class for classes archived by their fields. Name the module with
 * `static [persist.module] = "my-sim"` (or `register(Cls, { module })`); `new Run({ omega: 5 })`
 * sets the given fields. An instance is archived as `Run.fromFields(fields)`, where `fields` is what
 * {@link Archivable.items} returns (by default its own enumerable fields); `fromFields` calls the
 * constructor with no arguments and then sets the fields, so a subclass constructor must accept
 * being called without arguments.
 */
export abstract class Archivable {
  /** Sets `fields` on the new instance (subclass field initializers run after this). */
  constructor(fields?: Readonly<Record<string, unknown>>) {
    setFields(this, fields);
  }

  /**
   * Rebuilds an instance from archived fields: `new this()`, then each field set as an own
   * property, after every constructor and field initializer has run. Archives call it.
   */
  static fromFields<T extends Archivable>(
    this: new (
      fields?: Readonly<Record<string, unknown>>,
    ) => T,
    fields: Readonly<Record<string, unknown>>,
  ): T {
    const instance = new this();
    setFields(instance, fields);
    return instance;
  }

  /** The fields to archive (default: own enumerable properties); fromFields() gets them back. */
  items(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    setFields(out, this as unknown as Record<string, unknown>);
    return out;
  }

  /** The archive protocol: `{ factory: "fromFields", args: [this.items()] }`. */
  [persist.rep](): { factory: string; args: readonly unknown[] } {
    return { factory: "fromFields", args: [this.items()] };
  }
}
