import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { TenantId } from '../model/index.ts';
import { RuleGroup } from './rule-group.ts';
import type { GroupId, RuleGroupContext } from './rule-group.ts';
import type { RuleGroupSpec, RuleLanguage } from './rule-file.ts';
import type { NamespaceGroups } from './rule-store.ts';

/** The ruler's settings (`rules.*` config). */
export interface RulerOptions {
  readonly defaultIntervalMs: number;
  readonly logger: Logger;
  readonly registry: Registry;
}

/**
 * Runs every tenant's rule groups. Sources (`api-prometheus`, `api-loki`, `dir`) replace their groups of a
 * tenant with `sync`; an unchanged group keeps running, a changed one is replaced and takes over its alert
 * state (as Prometheus' reload does), a removed one stops. Lookups for the APIs read `groups`.
 */
export class Ruler {
  private readonly running = new Map<string, RuleGroup>();
  private readonly ctx: RuleGroupContext;
  private readonly metrics: RulerMetrics;
  private stopped = false;

  constructor(
    ctx: Omit<RuleGroupContext, 'onEvaluated' | 'onMissed' | 'logError'>,
    private readonly options: RulerOptions,
  ) {
    this.metrics = new RulerMetrics(options.registry);
    const log = options.logger;
    this.ctx = {
      ...ctx,
      onEvaluated: (g, ms, failures) => {
        const l = this.metrics.labels(g.id, g.spec.name);
        this.metrics.lastDuration.set(l, ms / 1000);
        this.metrics.lastEvaluation.set(l, g.lastEvaluationMs / 1000);
        this.metrics.iterations.inc(l);
        if (failures > 0) this.metrics.failures.inc(l, failures);
      },
      onMissed: (g, missed) => {
        this.metrics.missed.inc(this.metrics.labels(g.id, g.spec.name), missed);
        log.warn({ tenant: g.id.tenant, namespace: g.id.namespace, group: g.spec.name, missed }, 'rule group evaluation took longer than its interval; slots skipped');
      },
      logError: (g, rule, err) =>
        log.warn({ tenant: g.id.tenant, namespace: g.id.namespace, group: g.spec.name, rule, err: (err as Error).message }, 'rule evaluation failed'),
    };
  }

  /** Replaces the groups `source` provides for `tenant` with `namespaces`. */
  async sync(tenant: TenantId, source: string, language: RuleLanguage, namespaces: NamespaceGroups): Promise<void> {
    if (this.stopped) return;
    const wanted = new Map<string, { id: GroupId; spec: RuleGroupSpec }>();
    for (const [namespace, groups] of namespaces) {
      for (const spec of groups) wanted.set(groupKey(tenant, source, namespace, spec.name), { id: { tenant, source, namespace, language }, spec });
    }
    const prefix = groupKey(tenant, source, '', '').slice(0, -2);
    const stops: Promise<void>[] = [];
    for (const [key, group] of this.running) {
      if (!key.startsWith(`${prefix}\0`) || wanted.has(key)) continue;
      this.running.delete(key);
      this.metrics.forget(group.id, group.spec.name);
      stops.push(group.stop());
    }
    for (const [key, { id, spec }] of wanted) {
      const old = this.running.get(key);
      if (old && JSON.stringify(old.spec) === JSON.stringify(spec)) continue;
      const group = new RuleGroup(id, spec, this.options.defaultIntervalMs, this.ctx);
      if (old) {
        stops.push(old.stop());
        group.copyState(old);
      }
      this.running.set(key, group);
      this.metrics.rules.set(this.metrics.labels(id, spec.name), spec.rules.length);
      group.start();
    }
    await Promise.all(stops);
  }

  /** The running groups of `tenants`, ordered by namespace then by their order in the namespace. */
  groups(tenants: readonly TenantId[], sources?: readonly string[]): RuleGroup[] {
    return [...this.running.values()].filter(
      (g) => tenants.includes(g.id.tenant) && (sources === undefined || sources.includes(g.id.source)),
    );
  }

  /** Stops every group, waiting for running evaluations. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.running.values()].map((g) => g.stop()));
    this.running.clear();
  }
}

function groupKey(tenant: string, source: string, namespace: string, name: string): string {
  return `${tenant}\0${source}\0${namespace}\0${name}`;
}

/** The ruler's self-metrics, Prometheus' `prometheus_rule_group_*` under Heimdall's names. */
class RulerMetrics {
  readonly lastDuration: Gauge<'tenant' | 'rule_group'>;
  readonly lastEvaluation: Gauge<'tenant' | 'rule_group'>;
  readonly rules: Gauge<'tenant' | 'rule_group'>;
  readonly iterations: Counter<'tenant' | 'rule_group'>;
  readonly missed: Counter<'tenant' | 'rule_group'>;
  readonly failures: Counter<'tenant' | 'rule_group'>;

  constructor(registry: Registry) {
    const labelNames = ['tenant', 'rule_group'] as const;
    const registers = [registry];
    this.lastDuration = new Gauge({ name: 'heimdall_rule_group_last_duration_seconds', help: 'Duration of the last evaluation of the rule group.', labelNames, registers });
    this.lastEvaluation = new Gauge({ name: 'heimdall_rule_group_last_evaluation_timestamp_seconds', help: 'Timestamp of the last evaluation of the rule group.', labelNames, registers });
    this.rules = new Gauge({ name: 'heimdall_rule_group_rules', help: 'Rules in the rule group.', labelNames, registers });
    this.iterations = new Counter({ name: 'heimdall_rule_group_iterations_total', help: 'Evaluations of the rule group.', labelNames, registers });
    this.missed = new Counter({ name: 'heimdall_rule_group_iterations_missed_total', help: 'Evaluation slots skipped because an evaluation took longer than the interval.', labelNames, registers });
    this.failures = new Counter({ name: 'heimdall_rule_evaluation_failures_total', help: 'Rule evaluations (and result writes) that failed.', labelNames, registers });
  }

  labels(id: GroupId, name: string): { tenant: string; rule_group: string } {
    return { tenant: id.tenant, rule_group: `${id.namespace};${name}` };
  }

  forget(id: GroupId, name: string): void {
    const l = this.labels(id, name);
    for (const m of [this.lastDuration, this.lastEvaluation, this.rules, this.iterations, this.missed, this.failures]) m.remove(l);
  }
}
