import type { Logger } from 'pino';
import type { TenantId } from '../../model/index.ts';
import type { TraceQueryEngine, TracesStorage } from '../../storage/index.ts';
import type { TenantResolver } from '../../tenant/index.ts';

/** What the Tempo API reads through. */
export interface TempoApiDeps {
  /** The traces to read (one tenant per querier is enough: `registerTempoApi` federates `a|b` reads over it). */
  readonly queryable: TracesStorage;
  /** Evaluates TraceQL searches and metrics (the query-execution seam). */
  readonly engine: TraceQueryEngine;
  readonly tenants: TenantResolver;
  readonly logger: Logger;
  /**
   * Tempo's `max_bytes_per_trace` for a tenant (0 = no limit): trace by id answers at most this many
   * (estimated protobuf) bytes of a trace; v2 marks the rest PARTIAL, v1 answers 422 as Tempo does.
   */
  maxBytesPerTrace(tenant: TenantId): number;
  /** The time now in Unix nanoseconds (tests pin it). Default: the wall clock. */
  readonly nowNs?: () => bigint;
}
