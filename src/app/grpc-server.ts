import net from 'node:net';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { limitConnections } from './listener-limits.ts';
import type { GrpcListenerLimits } from './listener-limits.ts';

/**
 * Creates the OTLP gRPC server. Messages up to `maxMessageBytes` (after decompression) are accepted; clients
 * are pinged after `keepaliveTimeMs` without activity and dropped when a ping goes unanswered, and connections
 * without a call for `maxConnectionIdleMs` are closed with GOAWAY.
 */
export function createGrpcServer(maxMessageBytes: number, limits: GrpcListenerLimits): Server {
  return new Server({
    'grpc.max_receive_message_length': maxMessageBytes,
    'grpc.max_send_message_length': 16 * 1024 * 1024,
    'grpc.keepalive_time_ms': limits.keepaliveTimeMs,
    'grpc.keepalive_timeout_ms': limits.keepaliveTimeoutMs,
    ...(limits.maxConnectionIdleMs > 0 ? { 'grpc.max_connection_idle_ms': limits.maxConnectionIdleMs } : {}),
  });
}

/** The OTLP/gRPC listening socket (see {@link listenGrpc}). */
export interface GrpcListener {
  readonly port: number;
  /** Stops accepting connections; the server's own shutdown ends the open ones. */
  close(): Promise<void>;
}

/**
 * Listens on `host:port` and hands each accepted connection to `server`. The socket is Heimdall's own (a
 * connection injector, grpc-js's public API) because grpc-js has no connection cap: connections past
 * `limits.maxConnections` are refused as on the HTTP listeners.
 */
export async function listenGrpc(server: Server, host: string, port: number, limits: GrpcListenerLimits, logger: Logger): Promise<GrpcListener> {
  const injector = server.createConnectionInjector(ServerCredentials.createInsecure());
  const socket = net.createServer((connection) => injector.injectConnection(connection));
  limitConnections(socket, limits.maxConnections, 'otlp-grpc', 'server.grpc_max_connections', logger);
  await new Promise<void>((resolve, reject) => {
    socket.once('error', (err) => reject(new Error(`binding OTLP gRPC listener on ${host}:${port}: ${err.message}`, { cause: err })));
    socket.listen({ host, port }, resolve);
  });
  socket.on('error', (err) => logger.error({ err }, 'OTLP gRPC listener failed'));
  const address = socket.address();
  return {
    port: typeof address === 'object' && address ? address.port : port,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

/** Stops accepting calls and waits for running ones up to `timeoutMs`, then cuts them. */
export function shutdownGrpc(server: Server, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, timeoutMs);
    timer.unref();
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
