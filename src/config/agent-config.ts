import { z } from 'zod';
import { gatewayConfigSchema, tlsSchema } from './gateway-config.ts';
import { addressSchema, durationSchema } from './units.ts';

/**
 * The node agent's configuration (`heimdall agent --config FILE`): one YAML file per DaemonSet, validated like
 * the server's (unknown keys and bad values stop start-up, each named by its key path).
 */

/** The agent forwards exactly as the gateway does (`gateway.forward`): same endpoint blocks, same disk queues. */
const forwardSchema = gatewayConfigSchema.unwrap().shape.forward;

/** Prometheus' `relabel_config`. Regexes are RE2, fully anchored, as in Prometheus. */
const relabelSchema = z
  .object({
    source_labels: z.array(z.string()).default([]),
    separator: z.string().default(';'),
    target_label: z.string().optional(),
    regex: z.string().default('(.*)'),
    modulus: z.number().int().positive().optional(),
    replacement: z.string().default('$1'),
    action: z
      .enum(['replace', 'keep', 'drop', 'keepequal', 'dropequal', 'hashmod', 'labelmap', 'labeldrop', 'labelkeep', 'lowercase', 'uppercase'])
      .default('replace'),
  })
  .strict()
  .superRefine((r, ctx) => {
    const needsTarget = ['replace', 'keepequal', 'dropequal', 'hashmod', 'lowercase', 'uppercase'].includes(r.action);
    if (needsTarget && r.target_label === undefined) ctx.addIssue({ code: 'custom', path: ['target_label'], message: `relabel action ${r.action} requires target_label` });
    if (r.action === 'hashmod' && r.modulus === undefined) ctx.addIssue({ code: 'custom', path: ['modulus'], message: 'relabel action hashmod requires modulus' });
  });

/** Prometheus' `static_config`. */
const staticConfigSchema = z
  .object({
    targets: z.array(z.string().regex(/^[^/\s]+:\d{1,5}$|^[^/\s:]+$/, 'expected host:port')).default([]),
    labels: z.record(z.string(), z.string()).default({}),
  })
  .strict();

/** How the agent reaches the Kubernetes API (discovery, events). */
const kubeApiFields = {
  /** The API server; absent means in-cluster (service account token and CA under /var/run/secrets). */
  api_server: z.url().optional(),
  /** A token for `api_server` (out-of-cluster use); in-cluster the service account's is used. */
  bearer_token: z.string().optional(),
  tls_config: z.object({ insecure_skip_verify: z.boolean().default(false) }).strict().prefault({}),
};

/** Prometheus' `kubernetes_sd_config` (the roles the agent discovers). */
const kubernetesSdSchema = z
  .object({
    role: z.enum(['pod', 'endpoints', 'node']),
    namespaces: z.object({ names: z.array(z.string()).default([]) }).strict().prefault({}),
    ...kubeApiFields,
    /**
     * Prometheus' selectors: a DaemonSet discovers only its node's pods with
     * `[{ role: pod, field: "spec.nodeName=<node>" }]`.
     */
    selectors: z
      .array(z.object({ role: z.enum(['pod', 'endpoints', 'node']), label: z.string().optional(), field: z.string().optional() }).strict())
      .default([]),
    /** How often discovery lists again (Heimdall's addition; Prometheus watches). */
    refresh_interval: durationSchema.prefault('30s'),
  })
  .strict();

