export { PYROSCOPE_API_PREFIX, registerPyroscopeApi } from './register.ts';
export type { PyroscopeApiDeps } from './register.ts';
