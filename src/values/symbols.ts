/**
 * The protocol symbols. They are registered symbols (`Symbol.for`), so a library can make its
 * classes archivable without depending on persist-archive:
 *
 * ```ts
 * class Point {
 *   static [Symbol.for("persist-archive.module")] = "geometry-lib";
 *   [Symbol.for("persist-archive.rep")]() { return [this.x, this.y]; }
 * }
 * ```
 */
export const persist = Object.freeze({
  /** Static property of a class or function: the import specifier archives use for it. */
  module: Symbol.for("persist-archive.module") as typeof PERSIST_MODULE,
  /** Method of an instance: its constructor arguments, or `{ args, factory }`. */
  rep: Symbol.for("persist-archive.rep") as typeof PERSIST_REP,
});

declare const PERSIST_MODULE: unique symbol;
declare const PERSIST_REP: unique symbol;

/** What `[persist.rep]()` may return: constructor arguments, or arguments for a static factory. */
export type PersistentRep = readonly unknown[] | { args: readonly unknown[]; factory?: string };
