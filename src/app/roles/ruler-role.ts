import fsp from 'node:fs/promises';
import path from 'node:path';
import { registerAlertmanagerApi } from '../../api/alertmanager/index.ts';
import { registerRulerApi } from '../../api/ruler/index.ts';
import { parseLogql } from '../../logql/index.ts';
import { AlertmanagerNotifier, BuiltinNotifier, defaultAlertmanagerConfig, parseAlertmanagerConfig } from '../../notifier/index.ts';
import { exprType, parseExpr } from '../../promql/index.ts';
import { RuleStore, Ruler, decodeMatrix, decodeVector } from '../../rules/index.ts';
import type { ExpressionValidator, RuleQuerier } from '../../rules/index.ts';
import { federatedLogsStorage, federatedMetricsStorage } from '../../storage/index.ts';
import type { RoleModule } from '../role.ts';
import { watchRuleDirs } from '../rule-dirs.ts';

/** Checks rule expressions with the real parsers: PromQL, or LogQL that must be a metric query (Loki's ruler rule). */
export const validateRuleExpression: ExpressionValidator = (language, expr) => {
  try {
    if (language === 'promql') {
      const type = exprType(parseExpr(expr));
      if (type !== 'vector' && type !== 'scalar') return `rule expression must be an instant vector or scalar, got ${type}`;
    } else if (parseLogql(expr).kind === 'logSelector') {
      return 'a log rule needs a metric query (e.g. sum(rate({app="x"} |= "error" [5m]))), not a log selector';
    }
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
};

/**
 * The ruler role (Mimir's/Loki's ruler): evaluates every tenant's rule groups through the metrics and logs
 * roles' query engines (the worker pool) and writes results and `ALERTS` through the metrics Appendable;
 * rule groups come from the ruler APIs (stored under `<data_dir>/rules/`) and from `rules.dir`/`rules.logs_dir`;
 * alerts go to the Alertmanagers of `rules.alertmanager_urls` and/or to the built-in notifier
 * (`alertmanager.builtin`), whose Alertmanager v2 API is served under `/alertmanager/api/v2`.
 */
export const rulerRole: RoleModule = {
  async start(ctx) {
    const { config, logger, provided } = ctx;
    const metrics = provided.metricsStorage;
    const metricEngine = provided.metricQueryEngine;
    if (!metrics || !metricEngine) throw new Error('the ruler needs the metrics role');
    const logs = provided.logsStorage;
    const logEngine = provided.logQueryEngine;
    const rc = config.rules;
    const metricReads = federatedMetricsStorage(metrics);
    const logReads = logs ? federatedLogsStorage(logs) : undefined;
    const timeoutMs = config.metrics.query.timeout;

    const querier: RuleQuerier = {
      async vector(language, tenant, expr, atMs, signal) {
        const controls = { timeoutMs, ...(signal ? { signal } : {}) };
        if (language === 'promql') return decodeVector(await metricEngine.instant(metricReads, [tenant], { query: expr, timeMs: atMs }, controls));
        if (!logEngine || !logReads) throw new Error('log rules need the logs role');
        const query = { query: expr, timeNs: BigInt(atMs) * 1_000_000n, direction: 'backward' as const, limit: 100 };
        return decodeVector(await logEngine.instant(logReads, [tenant], query, controls));
      },
      async matrix(tenant, expr, atMs) {
        return decodeMatrix(await metricEngine.instant(metricReads, [tenant], { query: expr, timeMs: atMs }, { timeoutMs }));
      },
    };
    const notifier = new AlertmanagerNotifier({
      urls: rc.alertmanager_urls,
      queueCapacity: rc.notification_queue_capacity,
      maxBatch: 64,
      timeoutMs: rc.alertmanager_timeout,
      logger: logger.child({ component: 'notifier' }),
      registry: ctx.selfMetrics.registry,
    });
    const builtin = await startBuiltinNotifier(ctx);
    const ruler = new Ruler(
      {
        querier,
        appendable: metrics,
        externalLabels: rc.external_labels,
        externalUrl: rc.external_url,
        resendDelayMs: rc.resend_delay,
        restore: { outageToleranceMs: rc.for_outage_tolerance, forGracePeriodMs: rc.for_grace_period },
        notify: (tenant, alerts) => {
          notifier.send(tenant, alerts);
          builtin?.send(tenant, alerts);
        },
      },
      { defaultIntervalMs: rc.evaluation_interval, logger, registry: ctx.selfMetrics.registry },
    );

    const prometheus = { store: await RuleStore.open(path.join(config.data_dir, 'rules', 'prometheus'), 'promql', validateRuleExpression), source: 'api-prometheus', language: 'promql' as const };
    const loki = logs
      ? { store: await RuleStore.open(path.join(config.data_dir, 'rules', 'loki'), 'logql', validateRuleExpression), source: 'api-loki', language: 'logql' as const }
      : undefined;
    for (const src of [prometheus, loki]) {
      if (!src) continue;
      for (const tenant of src.store.tenantIds()) await ruler.sync(tenant, src.source, src.language, src.store.namespaces(tenant));
    }
    const dirs = watchRuleDirs(ruler, {
      promqlDir: rc.dir,
      logqlDir: logs ? rc.logs_dir : undefined,
      pollIntervalMs: rc.dir_poll_interval,
      validate: validateRuleExpression,
      logger,
    });
    await dirs.loaded;
    await registerRulerApi(ctx.http, { ruler, prometheus, ...(loki ? { loki } : {}), validate: validateRuleExpression, tenants: ctx.tenants, logger });
    if (builtin) await registerAlertmanagerApi(ctx.http, { notifier: builtin, tenants: ctx.tenants, logger, version: '0.35.0' });
    return {
      serves: [
        'Mimir ruler API /prometheus/config/v1/rules',
        ...(loki ? ['Loki ruler API /loki/api/v1/rules'] : []),
        ...(builtin ? ['Alertmanager API /alertmanager/api/v2', 'Alertmanager config API /api/v1/alerts'] : []),
      ],
      async stop() {
        await dirs.stop();
        await ruler.stop();
        await notifier.stop();
        await builtin?.stop();
      },
    };
  },
};

/**
 * Starts the built-in notifier unless `alertmanager.builtin` is `off`, or `auto` with external Alertmanagers
 * configured. Its configuration is `alertmanager.config_file`, or the default routing built from
 * `alertmanager.teams` and `alertmanager.pagerduty_routing_key`; a configuration that does not parse stops
 * the start with its error.
 */
async function startBuiltinNotifier(ctx: Parameters<RoleModule['start']>[0]): Promise<BuiltinNotifier | undefined> {
  const { config, logger } = ctx;
  const am = config.alertmanager;
  if (am.builtin === 'off' || (am.builtin === 'auto' && config.rules.alertmanager_urls.length > 0)) return undefined;
  const text = am.config_file
    ? await fsp.readFile(am.config_file, 'utf8')
    : defaultAlertmanagerConfig({
        teams: am.teams,
        ...(am.pagerduty_routing_key ? { pagerdutyRoutingKey: am.pagerduty_routing_key } : {}),
        ...(am.pagerduty_url ? { pagerdutyUrl: am.pagerduty_url } : {}),
        groupWait: am.group_wait,
        groupInterval: am.group_interval,
        repeatInterval: am.repeat_interval,
      });
  let parsed;
  try {
    parsed = parseAlertmanagerConfig(text, am.config_file ? { baseDir: path.dirname(path.resolve(am.config_file)) } : {});
  } catch (err) {
    throw new Error(`alertmanager.${am.config_file ? `config_file ${am.config_file}` : 'teams (the default routing)'}: ${(err as Error).message}`, { cause: err });
  }
  const notifier = new BuiltinNotifier({
    config: parsed,
    dir: path.join(config.data_dir, 'alertmanager'),
    externalUrl: am.external_url ?? `${config.rules.external_url.replace(/\/$/, '')}/alerting`,
    retentionMs: am.retention,
    deliveryTimeoutMs: am.delivery_timeout,
    retryInitialMs: am.retry_initial_delay,
    logger: logger.child({ component: 'alertmanager' }),
    registry: ctx.selfMetrics.registry,
  });
  await notifier.openExisting();
  return notifier;
}
