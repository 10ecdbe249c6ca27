export { registerRulerApi } from './register.ts';
export type { RuleSource, RulerApiDeps } from './register.ts';
