import fsp from 'node:fs/promises';
import path from 'node:path';
import { constants, crc32, deflateRawSync, inflateRawSync } from 'node:zlib';
import { syncDir } from '../objstore/index.ts';

const PREFIX = 'checkpoint.';
const FRAME_HEADER_BYTES = 8;
/** Frame payload codecs: the first byte of a checkpoint frame. */
const CODEC_RAW = 0;
const CODEC_DEFLATE = 1;

/**
 * Checkpoints: `<dir>/checkpoint.<8-digit segment>` holds, as WAL-style frames, everything the WAL segments
 * numbered below `segment` contributed that is not in blocks (series, their state, head samples, exemplars,
 * metadata). Written to a temp file, fsynced and renamed, so a checkpoint is either whole or absent.
 * Each frame's payload is `[u8 codec][bytes]`; codec 1 is raw DEFLATE (label sets repeat a lot, so the
 * series part shrinks several-fold).
 */
export async function writeCheckpoint(dir: string, segment: number, frames: readonly Buffer[]): Promise<void> {
  const name = `${PREFIX}${String(segment).padStart(8, '0')}`;
  const tmp = path.join(dir, `${name}.tmp`);
  const fh = await fsp.open(tmp, 'w');
  try {
    try {
      for (const raw of frames) {
        const payload = Buffer.concat([Buffer.from([CODEC_DEFLATE]), deflateRawSync(raw, { level: 1, strategy: constants.Z_DEFAULT_STRATEGY })]);
        const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
        header.writeUInt32LE(payload.length, 0);
        header.writeUInt32LE(crc32(payload), 4);
        await fh.write(header);
        await fh.write(payload);
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, path.join(dir, name));
  } catch (err) {
    // A partial temp file (the disk filled) would hold on to the space a retry needs.
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
  await syncDir(dir);
}

/** The newest complete checkpoint's segment number, or 0 when there is none. */
export async function latestCheckpoint(dir: string): Promise<number> {
  let best = 0;
  for (const n of await fsp.readdir(dir)) {
    const m = /^checkpoint\.(\d{8})$/.exec(n);
    if (m) best = Math.max(best, Number(m[1]));
  }
  return best;
}

/** Reads every frame of checkpoint `segment`. Throws if the file is damaged (it was fsynced before rename). */
export async function readCheckpoint(dir: string, segment: number, onFrame: (payload: Buffer) => void): Promise<void> {
  const file = path.join(dir, `${PREFIX}${String(segment).padStart(8, '0')}`);
  const buf = await fsp.readFile(file);
  let pos = 0;
  while (pos < buf.length) {
    if (pos + FRAME_HEADER_BYTES > buf.length) throw new Error(`checkpoint ${file} is truncated at byte ${pos}`);
    const len = buf.readUInt32LE(pos);
    const sum = buf.readUInt32LE(pos + 4);
    const payload = buf.subarray(pos + FRAME_HEADER_BYTES, pos + FRAME_HEADER_BYTES + len);
    if (payload.length !== len || crc32(payload) !== sum) throw new Error(`checkpoint ${file} is corrupt at byte ${pos}`);
    const codec = payload[0];
    if (codec === CODEC_DEFLATE) onFrame(inflateRawSync(payload.subarray(1)));
    else if (codec === CODEC_RAW) onFrame(payload.subarray(1));
    else throw new Error(`checkpoint ${file} has a frame with unknown codec ${codec}`);
    pos += FRAME_HEADER_BYTES + len;
  }
}

/** Deletes checkpoints older than `segment` and stray temp files. */
export async function removeCheckpointsBefore(dir: string, segment: number): Promise<void> {
  for (const n of await fsp.readdir(dir)) {
    const m = /^checkpoint\.(\d{8})(\.tmp)?$/.exec(n);
    if (m && (Number(m[1]) < segment || m[2] !== undefined)) await fsp.rm(path.join(dir, n), { force: true });
  }
}
