import type { FastifyInstance } from 'fastify';

/** Splits `host:port` (an IPv6 host in brackets) into host and port. */
export function splitAddress(address: string): [string, number] {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  return [host, Number(address.slice(i + 1))];
}

/** The address `app` listens on, as `host:port` with the configured host and the bound port (0 before listening). */
export function boundAddress(app: FastifyInstance, host: string): string {
  const addr = app.server.address();
  return formatAddress(host, typeof addr === 'object' && addr ? addr.port : 0);
}

/** `host:port`, with an IPv6 host in brackets. */
export function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
