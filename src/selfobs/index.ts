export { SelfMetrics } from './self-metrics.ts';
export { createLogger } from './logger.ts';
