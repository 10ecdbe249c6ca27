import { z } from 'zod';
import { durationSchema } from './units.ts';

/**
 * The built-in notifier (`alertmanager:`), Alertmanager inside Heimdall. It runs the Alertmanager
 * configuration in `config_file`, or, without one, the default routing built from `teams` and
 * `pagerduty_routing_key` (see README, Alerting).
 */
export const alertmanagerConfigSchema = z
  .object({
    /**
     * `auto`: alerts go to the built-in notifier when `rules.alertmanager_urls` is empty; `on`: always (also
     * beside external Alertmanagers); `off`: never (and its API is not served).
     */
    builtin: z.enum(['auto', 'on', 'off']).default('auto'),
    /** An Alertmanager configuration file (its YAML format); reread on restart. */
    config_file: z.string().optional(),
    /** Default routing: per namespace (team), its receiver in Alertmanager's syntax without `name`. */
    teams: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
    /** Default routing: `severity="critical"` alerts page this PagerDuty Events API v2 integration key. */
    pagerduty_routing_key: z.string().optional(),
    /** Default routing: the PagerDuty Events API v2 URL (Alertmanager's default when unset). */
    pagerduty_url: z.string().url().optional(),
    /** Default routing's timers (Alertmanager's defaults). */
    group_wait: z.string().default('30s'),
    group_interval: z.string().default('5m'),
    repeat_interval: z.string().default('4h'),
    /** How long expired silences and notification log entries are kept (Alertmanager's `--data.retention`). */
    retention: durationSchema.prefault('120h'),
    /** Timeout of one delivery attempt. */
    delivery_timeout: durationSchema.prefault('10s'),
    /** First retry delay of a failed delivery, doubled per retry (up to 30 s, within the group interval). */
    retry_initial_delay: durationSchema.prefault('500ms'),
    /** The URL notifications link to (Alertmanager's `--web.external-url`); `rules.external_url` + `/alerting` when unset. */
    external_url: z.string().optional(),
  })
  .strict()
  .prefault({});

