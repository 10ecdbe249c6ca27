/**
 * A forwarding queue item: `[u16 tenant length][tenant UTF-8][body]`, where the body is one protocol message
 * (see `QueueCodec`). The tenant travels with the data because one queue serves every tenant of an endpoint.
 */

/** Lays out an item for `tenant` (at most 150 bytes, the tenant rule; the u16 leaves room). */
export function encodeQueuePayload(tenant: string, body: Uint8Array): Buffer {
  const t = Buffer.from(tenant, 'utf8');
  const out = Buffer.allocUnsafe(2 + t.length + body.length);
  out.writeUInt16LE(t.length, 0);
  t.copy(out, 2);
  out.set(body, 2 + t.length);
  return out;
}

/** Reads an item back; undefined if it is too short for its own header. */
export function decodeQueuePayload(payload: Buffer): { tenant: string; body: Buffer } | undefined {
  if (payload.length < 2) return undefined;
  const n = payload.readUInt16LE(0);
  if (payload.length < 2 + n) return undefined;
  return { tenant: payload.toString('utf8', 2, 2 + n), body: payload.subarray(2 + n) };
}
