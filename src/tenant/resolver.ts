import { DEFAULT_TENANT } from '../model/index.ts';
import type { TenantId } from '../model/index.ts';
import { TenantError, validateTenantId } from './validate.ts';

/** The HTTP header (and gRPC metadata key) that names the tenant. */
export const TENANT_HEADER = 'x-scope-orgid';

export interface TenancySettings {
  /** When false every request is tenant `anonymous` and the header is ignored (Mimir and Loki behave so). */
  readonly multitenancy: boolean;
  /** With multi-tenancy on and no header, derive each record's tenant from its namespace. */
  readonly fromNamespace: boolean;
  /** The tenant of records without a namespace when deriving from namespaces. */
  readonly defaultTenant: string;
  /** Namespace → tenant renames applied before validation. */
  readonly namespaceMap: Readonly<Record<string, string>>;
}

/** How a write request's records get their tenant. */
export type WriteTenancy =
  | { readonly kind: 'fixed'; readonly tenant: TenantId }
  | { readonly kind: 'by-namespace' };

/** A batch split by tenant, plus the records whose namespace did not make a valid tenant id. */
export interface TenantSplit<R> {
  readonly batches: Map<TenantId, R[]>;
  readonly invalid: { record: R; namespace: string; message: string }[];
}

/**
 * Resolves tenants for reads and writes. Every ingest path and query API goes through one instance, so the
 * rules of ARCHITECTURE.md §5 hold everywhere. Stateless and safe to share.
 */
export class TenantResolver {
  readonly settings: TenancySettings;
  /**
   * The namespace renames as own entries only: namespaces named `constructor`, `toString` or `__proto__`
   * (valid in Kubernetes) are ordinary keys, never the prototype's members.
   */
  private readonly namespaceMap: ReadonlyMap<string, string>;

  constructor(settings: TenancySettings) {
    this.settings = settings;
    this.namespaceMap = new Map(Object.entries(settings.namespaceMap));
  }

  /**
   * The tenants a read covers. With multi-tenancy on, the header is required and may federate `a|b|c`
   * (duplicates removed, order kept). Throws {@link TenantError} (401 missing, 400 malformed).
   */
  forRead(header: string | undefined): TenantId[] {
    if (!this.settings.multitenancy) return [DEFAULT_TENANT as TenantId];
    if (header === undefined || header.trim() === '') throw new TenantError(401, 'no org id');
    const ids = [...new Set(header.split('|').map((s) => s.trim()))];
    return ids.map(validateTenantId);
  }

  /**
   * How a write's records get their tenant. One tenant from the header, or per-record namespaces when
   * configured; a header naming several tenants is a 400, a missing one a 401 unless namespaces decide.
   */
  forWrite(header: string | undefined): WriteTenancy {
    if (!this.settings.multitenancy) return { kind: 'fixed', tenant: DEFAULT_TENANT as TenantId };
    if (header !== undefined && header.trim() !== '') {
      if (header.includes('|')) {
        throw new TenantError(400, `multiple org IDs present: writes take exactly one tenant, got "${header}"`);
      }
      return { kind: 'fixed', tenant: validateTenantId(header.trim()) };
    }
    if (this.settings.fromNamespace) return { kind: 'by-namespace' };
    throw new TenantError(401, 'no org id');
  }

  /** The tenant for a record's namespace (mapped, or the default tenant when absent). Throws a 400 TenantError. */
  tenantForNamespace(namespace: string | undefined): TenantId {
    const ns = namespace === undefined || namespace === '' ? undefined : namespace;
    const mapped = ns === undefined ? this.settings.defaultTenant : (this.namespaceMap.get(ns) ?? ns);
    return validateTenantId(mapped);
  }

  /**
   * Splits one incoming batch into per-tenant batches. With a fixed tenant the batch passes whole;
   * otherwise `namespaceOf` names each record's namespace (`k8s.namespace.name` or `namespace`).
   */
  split<R>(records: readonly R[], tenancy: WriteTenancy, namespaceOf: (r: R) => string | undefined): TenantSplit<R> {
    const batches = new Map<TenantId, R[]>();
    const invalid: TenantSplit<R>['invalid'] = [];
    if (tenancy.kind === 'fixed') {
      if (records.length > 0) batches.set(tenancy.tenant, [...records]);
      return { batches, invalid };
    }
    for (const record of records) {
      const namespace = namespaceOf(record);
      let tenant: TenantId;
      try {
        tenant = this.tenantForNamespace(namespace);
      } catch (err) {
        invalid.push({ record, namespace: namespace ?? '', message: (err as Error).message });
        continue;
      }
      let batch = batches.get(tenant);
      if (!batch) batches.set(tenant, (batch = []));
      batch.push(record);
    }
    return { batches, invalid };
  }
}
