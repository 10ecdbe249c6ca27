export { LOKI_API_PREFIX, registerLokiApi } from './register.ts';
export type { LokiApiDeps } from './deps.ts';
export { LOKI_COMPATIBLE_VERSION } from './status-routes.ts';
export { parseLokiTime, parseSecondsOrDurationMs } from './params.ts';
export { lokiDataJson, lokiStatsJson } from './result-json.ts';
export type { LokiJsonOptions } from './result-json.ts';
