import fs from 'node:fs';
import type { TlsConfig } from './gateway-config.ts';

// Files that settings point at (passwords, tokens, PEM files), read by the clients that use them: forwarding
// endpoints and the agent's scrapes.

/** A secret file's content without its trailing newline; the error names `what` (the setting) and the file. */
export function readSecret(file: string, what: string): string {
  try {
    return fs.readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw new Error(`cannot read ${what} ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/** The PEM files of TLS settings (an endpoint's `tls`, a scrape config's `tls_config`: `key`), read once at start. */
export function tlsFiles(tls: TlsConfig, where: string, key = 'tls'): { ca?: string; cert?: string; key?: string } {
  return {
    ...(tls.ca_file !== undefined ? { ca: readSecret(tls.ca_file, `${where} ${key}.ca_file`) } : {}),
    ...(tls.cert_file !== undefined ? { cert: readSecret(tls.cert_file, `${where} ${key}.cert_file`) } : {}),
    ...(tls.key_file !== undefined ? { key: readSecret(tls.key_file, `${where} ${key}.key_file`) } : {}),
  };
}
