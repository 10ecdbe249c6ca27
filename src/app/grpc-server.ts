import { Server, ServerCredentials } from '@grpc/grpc-js';

/** Creates the OTLP gRPC server. Messages up to `maxMessageBytes` (after decompression) are accepted. */
export function createGrpcServer(maxMessageBytes: number): Server {
  return new Server({
    'grpc.max_receive_message_length': maxMessageBytes,
    'grpc.max_send_message_length': 16 * 1024 * 1024,
  });
}

/** Binds and starts the server; resolves with the bound port (useful with port 0). */
export function bindGrpc(server: Server, address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, ServerCredentials.createInsecure(), (err, port) => {
      if (err) reject(new Error(`binding OTLP gRPC listener on ${address}: ${err.message}`, { cause: err }));
      else resolve(port);
    });
  });
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
