/**
 * Parallel work on a temp folder must finish before the folder is removed.
 *
 * `Promise.all` rejects as soon as one task fails while the others keep running: a download that
 * is still writing when the caller's `finally` removes the temp folder re-creates it with
 * `mkdir({ recursive: true })` and leaves it behind (seen as a leaked `persist-s3-*` folder after a
 * failed S3 load). These helpers wait for every task to settle, then throw the first failure.
 */

/** Like `Promise.all`, but rejects only once every task has settled (with the first failure). */
export async function settleAll<T>(tasks: readonly Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(tasks);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed !== undefined) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}

/** Runs `fn` over `items`, at most `width` at a time; stops after the first batch with a failure. */
export async function inBatches<T>(
  items: readonly T[],
  width: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  for (let i = 0; i < items.length; i += width) {
    await settleAll(items.slice(i, i + width).map(fn));
  }
}
