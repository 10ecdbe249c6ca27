import { gunzipSync, inflateSync } from 'node:zlib';
import { Decompress as ZstdDecompress } from 'fzstd';
import snappy from 'snappy';
import { HeimdallError, WireReader } from '../model/index.ts';

/** Content encodings the ingest paths accept. `snappy` is the block format remote_write and Loki push use. */
export type ContentEncoding = 'identity' | 'gzip' | 'deflate' | 'snappy' | 'zstd';

/** Parses a `Content-Encoding` header; throws a 415 for anything else. */
export function parseContentEncoding(header: string | undefined): ContentEncoding {
  const v = (header ?? '').trim().toLowerCase();
  if (v === '' || v === 'identity') return 'identity';
  if (v === 'gzip' || v === 'x-gzip') return 'gzip';
  if (v === 'deflate' || v === 'snappy' || v === 'zstd') return v;
  throw new HeimdallError('unsupported_media_type', `unsupported Content-Encoding "${header}": use gzip, deflate, snappy, zstd or none`, {
    code: 'unsupported_content_encoding',
  });
}

function tooLarge(limitBytes: number, setting: string): HeimdallError {
  return new HeimdallError('too_large', `decompressed body exceeds ${limitBytes} bytes (set ${setting} to raise the limit)`, {
    code: 'body_too_large',
  });
}

/** Reads the uncompressed length a snappy block declares in its varint header (at most 2^32 - 1). */
function snappyDeclaredLength(buf: Buffer): number {
  try {
    const n = new WireReader(buf).uint64();
    if (n <= 0xffffffff) return n;
  } catch {
    // A truncated or over-long varint: the same answer as a length out of range.
  }
  throw new HeimdallError('bad_data', 'snappy: corrupt input (bad length header)', { code: 'malformed_body' });
}

/**
 * Decompresses a request body with a hard cap on the output size, so a compression bomb gets a 413 instead
 * of exhausting memory. `setting` names the configuration key of the cap for the error message.
 */
export function decompressBody(body: Buffer, encoding: ContentEncoding, maxBytes: number, setting: string): Buffer {
  try {
    switch (encoding) {
      case 'identity':
        if (body.length > maxBytes) throw tooLarge(maxBytes, setting);
        return body;
      case 'gzip':
        return gunzipSync(body, { maxOutputLength: maxBytes });
      case 'deflate':
        return inflateSync(body, { maxOutputLength: maxBytes });
      case 'snappy': {
        if (snappyDeclaredLength(body) > maxBytes) throw tooLarge(maxBytes, setting);
        return snappy.uncompressSync(body, { asBuffer: true }) as Buffer;
      }
      case 'zstd':
        return zstdCapped(body, maxBytes, setting);
    }
  } catch (err) {
    if (err instanceof HeimdallError) throw err;
    if (err instanceof RangeError || (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw tooLarge(maxBytes, setting);
    }
    throw new HeimdallError('bad_data', `cannot decompress ${encoding} body: ${(err as Error).message}`, { code: 'malformed_body', cause: err });
  }
}

function zstdCapped(body: Buffer, maxBytes: number, setting: string): Buffer {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const stream = new ZstdDecompress((chunk) => {
    total += chunk.length;
    if (total > maxBytes) throw tooLarge(maxBytes, setting);
    chunks.push(chunk);
  });
  // Feed in slices so the cap is checked as output grows rather than after one huge allocation.
  const step = 64 * 1024;
  for (let off = 0; off < body.length; off += step) {
    stream.push(body.subarray(off, Math.min(off + step, body.length)), off + step >= body.length);
  }
  return Buffer.concat(chunks, total);
}
