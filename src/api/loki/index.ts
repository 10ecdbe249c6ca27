export { registerLokiApi } from './register.ts';
export type { LokiApiDeps } from './deps.ts';
export { parseLokiTime, parseSecondsOrDurationMs } from './params.ts';
export { lokiDataJson } from './result-json.ts';
export type { LokiJsonOptions } from './result-json.ts';
