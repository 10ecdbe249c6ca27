export { registerPrometheusApi } from './register.ts';
export type { PrometheusApiDeps } from './register.ts';
export { histogramJson, resultToPrometheusJson } from './result-json.ts';
