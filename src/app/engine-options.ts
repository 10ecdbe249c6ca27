import { limitsForTenant } from '../config/index.ts';
import type { LimitsSection, LogsConfig, MetricsConfig, ProfilesConfig, TracesConfig } from '../config/index.ts';
import type { LogStoreOptions } from '../logstore/index.ts';
import type { ProfileStoreOptions } from '../profilestore/index.ts';
import type { TenantLimits } from '../storage/index.ts';
import type { TraceStoreOptions } from '../tracestore/index.ts';
import type { TsdbOptions } from '../tsdb/index.ts';

/**
 * A config section's per-tenant limits as the engines' {@link TenantLimits} seam. The config's limit objects carry
 * every key of the section (the engines read the subset they declare), so they are handed over as they are.
 */
function tenantLimitsOf<L extends object>(section: LimitsSection<L>): TenantLimits<L> {
  return {
    defaults: section.limits,
    forTenant: (tenant) => limitsForTenant(section, tenant),
    overriddenTenants: () => Object.keys(section.overrides),
  };
}

/** The TSDB options that come from the `metrics` config section. */
export function tsdbConfigOptions(metrics: MetricsConfig): Pick<TsdbOptions, 'limits' | 'maxExemplars'> {
  return { limits: tenantLimitsOf(metrics), maxExemplars: metrics.max_exemplars };
}

/** The log store options that come from the `logs` config section. */
export function logStoreConfigOptions(logs: LogsConfig): Pick<LogStoreOptions, 'limits' | 'settings'> {
  return {
    limits: tenantLimitsOf(logs),
    settings: {
      partitionWindowMs: logs.store.partition_window,
      headMaxBytes: logs.store.head_max_bytes,
      headMaxAgeMs: logs.store.head_max_age,
    },
  };
}

/** The trace store options that come from the `traces` config section. */
export function traceStoreConfigOptions(traces: TracesConfig): Pick<TraceStoreOptions, 'limits' | 'settings'> {
  return {
    limits: tenantLimitsOf(traces),
    settings: {
      traceIdlePeriodMs: traces.store.trace_idle_period,
      maxBlockDurationMs: traces.store.max_block_duration,
      blockWindowMs: traces.store.block_window,
      headMaxBytes: traces.store.head_max_bytes,
      rowGroupSpans: traces.store.row_group_spans,
      compactionTargetSpans: traces.store.compaction_target_spans,
      indexCacheBytes: traces.store.index_cache_bytes,
    },
  };
}

/** The profile store options that come from the `profiles` config section. */
export function profileStoreConfigOptions(profiles: ProfilesConfig): Pick<ProfileStoreOptions, 'limits' | 'settings'> {
  return {
    limits: tenantLimitsOf(profiles),
    settings: { windowMs: profiles.store.window, headMaxBytes: profiles.store.head_max_bytes, cutDelayMs: profiles.store.cut_delay },
  };
}
