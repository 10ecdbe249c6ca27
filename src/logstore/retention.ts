import { createHash } from 'node:crypto';
import { compileMatcher, parseSelector } from '../model/index.ts';
import type { Labels, ValuePredicate } from '../model/index.ts';
import type { TenantLimits } from '../storage/index.ts';
import type { LogStoreTenantLimits, RetentionStreamRule } from './limits.ts';

/** The retention class of streams no `retention_stream` rule matches: they keep the tenant's period. */
export const DEFAULT_CLASS = 'default';

interface CompiledRule {
  readonly cls: string;
  readonly priority: number;
  readonly periodMs: number;
  readonly matchers: readonly { name: string; pred: ValuePredicate }[];
}

interface TenantRules {
  readonly periodMs: number;
  readonly rules: readonly CompiledRule[];
  readonly byClass: ReadonlyMap<string, CompiledRule>;
}

/**
 * Per-tenant and per-stream retention in Loki's shape. Each rule's selector names a retention class (a
 * stable hash of the selector text); streams are written into partitions of their class, so retention
 * drops whole partitions whatever the mix of streams. A stream matched by several rules takes the highest
 * `priority`, then the longest `period` (Loki's rule).
 *
 * Changing a rule's `period` applies to data already stored; changing its selector applies to data written
 * afterwards (older partitions keep the class they were written with and, their rule gone, fall back to the
 * tenant's `retention_period`).
 */
export class RetentionPolicy {
  private readonly limits: TenantLimits<LogStoreTenantLimits>;
  private readonly tenants = new Map<string, TenantRules>();

  /** Validates every selector of the defaults and of each overridden tenant; throws an `Error` naming the bad one. */
  constructor(limits: TenantLimits<LogStoreTenantLimits>) {
    this.limits = limits;
    compileRules(limits.defaults.retention_stream, limits.defaults.retention_period);
    for (const tenant of limits.overriddenTenants()) {
      try {
        this.forTenant(tenant);
      } catch (err) {
        throw new Error(`retention_stream of tenant ${tenant}: ${(err as Error).message}`, { cause: err });
      }
    }
  }

  /** The retention class of a stream of `tenant`. */
  classOf(tenant: string, labels: Labels): string {
    const t = this.forTenant(tenant);
    let best: CompiledRule | undefined;
    for (const r of t.rules) {
      if (!r.matchers.every((m) => m.pred(labels[m.name] ?? ''))) continue;
      if (!best || r.priority > best.priority || (r.priority === best.priority && r.periodMs > best.periodMs)) best = r;
    }
    return best ? best.cls : DEFAULT_CLASS;
  }

  /** Whether the tenant has stream rules at all (when not, every stream is in the default class). */
  hasStreamRules(tenant: string): boolean {
    return this.forTenant(tenant).rules.length > 0;
  }

  /** How long data of `cls` is kept for `tenant`, in milliseconds (0 = forever, as Loki's `0s`). */
  periodMs(tenant: string, cls: string): number {
    const t = this.forTenant(tenant);
    return t.byClass.get(cls)?.periodMs ?? t.periodMs;
  }

  private forTenant(tenant: string): TenantRules {
    let t = this.tenants.get(tenant);
    if (!t) {
      const limits = this.limits.forTenant(tenant);
      t = compileRules(limits.retention_stream, limits.retention_period);
      this.tenants.set(tenant, t);
    }
    return t;
  }
}

/** The class name of a rule: stable across restarts and rule reordering, changing only with the selector. */
export function classOfSelector(selector: string): string {
  const matchers = parseSelector(selector, 'loki')
    .map((m) => `${m.name}${m.op}${JSON.stringify(m.value)}`)
    .sort();
  return `r${createHash('sha256').update(matchers.join(',')).digest('hex').slice(0, 12)}`;
}

function compileRules(rules: readonly RetentionStreamRule[], periodMs: number): TenantRules {
  const compiled: CompiledRule[] = [];
  const byClass = new Map<string, CompiledRule>();
  for (const r of rules) {
    const matchers = parseSelector(r.selector, 'loki').map((m) => ({ name: m.name, pred: compileMatcher(m) }));
    const rule: CompiledRule = { cls: classOfSelector(r.selector), priority: r.priority, periodMs: r.period, matchers };
    compiled.push(rule);
    const prev = byClass.get(rule.cls);
    // Two rules with the same selector: the one that would win for its streams defines the period.
    if (!prev || rule.priority > prev.priority || (rule.priority === prev.priority && rule.periodMs > prev.periodMs)) {
      byClass.set(rule.cls, rule);
    }
  }
  return { periodMs, rules: compiled, byClass };
}
