/** The roles `--target` accepts (besides `all`), in no particular order; dependencies decide start order. */
export const ROLE_NAMES = ['metrics', 'logs', 'traces', 'profiles', 'gateway', 'ruler'] as const;
export type RoleName = (typeof ROLE_NAMES)[number];
