/**
 * Hand-built zip files for the npz tests: the attacks need entries that no zip writer produces
 * (several directory entries pointing at one deflate stream, sizes that lie), so the bytes are
 * laid out here field by field.
 */
import { deflateRawSync } from "node:zlib";
import { crc32 } from "../../src/runtime/persist-runtime.mjs";

export interface CraftEntry {
  name: string;
  /** Uncompressed bytes (the .npy). */
  data: Uint8Array;
  deflate?: boolean;
  /** Override what the central directory says. */
  cd?: Partial<{ size: number; compressedSize: number; crc: number; localOffset: number }>;
}

/** A zip with `entries` (local header + data each), then the central directory, then the end. */
export function craftZip(entries: CraftEntry[], extraCd: CraftEntry[] = []): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  const enc = new TextEncoder();
  const cdRecord = (e: CraftEntry, body: Uint8Array, at: number, crc: number) => {
    const name = enc.encode(e.name);
    const c = new Uint8Array(46 + name.length);
    const v = new DataView(c.buffer);
    v.setUint32(0, 0x02014b50, true);
    v.setUint16(4, 20, true);
    v.setUint16(6, 20, true);
    v.setUint16(10, e.deflate ? 8 : 0, true);
    v.setUint32(16, e.cd?.crc ?? crc, true);
    v.setUint32(20, e.cd?.compressedSize ?? body.length, true);
    v.setUint32(24, e.cd?.size ?? e.data.length, true);
    v.setUint16(28, name.length, true);
    v.setUint32(42, e.cd?.localOffset ?? at, true);
    c.set(name, 46);
    return c;
  };
  for (const e of entries) {
    const name = enc.encode(e.name);
    const body = e.deflate ? new Uint8Array(deflateRawSync(e.data)) : e.data;
    const crc = crc32(e.data);
    const local = new Uint8Array(30 + name.length);
    const v = new DataView(local.buffer);
    v.setUint32(0, 0x04034b50, true);
    v.setUint16(4, 20, true);
    v.setUint16(8, e.deflate ? 8 : 0, true);
    v.setUint32(14, crc, true);
    v.setUint32(18, body.length, true);
    v.setUint32(22, e.data.length, true);
    v.setUint16(26, name.length, true);
    local.set(name, 30);
    central.push(cdRecord(e, body, offset, crc));
    parts.push(local, body);
    offset += local.length + body.length;
  }
  for (const e of extraCd) {
    const body = e.deflate ? new Uint8Array(deflateRawSync(e.data)) : e.data;
    central.push(cdRecord(e, body, 0, crc32(e.data)));
  }
  const cdSize = central.reduce((n, c) => n + c.length, 0);
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, central.length, true);
  ev.setUint16(10, central.length, true);
  ev.setUint32(12, cdSize, true);
  ev.setUint32(16, offset, true);
  const all = [...parts, ...central, end];
  const out = new Uint8Array(all.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of all) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
