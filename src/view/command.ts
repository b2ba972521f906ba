/** `persist view PATH`: placeholder until the viewer lands. */

import type { Io } from "../cli/terminal.js";
import { ArchiveError } from "../errors.js";

export async function view(_options: { path: string }, _io: Io): Promise<number> {
  throw new ArchiveError("persist view is not available in this build yet");
}
