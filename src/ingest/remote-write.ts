import type { MetricDecodeResult } from './remote-write-series.ts';
import { decodeRemoteWriteV1 } from './remote-write-v1.ts';
import { decodeRemoteWriteV2 } from './remote-write-v2.ts';

/** The protobuf message name of remote_write 1.0 requests. */
export const REMOTE_WRITE_V1_PROTO = 'prometheus.WriteRequest';
/** The protobuf message name of remote_write 2.0 requests. */
export const REMOTE_WRITE_V2_PROTO = 'io.prometheus.write.v2.Request';

/** Which remote_write message a request carries, or why its Content-Type is refused (a 415). */
export type RemoteWriteVersion =
  | { readonly version: 1 | 2 }
  | { readonly unsupported: string };

/**
 * Reads the remote_write version from a Content-Type header, as the 2.0 specification has receivers do:
 * `application/x-protobuf` alone (or no header, as very old senders do) is 1.0; the `proto=` parameter
 * names the message, and an unknown one is refused with the reason text for a 415.
 */
export function remoteWriteVersion(contentType: string | undefined): RemoteWriteVersion {
  const ct = (contentType ?? '').trim();
  if (ct === '') return { version: 1 };
  const [media, ...params] = ct.split(';');
  const mediaType = media!.trim().toLowerCase();
  if (mediaType !== 'application/x-protobuf') {
    return { unsupported: `unsupported Content-Type "${ct}": remote_write takes application/x-protobuf with proto=${REMOTE_WRITE_V1_PROTO} or proto=${REMOTE_WRITE_V2_PROTO}` };
  }
  let proto: string | undefined;
  for (const p of params) {
    const eq = p.indexOf('=');
    if (eq < 0) continue;
    if (p.slice(0, eq).trim().toLowerCase() === 'proto') proto = p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
  }
  if (proto === undefined || proto === REMOTE_WRITE_V1_PROTO) return { version: 1 };
  if (proto === REMOTE_WRITE_V2_PROTO) return { version: 2 };
  return { unsupported: `unsupported remote_write proto "${proto}": accepted are ${REMOTE_WRITE_V1_PROTO} and ${REMOTE_WRITE_V2_PROTO}` };
}

/** Decodes a decompressed remote_write body of the given version. Pure; see the per-version decoders. */
export function decodeRemoteWrite(body: Uint8Array, version: 1 | 2): MetricDecodeResult {
  return version === 2 ? decodeRemoteWriteV2(body) : decodeRemoteWriteV1(body);
}
