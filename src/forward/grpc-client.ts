import { Client, Metadata, credentials, status } from '@grpc/grpc-js';
import type { ChannelOptions, ServiceError } from '@grpc/grpc-js';
import type { ForwardEndpointConfig } from '../config/index.ts';
import { WIRE_LEN, WIRE_VARINT, WireReader } from '../model/index.ts';
import { tlsFiles } from '../config/index.ts';
import { EndpointHeaders, endpointWhere } from './remote-client.ts';
import type { RemoteResponse, RemoteTransport } from './remote-client.ts';

const RETRY_INFO_TYPE = 'type.googleapis.com/google.rpc.RetryInfo';

/** Headers that are HTTP's own; gRPC sets its content type and the user agent is a channel option. */
const NOT_METADATA = new Set(['content-type', 'user-agent', 'content-length']);

/**
 * The HTTP-like status a gRPC status stands for, by the OTLP exporter's retry rules: OK is 200; RESOURCE_EXHAUSTED
 * 429 (retried, honouring RetryInfo); ABORTED, OUT_OF_RANGE and DATA_LOSS 503 (retried); UNAVAILABLE, CANCELLED and
 * DEADLINE_EXCEEDED are transport failures (retried as network errors); anything else is permanent, 400.
 */
function httpStatusOf(code: number): number | undefined {
  switch (code) {
    case status.OK:
      return 200;
    case status.RESOURCE_EXHAUSTED:
      return 429;
    case status.ABORTED:
    case status.OUT_OF_RANGE:
    case status.DATA_LOSS:
      return 503;
    case status.UNAVAILABLE:
    case status.CANCELLED:
    case status.DEADLINE_EXCEEDED:
      return undefined;
    default:
      return 400;
  }
}

/**
 * The retry delay of a google.rpc.Status in `grpc-status-details-bin` (a `google.rpc.RetryInfo` detail), in
 * seconds; undefined when there is none or it does not read.
 */
export function retryInfoSeconds(statusBytes: Uint8Array): number | undefined {
  try {
    const r = new WireReader(statusBytes);
    while (r.pos < r.end) {
      const tag = r.uint32();
      if (tag !== ((3 << 3) | WIRE_LEN)) {
        r.skip(tag & 7);
        continue;
      }
      const anyEnd = r.lengthEnd();
      let typeUrl = '';
      let value: [number, number] | undefined;
      while (r.pos < anyEnd) {
        const t = r.uint32();
        if (t === ((1 << 3) | WIRE_LEN)) typeUrl = r.string(anyEnd);
        else if (t === ((2 << 3) | WIRE_LEN)) {
          const end = r.lengthEnd(anyEnd);
          value = [r.pos, end];
          r.pos = end;
        } else r.skip(t & 7, anyEnd);
      }
      if (typeUrl !== RETRY_INFO_TYPE || value === undefined) continue;
      // RetryInfo{retry_delay: Duration{seconds, nanos}}
      const info = new WireReader(statusBytes, value[0], value[1]);
      while (info.pos < info.end) {
        const t = info.uint32();
        if (t !== ((1 << 3) | WIRE_LEN)) {
          info.skip(t & 7);
          continue;
        }
        const durEnd = info.lengthEnd();
        let seconds = 0;
        let nanos = 0;
        while (info.pos < durEnd) {
          const d = info.uint32();
          if (d === ((1 << 3) | WIRE_VARINT)) seconds = info.int64();
          else if (d === ((2 << 3) | WIRE_VARINT)) nanos = info.int64();
          else info.skip(d & 7, durEnd);
        }
        return Math.max(0, seconds + nanos / 1e9);
      }
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/**
 * Sends batches as unary calls of one gRPC method (OTLP `Export`) over one HTTP/2 channel, with the endpoint's
 * TLS settings (`https://` URLs; `http://` is plaintext) and its credentials, tenant header and custom headers as
 * metadata. The batch is the already-encoded request message; the response message is not read (an OTLP
 * `partial_success` counts as sent, as the OTLP exporters treat it).
 */
export class GrpcRemoteClient implements RemoteTransport {
  readonly url: URL;
  private readonly client: Client;
  private readonly headers: EndpointHeaders;

  constructor(
    endpoint: ForwardEndpointConfig,
    userAgent: string,
    private readonly method: string,
  ) {
    this.url = new URL(endpoint.url);
    const where = endpointWhere(this.url);
    const secure = this.url.protocol === 'https:';
    const tls = endpoint.tls;
    const files = secure ? tlsFiles(endpoint.tls, where) : {};
    const channelCredentials = secure
      ? credentials.createSsl(
          files.ca !== undefined ? Buffer.from(files.ca) : null,
          files.key !== undefined ? Buffer.from(files.key) : null,
          files.cert !== undefined ? Buffer.from(files.cert) : null,
          { rejectUnauthorized: !tls.insecure_skip_verify },
        )
      : credentials.createInsecure();
    const options: ChannelOptions = {
      'grpc.primary_user_agent': userAgent,
      'grpc.max_send_message_length': -1,
      ...(secure && tls.server_name !== undefined ? { 'grpc.ssl_target_name_override': tls.server_name, 'grpc.default_authority': tls.server_name } : {}),
    };
    const port = this.url.port !== '' ? this.url.port : secure ? '443' : '80';
    this.client = new Client(`${this.url.hostname}:${port}`, channelCredentials, options);
    this.headers = new EndpointHeaders(endpoint, userAgent, where);
  }

  headersFor(tenant: string, computed: Readonly<Record<string, string>>): Record<string, string> {
    return this.headers.headersFor(tenant, computed);
  }

  post(body: Uint8Array, headers: Record<string, string>, signal: AbortSignal): Promise<RemoteResponse> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason as Error);
      const metadata = new Metadata();
      for (const [k, v] of Object.entries(headers)) if (!NOT_METADATA.has(k)) metadata.set(k, v);
      const onAbort = (): void => call.cancel();
      const call = this.client.makeUnaryRequest(
        this.method,
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.from(body.buffer, body.byteOffset, body.byteLength),
        metadata,
        (err: ServiceError | null) => {
          signal.removeEventListener('abort', onAbort);
          if (err === null) return resolve({ status: 200, retryAfterSeconds: undefined, body: '' });
          const httpStatus = httpStatusOf(err.code);
          const message = `gRPC ${status[err.code] ?? err.code}: ${err.details}`;
          if (httpStatus === undefined) return reject(new Error(message, { cause: err }));
          const details = err.metadata?.get('grpc-status-details-bin')[0];
          resolve({ status: httpStatus, retryAfterSeconds: Buffer.isBuffer(details) ? retryInfoSeconds(details) : undefined, body: message });
        },
      );
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  close(): void {
    this.client.close();
  }
}
