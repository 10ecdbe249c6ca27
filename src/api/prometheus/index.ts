export { PROMETHEUS_API_PREFIX, registerPrometheusApi } from './register.ts';
export type { PrometheusApiDeps } from './register.ts';
export { DEFAULT_BUILD_FEATURES } from './metadata-routes.ts';
export { histogramJson, resultToPrometheusJson } from './result-json.ts';
