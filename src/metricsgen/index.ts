export { MetricsGenerator } from './generator.ts';
export type { GeneratorTenantStats } from './generator.ts';
export { teeCommittedSpans } from './tee.ts';
export type { CommittedSpans } from './tee.ts';
export {
  DEFAULT_PEER_ATTRIBUTES,
  DEFAULT_SERVICE_GRAPH_BUCKETS,
  DEFAULT_SPAN_METRICS_BUCKETS,
} from './settings.ts';
export type { GeneratorSettings, ProcessorName, TenantGeneratorSettings } from './settings.ts';
