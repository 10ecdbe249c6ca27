/** Heimdall's data-source proxy: the only way the browser reaches a data source. */
export function proxyBase(uid: string): string {
  return `/api/datasources/proxy/uid/${encodeURIComponent(uid)}`;
}

/** The header that names the org of a request; the server turns it into the org's `X-Scope-OrgID`. */
export const ORG_HEADER = 'X-Heimdall-Org';

/** One request as the query inspector shows it. */
export interface RequestRecord {
  readonly method: string;
  readonly url: string;
  readonly org: string;
  readonly status: number;
  readonly durationMs: number;
  readonly responseBytes: number;
}

/** An error answer of a data source, with the upstream's own message (Prometheus/Loki envelopes or plain text). */
export class DatasourceError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly record: RequestRecord,
  ) {
    super(message);
    this.name = 'DatasourceError';
  }
}

/**
 * GETs `path` (below the data source's root) with `params` through the proxy as `org`, and returns the parsed
 * JSON with the request's record. Error answers become a {@link DatasourceError} carrying the upstream message.
 */
export async function proxyGet<T>(
  uid: string,
  org: string,
  path: string,
  params: Record<string, string>,
  signal?: AbortSignal,
  headers: Record<string, string> = {},
): Promise<{ body: T; record: RequestRecord }> {
  const url = `${proxyBase(uid)}/${path}?${new URLSearchParams(params).toString()}`;
  return proxySend<T>('GET', url, org, undefined, signal, headers);
}

/**
 * POSTs `body` as JSON to `path` through the proxy as `org` (Pyroscope's Connect API with its JSON codec), with
 * the same answer and errors as {@link proxyGet}.
 */
export async function proxyPostJson<T>(uid: string, org: string, path: string, body: unknown, signal?: AbortSignal): Promise<{ body: T; record: RequestRecord }> {
  return proxySend<T>('POST', `${proxyBase(uid)}/${path}`, org, JSON.stringify(body), signal, { 'content-type': 'application/json' });
}

/**
 * POSTs protobuf `body` to `path` through the proxy as `org` (a Connect method answering binary protobuf, e.g.
 * Pyroscope's SelectMergeProfile, whose answer is a pprof) and returns the answer's bytes.
 */
export async function proxyPostProto(uid: string, org: string, path: string, body: Uint8Array<ArrayBuffer>, signal?: AbortSignal): Promise<Uint8Array<ArrayBuffer>> {
  const url = `${proxyBase(uid)}/${path}`;
  const started = performance.now();
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/proto', [ORG_HEADER]: org }, body, ...(signal ? { signal } : {}) });
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (!res.ok) {
    const record: RequestRecord = { method: 'POST', url, org, status: res.status, durationMs: Math.round(performance.now() - started), responseBytes: bytes.length };
    throw new DatasourceError(errorMessage(new TextDecoder().decode(bytes), res.status), res.status, record);
  }
  return bytes;
}

async function proxySend<T>(
  method: 'GET' | 'POST',
  url: string,
  org: string,
  body: string | undefined,
  signal: AbortSignal | undefined,
  headers: Record<string, string>,
): Promise<{ body: T; record: RequestRecord }> {
  const started = performance.now();
  const res = await fetch(url, {
    method,
    headers: { ...headers, [ORG_HEADER]: org, accept: 'application/json' },
    ...(body !== undefined ? { body } : {}),
    ...(signal ? { signal } : {}),
  });
  const text = await res.text();
  const record: RequestRecord = {
    method,
    url,
    org,
    status: res.status,
    durationMs: Math.round(performance.now() - started),
    responseBytes: new TextEncoder().encode(text).length,
  };
  if (!res.ok) throw new DatasourceError(errorMessage(text, res.status), res.status, record);
  try {
    return { body: JSON.parse(text) as T, record };
  } catch {
    throw new DatasourceError(`the data source answered ${res.status} with a body that is not JSON: ${text.slice(0, 200)}`, res.status, record);
  }
}

function errorMessage(text: string, status: number): string {
  try {
    const body = JSON.parse(text) as { error?: string; message?: string };
    if (body.error) return body.error;
    if (body.message) return body.message;
  } catch {
    // Not JSON: Loki and the proxy answer errors in plain text.
  }
  return text.trim() || `HTTP ${status}`;
}
