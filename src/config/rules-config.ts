import { z } from 'zod';
import { durationSchema } from './units.ts';

/** The ruler (`rules:`): evaluation defaults, rule files on disk, and where alerts are sent. */
export const rulesConfigSchema = z
  .object({
    /** Interval of a rule group that sets none (Prometheus' `global.evaluation_interval`). */
    evaluation_interval: durationSchema.prefault('1m'),
    /**
     * A directory of PromQL rule files (Prometheus' format), reloaded on change: `<dir>/<tenant>/<file>.yaml`,
     * or `<dir>/<file>.yaml` for the default tenant; the file name (without extension) is the namespace.
     */
    dir: z.string().optional(),
    /** The same for LogQL (Loki) rule files. */
    logs_dir: z.string().optional(),
    /** How often `dir` and `logs_dir` are checked for changes. */
    dir_poll_interval: durationSchema.prefault('10s'),
    /** Labels added to every alert sent (Prometheus' `global.external_labels`), also visible as `$externalLabels`. */
    external_labels: z.record(z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/), z.string()).default({}),
    /** The URL alerts link back to (`generatorURL`, `$externalURL`). */
    external_url: z.string().default('http://localhost:3000'),
    /** Alertmanager base URLs alerts are sent to through the v2 API (`POST <url>/api/v2/alerts`). */
    alertmanager_urls: z.array(z.string().url()).default([]),
    /** Minimum time between resends of a still-firing alert (Prometheus' `--rules.alert.resend-delay`). */
    resend_delay: durationSchema.prefault('1m'),
    /** Timeout of one send to an Alertmanager. */
    alertmanager_timeout: durationSchema.prefault('10s'),
    /** Alerts waiting to be sent at most; the oldest beyond it are dropped and counted. */
    notification_queue_capacity: z.number().int().positive().default(10_000),
    /** How long Heimdall may be down for `for` state to be restored (Prometheus' `--rules.alert.for-outage-tolerance`). */
    for_outage_tolerance: durationSchema.prefault('1h'),
    /** Least time an alert restored as pending waits before firing (`--rules.alert.for-grace-period`). */
    for_grace_period: durationSchema.prefault('10m'),
  })
  .strict()
  .prefault({});

export type RulesConfig = z.output<typeof rulesConfigSchema>;
