/**
 * Claims: `.<stem>.claim` owner files that say "a live writer is staging <stem> (an item name, or a
 * version `<name>.v<hex>`) outside the lock". They reserve insert() names across processes, and
 * they tell a write-open's cleanup which unlisted item files are in flight rather than left by a
 * dead writer (docs/dataset-format.md, "Writing").
 */
import { linkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempPathFor } from "../store/atomic.js";
import {
  createOwnerFile,
  isOwnerDead,
  newOwner,
  readOwnerFile,
  removeFile,
} from "../store/owner.js";

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
      removeFile(path);
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
  // Synchronous link() calls: microseconds each, against two thread hand-offs per async call
  // (see store/owner.ts). No fsync: a claim only matters while its writer lives.
  const source = tempPathFor(join(dir, ".claims"));
  writeFileSync(source, `${JSON.stringify(newOwner())}\n`, { flag: "wx" });
  const out: (Claim | undefined)[] = new Array(stems.length);
  try {
    stems.forEach((stem, i) => {
      const path = claimFile(dir, stem);
      try {
        linkSync(source, path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "EEXIST") return;
        throw err;
      }
      out[i] = { stem, release: async () => removeFile(path) };
    });
    return out;
  } catch (err) {
    // links made so far are released by the caller's cleanup only if returned: undo them here
    for (const claim of out) if (claim !== undefined) await claim.release().catch(() => {});
    throw err;
  } finally {
    removeFile(source);
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
