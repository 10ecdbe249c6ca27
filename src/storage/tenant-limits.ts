/**
 * The limits an engine enforces per tenant. Each engine declares the shape `L` it needs; app/ resolves it from the
 * configuration (defaults with each tenant's overrides), so engines never read the configuration themselves.
 */
export interface TenantLimits<L> {
  /** The limits of a tenant without overrides. */
  readonly defaults: L;
  /** The effective limits of `tenant`. Cheap enough to call once per appender. */
  forTenant(tenant: string): L;
  /** The tenants that have overrides, so an engine can validate every tenant's limits when it opens. */
  overriddenTenants(): Iterable<string>;
}
