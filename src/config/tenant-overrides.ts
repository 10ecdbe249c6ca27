/** A config section with per-tenant limits: defaults under `limits`, per-tenant partial replacements under `overrides`. */
export interface LimitsSection<L extends object> {
  readonly limits: L;
  readonly overrides: Readonly<Record<string, Partial<L>>>;
}

/**
 * The effective limits for one tenant: the section's defaults with that tenant's overrides applied (a key given
 * as `undefined` keeps the default). Returns the defaults object itself for a tenant without overrides.
 */
export function limitsForTenant<L extends object>(section: LimitsSection<L>, tenant: string): L {
  const o = section.overrides[tenant];
  return o ? { ...section.limits, ...stripUndefined(o) } : section.limits;
}

/** `o` without its keys whose value is `undefined`, so spreading it never replaces a default with `undefined`. */
export function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