/** Prometheus' `scrape_config`, the subset the agent implements (anything else is an unknown key). */
const scrapeConfigSchema = z
  .object({
    job_name: z.string().min(1),
    scrape_interval: durationSchema.optional(),
    scrape_timeout: durationSchema.optional(),
    metrics_path: z.string().default('/metrics'),
    scheme: z.enum(['http', 'https']).default('http'),
    params: z.record(z.string(), z.array(z.string())).default({}),
    honor_labels: z.boolean().default(false),
    honor_timestamps: z.boolean().default(true),
    bearer_token: z.string().optional(),
    /** Read before every scrape, so a rotated service account token is picked up (kubelet's `/metrics/cadvisor`). */
    bearer_token_file: z.string().optional(),
    basic_auth: z.object({ username: z.string(), password: z.string().default('') }).strict().optional(),
    /** Prometheus' `authorization`: `Authorization: <type> <credentials>`, the credentials inline or from a file read before every scrape. */
    authorization: z
      .object({ type: z.string().default('Bearer'), credentials: z.string().optional(), credentials_file: z.string().optional() })
      .strict()
      .refine((a) => (a.credentials === undefined) !== (a.credentials_file === undefined), 'give one of credentials and credentials_file')
      .optional(),
    /** For `scheme: https`: the CA to verify the target with, a client certificate, the server name, or no verification. */
    tls_config: tlsSchema,
    /** Samples per scrape after metric relabeling; past it the scrape fails (`up` 0), as in Prometheus. 0 = no limit. */
    sample_limit: z.number().int().nonnegative().default(0),
    static_configs: z.array(staticConfigSchema).default([]),
    kubernetes_sd_configs: z.array(kubernetesSdSchema).default([]),
    relabel_configs: z.array(relabelSchema).default([]),
    metric_relabel_configs: z.array(relabelSchema).default([]),
  })
  .strict()
  .superRefine((c, ctx) => {
    const given = (['basic_auth', 'bearer_token', 'bearer_token_file', 'authorization'] as const).filter((k) => c[k] !== undefined);
    if (given.length > 1) ctx.addIssue({ code: 'custom', path: [given[1]!], message: `at most one of ${given.join(', ')} (as in Prometheus)` });
  });

/** node_exporter's collectors that the agent implements, by node_exporter's names. */
export const HOST_COLLECTORS = ['cpu', 'meminfo', 'loadavg', 'filesystem', 'diskstats', 'netdev', 'stat', 'pressure', 'vmstat', 'time'] as const;
export type HostCollectorName = (typeof HOST_COLLECTORS)[number];

