/** Turns the runtime's PersistFormatError into the library's FormatError (same message and file). */
import { FormatError } from "../errors.js";
import { PersistFormatError } from "../runtime/persist-runtime.mjs";

/** Runs `fn`, rethrowing runtime format errors as FormatError. */
export async function asFormatErrors<T>(fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toFormatError(err);
  }
}

/** The library error for a runtime error; anything else unchanged. */
export function toFormatError(err: unknown): unknown {
  if (err instanceof PersistFormatError) {
    return new FormatError(err.message, { file: err.file, cause: err });
  }
  return err;
}
