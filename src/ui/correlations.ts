import type { UiCorrelationsConfig, UiDatasourceConfig } from '../config/index.ts';

/** A data source's correlations as the browser gets them: every target uid filled in (when a source of its type exists). */
export type ResolvedCorrelations = UiCorrelationsConfig;

const TARGET_TYPES = { traces_uid: 'tempo', logs_uid: 'loki', profiles_uid: 'pyroscope', metrics_uid: 'prometheus' } as const;

/** `source`'s correlations with each target uid it leaves out set to the first data source of that target's type. */
export function resolveCorrelations(source: UiDatasourceConfig, all: readonly UiDatasourceConfig[]): ResolvedCorrelations {
  const out: Record<string, unknown> = { ...source.correlations };
  for (const [key, type] of Object.entries(TARGET_TYPES)) {
    if (out[key] === undefined) {
      const first = all.find((d) => d.type === type);
      if (first) out[key] = first.uid;
    }
  }
  return out as ResolvedCorrelations;
}
