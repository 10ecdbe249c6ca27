import type { FastifyInstance } from 'fastify';

/** `HOST:PORT` (IPv6 hosts in brackets) as host and port. */
export function splitAddress(address: string): [string, number] {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  return [host, Number(address.slice(i + 1))];
}

/** The address a listening server is bound to (the port resolved when it was 0). */
export function boundAddress(app: FastifyInstance, host: string): string {
  const addr = app.server.address();
  return formatAddress(host, typeof addr === 'object' && addr ? addr.port : 0);
}

/** `host:port`, bracketing an IPv6 host. */
export function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
