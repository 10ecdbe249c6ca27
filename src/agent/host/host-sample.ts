import type { Labels, MetricType } from '../../model/index.ts';

/** One value a host collector read, named and typed as node_exporter exposes it. */
export interface HostSample {
  readonly name: string;
  readonly labels: Labels;
  readonly value: number;
  readonly type: MetricType;
  readonly help: string;
}

/** An unanchored RE2 search, as node_exporter's filter flags match. */
export interface PatternTest {
  test(s: string): boolean;
}

/** Where the host's files are and what node_exporter's default filters leave out. */
export interface HostEnv {
  readonly procRoot: string;
  readonly sysRoot: string;
  readonly rootfsRoot: string;
  readonly mountPointsExclude: PatternTest;
  readonly fsTypesExclude: PatternTest;
  readonly diskDeviceExclude: PatternTest;
  readonly vmstatFields: PatternTest;
}

/** A node_exporter collector: reads its files, returns its samples; a missing file is an error of this collector only. */
export type HostCollector = (env: HostEnv) => Promise<HostSample[]>;

export function sample(name: string, type: MetricType, help: string, value: number, labels: Labels = {}): HostSample {
  return { name, type, help, value, labels };
}
