export { registerTempoApi, TEMPO_API_PREFIX } from './register.ts';
export type { TempoApiDeps } from './deps.ts';
export { TEMPO_COMPATIBLE_VERSION } from './status-routes.ts';
