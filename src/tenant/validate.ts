import { HeimdallError } from '../model/index.ts';
import type { TenantId } from '../model/index.ts';

/** The longest tenant id accepted, in bytes (the upstream limit). */
const MAX_TENANT_ID_BYTES = 150;

/**
 * A request whose tenant is missing (401, kind `unauthenticated`, code `no_org_id`) or malformed (400, kind
 * `bad_data`, code `invalid_tenant`). The message is the upstream text.
 */
export class TenantError extends HeimdallError {
  readonly status: 400 | 401;
  constructor(status: 400 | 401, message: string) {
    super(status === 401 ? 'unauthenticated' : 'bad_data', message, { code: status === 401 ? 'no_org_id' : 'invalid_tenant' });
    this.name = 'TenantError';
    this.status = status;
  }
}

const ALLOWED = /^[A-Za-z0-9!\-_.*'()]$/;

/**
 * Validates a tenant id by the upstream (dskit) rules: alphanumerics and `!-_.*'()`, at most 150 bytes,
 * not `.` or `..`. Returns it branded, or throws a 400 {@link TenantError} with the upstream message.
 */
export function validateTenantId(id: string): TenantId {
  if (id.length === 0) throw new TenantError(401, 'no org id');
  if (Buffer.byteLength(id, 'utf8') > MAX_TENANT_ID_BYTES) {
    throw new TenantError(400, `tenant ID is too long: max ${MAX_TENANT_ID_BYTES} characters`);
  }
  if (id === '.' || id === '..') throw new TenantError(400, "tenant ID is '.' or '..'");
  for (const ch of id) {
    if (!ALLOWED.test(ch)) throw new TenantError(400, `tenant ID '${id}' contains unsupported character '${ch}'`);
  }
  return id as TenantId;
}

/** Whether `id` passes {@link validateTenantId}. */
export function isValidTenantId(id: string): boolean {
  try {
    validateTenantId(id);
    return true;
  } catch {
    return false;
  }
}
