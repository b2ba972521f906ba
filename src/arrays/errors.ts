/**
 * Turns the runtime's PersistFormatError into the library's FormatError (same message and file),
 * and a missing file into NotFoundError.
 */
import { FormatError, NotFoundError } from "../errors.js";
import { PersistFormatError } from "../runtime/persist-runtime.mjs";

/** Runs `fn`, rethrowing runtime errors as library errors. */
export async function asFormatErrors<T>(fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toFormatError(err);
  }
}

/** The library error for a runtime or file-system error; anything else unchanged. */
export function toFormatError(err: unknown): unknown {
  if (err instanceof PersistFormatError) {
    return new FormatError(err.message, { file: err.file, cause: err });
  }
  const e = err as NodeJS.ErrnoException | undefined;
  if (e?.code === "ENOENT" && typeof e.path === "string") {
    return new NotFoundError(`${e.path}: no such file or directory`, { file: e.path, cause: err });
  }
  return err;
}
