/**
 * Claims: `.<stem>.claim` owner files that say "a live writer is staging <stem> (an item name, or a
 * version `<name>.v<hex>`) outside the lock". They reserve insert() names across processes, and
 * they tell a write-open's cleanup which unlisted item files are in flight rather than left by a
 * dead writer (docs/dataset-format.md, "Writing").
 */
import { link, rm } from "node:fs/promises";
import { join } from "node:path";
import { tempPathFor, writeNewFile } from "../store/atomic.js";
import { createOwnerFile, isOwnerDead, newOwner, readOwnerFile } from "../store/owner.js";

/** Claims of writers on other hosts count as dead after this long (same rule as the lock). */
const CLAIM_STALE_MS = 300_000;

const CLAIM = /^\.(.+)\.claim$/;

export function claimFile(dir: string, stem: string): string {
  return join(dir, `.${stem}.claim`);
}

/** A claim this process holds. */
export interface Claim {
  readonly stem: string;
  release(): Promise<void>;
}

/** Claim `stem`; undefined when another writer (live or dead) holds the claim. */
export async function tryClaim(dir: string, stem: string): Promise<Claim | undefined> {
  const path = claimFile(dir, stem);
  try {
    await createOwnerFile(path, newOwner());
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return undefined;
    throw err;
  }
  let released = false;
  return {
    stem,
    async release() {
      if (released) return;
      released = true;
      await rm(path, { force: true });
    },
  };
}

/**
 * Claim many stems at once: one owner file, hard-linked under each claim name (one link() per
 * stem, atomic and exclusive like tryClaim's). Undefined where another writer holds the claim.
 */
export async function claimMany(
  dir: string,
  stems: readonly string[],
): Promise<(Claim | undefined)[]> {
  if (stems.length === 1) return [await tryClaim(dir, stems[0]!)];
  const source = tempPathFor(join(dir, ".claims"));
  await writeNewFile(source, `${JSON.stringify(newOwner())}\n`);
  try {
    const out: (Claim | undefined)[] = new Array(stems.length);
    let next = 0;
    const worker = async () => {
      while (next < stems.length) {
        const i = next++;
        const path = claimFile(dir, stems[i]!);
        try {
          await link(source, path);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === "EEXIST") continue;
          throw err;
        }
        out[i] = { stem: stems[i]!, release: () => rm(path, { force: true }) };
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    return out;
  } catch (err) {
    // links made so far are released by the caller's cleanup only if returned: undo them here
    await Promise.all(stems.map((s) => rm(claimFile(dir, s), { force: true }).catch(() => {})));
    throw err;
  } finally {
    await rm(source, { force: true });
  }
}

/** Every claim in `dir` (from its listing) and whether its writer is alive. */
export async function readClaims(
  dir: string,
  entries: readonly string[],
): Promise<Map<string, boolean>> {
  const claims = new Map<string, boolean>();
  for (const entry of entries) {
    const stem = CLAIM.exec(entry)?.[1];
    if (stem === undefined) continue;
    try {
      const found = await readOwnerFile(join(dir, entry));
      if (found !== null) claims.set(stem, !isOwnerDead(found, CLAIM_STALE_MS));
    } catch {
      claims.set(stem, false); // not a regular small file: nobody's live claim
    }
  }
  return claims;
}
