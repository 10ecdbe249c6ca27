import type net from 'node:net';
import type { Logger } from 'pino';
import type { HeimdallConfig } from '../config/index.ts';

/**
 * How long an HTTP listener waits for a client and how many clients it holds at once, so slow or numerous
 * clients cannot hold Heimdall's connections or memory (`server.http_*`). Zero means no limit.
 */
export interface HttpListenerLimits {
  /** The request's headers must arrive within this (milliseconds). */
  readonly readHeaderTimeoutMs: number;
  /** The whole request, body included, must arrive within this; the answer is 408 and the connection closes. */
  readonly readTimeoutMs: number;
  /** A keep-alive connection idle this long between requests is closed. */
  readonly idleTimeoutMs: number;
  readonly maxConnections: number;
}

/** The same for the OTLP/gRPC listener (`server.grpc_*`); grpc-go's keepalive and max-connection-idle meaning. */
export interface GrpcListenerLimits {
  readonly keepaliveTimeMs: number;
  readonly keepaliveTimeoutMs: number;
  /** 0: idle connections stay open. */
  readonly maxConnectionIdleMs: number;
  readonly maxConnections: number;
}

/** The HTTP listeners' limits from the `server:` configuration block. */
export function httpListenerLimits(server: HeimdallConfig['server']): HttpListenerLimits {
  return {
    readHeaderTimeoutMs: server.http_read_header_timeout,
    readTimeoutMs: server.http_read_timeout,
    idleTimeoutMs: server.http_idle_timeout,
    maxConnections: server.http_max_connections,
  };
}

/** The gRPC listener's limits from the `server:` configuration block. */
export function grpcListenerLimits(server: HeimdallConfig['server']): GrpcListenerLimits {
  return {
    keepaliveTimeMs: server.grpc_keepalive_time,
    keepaliveTimeoutMs: server.grpc_keepalive_timeout,
    maxConnectionIdleMs: server.grpc_max_connection_idle,
    maxConnections: server.grpc_max_connections,
  };
}

/** How often a refused-connection warning may repeat: a flood of refusals must not become a flood of logs. */
const DROP_LOG_INTERVAL_MS = 60_000;

/**
 * Caps the open connections of `server` at `max` (0 = no cap). Node closes connections past the cap as soon
 * as they are accepted; each burst of refusals is logged once a minute at most, naming `setting`.
 */
export function limitConnections(server: net.Server, max: number, listener: string, setting: string, logger: Logger): void {
  if (max <= 0) return;
  server.maxConnections = max;
  let lastLogged = -Infinity;
  let refused = 0;
  server.on('drop', () => {
    refused++;
    const now = performance.now();
    if (now - lastLogged < DROP_LOG_INTERVAL_MS) return;
    logger.warn({ listener, maxConnections: max, refused }, `${listener}: connection limit reached, refusing new connections (${setting}: ${max})`);
    lastLogged = now;
    refused = 0;
  });
}