export const agentConfigSchema = z
  .object({
    /** Where the forwarding queues and the log positions file live (a hostPath in the DaemonSet). */
    data_dir: z.string().min(1).default('./data-agent'),
    /** The `node` label of pod logs and the `instance` of host metrics; the DaemonSet sets it from `spec.nodeName`. */
    node_name: z.string().min(1).optional(),
    log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** Where records go: `metrics` (remote_write) and `logs` (Loki push) endpoints, as the gateway's `gateway.forward`. */
    forward: forwardSchema,
    /**
     * Kubernetes events as log lines (the eventrouter role, Alloy's `loki.source.kubernetes_events`): listed, then
     * watched. Every agent that enables it ships every event, so enable it on one (a Deployment of one agent, or
     * one node's config); re-listed events after a restart are identical entries, which the log store drops.
     */
    kubernetes_events: z
      .object({
        enabled: z.boolean().default(false),
        ...kubeApiFields,
        /** Namespaces to watch; empty watches all. */
        namespaces: z.array(z.string()).default([]),
        /** The `job` label (Grafana's Kubernetes monitoring selects `integrations/kubernetes/eventhandler`). */
        job: z.string().default('integrations/kubernetes/eventhandler'),
      })
      .strict()
      .prefault({}),
    /** The agent's own `/metrics` (forwarding queues, sends, process): off unless given, e.g. `0.0.0.0:9101` in a DaemonSet. */
    self_metrics: z
      .object({ listen_address: z.union([z.literal(''), addressSchema]).default('') })
      .strict()
      .prefault({}),
    tenancy: z
      .object({
        /** The tenant of records without a namespace (host metrics, node system logs, cluster-wide targets). */
        default_tenant: z.string().default('default'),
        /** Namespace → tenant renames, e.g. `kube-system: infrastructure`. */
        namespace_map: z.record(z.string(), z.string()).default({}),
      })
      .strict()
      .prefault({}),
    host_metrics: z
      .object({
        enabled: z.boolean().default(true),
        interval: durationSchema.prefault('15s'),
        /** The host's procfs and sysfs, as mounted into the DaemonSet's pod (node_exporter's `--path.procfs`, `--path.sysfs`). */
        proc_root: z.string().default('/proc'),
        sys_root: z.string().default('/sys'),
        /** The host's root filesystem (`--path.rootfs`): filesystem sizes are read under it, mount points shown without it. */
        rootfs_root: z.string().default('/'),
        collectors: z.array(z.enum(HOST_COLLECTORS)).default([...HOST_COLLECTORS]),
        /** The `job` label of host metrics (kube-prometheus' dashboards select `job="node-exporter"`). */
        job: z.string().default('node-exporter'),
        /** node_exporter's `--collector.filesystem.mount-points-exclude` default. */
        mount_points_exclude: z.string().default('^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)'),
        /** node_exporter's `--collector.filesystem.fs-types-exclude` default. */
        fs_types_exclude: z
          .string()
          .default('^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|erofs|sysfs|tracefs)$'),
        /** node_exporter's `--collector.diskstats.device-exclude` default. */
        disk_device_exclude: z.string().default('^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\\d+n\\d+p)\\d+$'),
        /** node_exporter's `--collector.vmstat.fields` default. */
        vmstat_fields: z.string().default('^(oom_kill|pgpg|pswp|pg.*fault).*'),
      })
      .strict()
      .prefault({}),
    pod_logs: z
      .object({
        enabled: z.boolean().default(true),
        /** The kubelet's pod log directory: `<dir>/<namespace>_<pod>_<uid>/<container>/<n>.log`. */
        pods_dir: z.string().default('/var/log/pods'),
        /** `log_source` of pods that name none (the retention tier of the seeds). */
        default_log_source: z.string().default('cdt'),
        /**
         * Pod labels from the Kubernetes API (this node's pods, listed every `refresh_interval`): `app` from the first
         * of `app_labels` the pod has, `log_source` from its `log_source_label`. Off: both come from the path and the default.
         */
        kubernetes_api: z
          .object({
            enabled: z.boolean().default(false),
            ...kubeApiFields,
            refresh_interval: durationSchema.prefault('30s'),
            app_labels: z.array(z.string()).default(['app.kubernetes.io/name', 'app', 'k8s-app']),
            log_source_label: z.string().default('log_source'),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    system_logs: z
      .object({
        /** Node system logs tailed as `{job="node/syslog", node, filename}`; absent files are skipped. */
        paths: z.array(z.string()).default(['/var/log/syslog', '/var/log/messages']),
      })
      .strict()
      .prefault({}),
    tailing: z
      .object({
        /** How often files are checked for new lines, new files and rotation. */
        poll_interval: durationSchema.prefault('250ms'),
        /** Bytes read from one file per poll, so one busy file does not starve the others. */
        max_read_bytes_per_poll: z.number().int().positive().default(4 * 1024 * 1024),
        /** The longest line kept whole; longer lines are cut (Promtail's `max_line_size` with truncation). */
        max_line_bytes: z.number().int().positive().default(256 * 1024),
      })
      .strict()
      .prefault({}),
    /** Prometheus' `global` block (the defaults of every scrape config). */
    global: z
      .object({
        scrape_interval: durationSchema.prefault('1m'),
        scrape_timeout: durationSchema.prefault('10s'),
        external_labels: z.record(z.string(), z.string()).default({}),
      })
      .strict()
      .prefault({}),
    scrape_configs: z
      .array(scrapeConfigSchema)
      .default([])
      .superRefine((list, ctx) => {
        const seen = new Set<string>();
        for (const [i, s] of list.entries()) {
          if (seen.has(s.job_name)) ctx.addIssue({ code: 'custom', path: [i, 'job_name'], message: `job_name "${s.job_name}" is listed twice` });
          seen.add(s.job_name);
        }
      }),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.forward.metrics.length === 0 && c.forward.logs.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['forward'], message: 'the agent needs somewhere to send: give forward.metrics and/or forward.logs endpoints' });
    }
  });

export type AgentConfig = z.output<typeof agentConfigSchema>;
export type ScrapeConfig = z.output<typeof scrapeConfigSchema>;
export type RelabelConfig = z.output<typeof relabelSchema>;
export type KubernetesSdConfig = z.output<typeof kubernetesSdSchema>;
/** Where the Kubernetes API is and how to authenticate (the fields discovery and events share). */
export type PodLabelsConfig = AgentConfig['pod_logs']['kubernetes_api'];
export type KubeApiConfig = Pick<KubernetesSdConfig, 'api_server' | 'bearer_token' | 'tls_config'>;
