/**
 * .npz files: a zip of .npy entries. Written with yazl (streams, zip64 when needed — fflate
 * corrupts entries over 4 GiB and has no backpressure); read with the runtime's own zip reader,
 * the same code saved archives use.
 */
import { createWriteStream } from "node:fs";
import { open } from "node:fs/promises";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import yazl from "yazl";
import { type ArrayReadOptions, type NDArray, readNpz } from "../runtime/persist-runtime.mjs";
import { asFormatErrors } from "./errors.js";
import { type CheckedArray, checkedForWrite, dataChunks, npyHeader } from "./npy.js";

const STREAM_CHUNK = 16 << 20;

/** The .npy bytes of `array` as a stream of views (no copy of the data). */
function npyStream(array: CheckedArray): Readable {
  const header = npyHeader(array);
  function* chunks(): Generator<Uint8Array> {
    yield header;
    yield* dataChunks(array, STREAM_CHUNK);
  }
  return Readable.from(chunks(), { objectMode: false });
}

/**
 * Writes `arrays` into a new .npz file at `path` as stored (uncompressed) `<name>.npy` entries,
 * and fsyncs it.
 */
export async function writeNpz(
  path: string,
  arrays: readonly { name: string; array: NDArray }[],
): Promise<void> {
  const zip = new yazl.ZipFile();
  const mtime = new Date(1980, 0, 1); // fixed (the earliest DOS time): same arrays → same bytes
  for (const { name, array: value } of arrays) {
    const array = checkedForWrite(value, `${path} (array ${name})`);
    const size = npyHeader(array).length + array.byteLength;
    zip.addReadStreamLazy(`${name}.npy`, { compress: false, size, mtime }, (cb) =>
      cb(null, npyStream(array)),
    );
  }
  zip.end();
  await pipeline(zip.outputStream, createWriteStream(path, { flags: "wx" }));
  const handle = await open(path, "r+");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Reads arrays (all, or `names`) from an .npz file; FormatError when it is malformed, fails its
 * CRC, or would take more memory than `options.maxExpansion` allows.
 */
export function readNpzFile(
  path: string,
  names?: string[],
  options?: Pick<ArrayReadOptions, "maxExpansion" | "root">,
): Promise<Record<string, NDArray>> {
  return asFormatErrors(() => readNpz(path, names, options));
}
