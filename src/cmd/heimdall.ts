import { parseArgs } from 'node:util';
import type { Logger } from 'pino';
import type { HeimdallApp } from '../app/index.ts';
import { ROLE_REGISTRY, launchHeimdall } from '../app/index.ts';

// Only what help and argument errors need is imported statically; the config schema, the logger and the
// servers load on `start` (see launchHeimdall), so `heimdall --help` answers without loading them.
const ROLE_LIST = ROLE_REGISTRY.map((r) => r.name).join(', ');

const MAIN_HELP = `Heimdall: a self-hostable, multi-tenant observability platform (metrics, logs, traces, profiles, alerting,
collection and a web UI) speaking the Prometheus/Mimir, Loki, Tempo and Pyroscope wire APIs.

Usage:
  heimdall start [options]   run Heimdall (every role by default)
  heimdall agent [options]   run the node agent (the DaemonSet: host metrics, pod logs, scraping)
  heimdall grafana-provisioning [options]
                             write Grafana data-source provisioning YAML per org (--help for options)
  heimdall --help            this text
  heimdall start --help      the options of start

Docs: README.md (configuration reference, ports and paths, compatibility table).
`;

const START_HELP = `Usage: heimdall start [options]

Runs the roles named by --target in one process. Each option also has an environment variable and a key in
the YAML config file; precedence is flag > environment > file > default.

Options:
  --config FILE               YAML configuration file                   env HEIMDALL_CONFIG
  --data-dir DIR              where every engine keeps its data         env HEIMDALL_DATA_DIR           key data_dir           default ./data
  --target LIST               all, or a comma list of: ${ROLE_LIST}
                                                                        env HEIMDALL_TARGET             key target             default all
  --http-address HOST:PORT    query APIs, Mimir/Loki write paths, UI    env HEIMDALL_HTTP_ADDRESS       key http_address       default 127.0.0.1:3000
  --otlp-grpc-address H:P     OTLP/gRPC receiver                        env HEIMDALL_OTLP_GRPC_ADDRESS  key otlp_grpc_address  default 127.0.0.1:4317
  --otlp-http-address H:P     OTLP/HTTP receiver                        env HEIMDALL_OTLP_HTTP_ADDRESS  key otlp_http_address  default 127.0.0.1:4318
  --multitenancy              require X-Scope-OrgID (off: everything is tenant "anonymous")
                                                                        env HEIMDALL_MULTITENANCY       key multitenancy       default false
  --log-level LEVEL           fatal|error|warn|info|debug|trace|silent  env HEIMDALL_LOG_LEVEL          key log_level          default info
  -h, --help                  this text

Roles:
${ROLE_REGISTRY.map((r) => `  ${r.name.padEnd(10)} ${r.description}${r.dependsOn.length ? ` (needs ${r.dependsOn.join(', ')})` : ''}`).join('\n')}

SIGTERM or SIGINT drains in-flight requests and closes storage cleanly; a second signal exits at once.
`;

const AGENT_HELP = `Usage: heimdall agent --config FILE [options]

Runs the node agent: host metrics (node_exporter's names), pod and node system logs, Prometheus scraping,
sent through on-disk queues to a gateway or any remote_write / Loki push endpoint (the \`forward\` key).
docs/agent.example.yaml shows every section.

Options:
  --config FILE               YAML configuration file (required)        env HEIMDALL_CONFIG
  --data-dir DIR              forwarding queues and the positions file  env HEIMDALL_DATA_DIR   key data_dir   default ./data-agent
  --node-name NAME            this node's name (labels node, instance)  env HEIMDALL_NODE_NAME  key node_name  default the host name
  --log-level LEVEL           fatal|error|warn|info|debug|trace|silent  env HEIMDALL_LOG_LEVEL  key log_level  default info
  -h, --help                  this text
`;

/** Runs the CLI; returns the exit code for errors that stop start-up. */
export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(MAIN_HELP);
    return command === undefined ? 2 : 0;
  }
  if (command === 'agent') return runAgent(rest);
  if (command === 'grafana-provisioning') {
    const { grafanaProvisioningCommand } = await import('./grafana-provisioning.ts');
    return grafanaProvisioningCommand(rest);
  }
  if (command !== 'start') {
    process.stderr.write(`heimdall: unknown command "${command}"\n\n${MAIN_HELP}`);
    return 2;
  }
  const values = parseCommandArgs('start', rest, START_HELP, {
    config: { type: 'string' },
    'data-dir': { type: 'string' },
    target: { type: 'string' },
    'http-address': { type: 'string' },
    'otlp-grpc-address': { type: 'string' },
    'otlp-http-address': { type: 'string' },
    multitenancy: { type: 'boolean' },
    'log-level': { type: 'string' },
  });
  if (typeof values === 'number') return values;
  const { ConfigError, loadConfig } = await import('../config/index.ts');
  let config;
  try {
    config = loadConfig({
      ...(typeof values.config === 'string' ? { file: values.config } : {}),
      env: process.env,
      flags: {
        data_dir: values['data-dir'],
        target: values.target,
        http_address: values['http-address'],
        otlp_grpc_address: values['otlp-grpc-address'],
        otlp_http_address: values['otlp-http-address'],
        multitenancy: values.multitenancy,
        log_level: values['log-level'],
      },
    });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`heimdall: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const { createLogger } = await import('../selfobs/index.ts');
  const logger = createLogger(config.log_level);
  routeProcessWarningsTo(logger);
  let app: HeimdallApp;
  try {
    app = await launchHeimdall(config, logger, ROLE_REGISTRY);
  } catch (err) {
    logger.fatal({ err }, `start-up failed: ${(err as Error).message}`);
    process.stderr.write(`heimdall: start-up failed: ${(err as Error).message}\n`);
    return 1;
  }
  stopOnSignals(logger, 'shutting down: draining requests, then closing storage', () => app.stop());
  return -1;
}

/** `heimdall agent`: loads the agent's config and runs it until SIGTERM. */
async function runAgent(rest: readonly string[]): Promise<number> {
  const values = parseCommandArgs('agent', rest, AGENT_HELP, {
    config: { type: 'string' },
    'data-dir': { type: 'string' },
    'node-name': { type: 'string' },
    'log-level': { type: 'string' },
  });
  if (typeof values === 'number') return values;
  const file = typeof values.config === 'string' ? values.config : process.env.HEIMDALL_CONFIG;
  if (file === undefined || file === '') {
    process.stderr.write(`heimdall agent: --config FILE is required\n\n${AGENT_HELP}`);
    return 2;
  }
  const { ConfigError, loadAgentConfig } = await import('../config/index.ts');
  let config;
  try {
    config = loadAgentConfig({ file, env: process.env, flags: { data_dir: values['data-dir'], node_name: values['node-name'], log_level: values['log-level'] } });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`heimdall agent: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const { createLogger } = await import('../selfobs/index.ts');
  const logger = createLogger(config.log_level);
  routeProcessWarningsTo(logger);
  const { launchAgent } = await import('../app/agent.ts');
  let agent: Awaited<ReturnType<typeof launchAgent>>;
  try {
    agent = await launchAgent(config, logger);
  } catch (err) {
    logger.fatal({ err }, `agent start-up failed: ${(err as Error).message}`);
    process.stderr.write(`heimdall agent: start-up failed: ${(err as Error).message}\n`);
    return 1;
  }
  logger.info({ parts: agent.parts, dataDir: config.data_dir, ...(agent.selfMetricsAddress !== undefined ? { selfMetrics: `http://${agent.selfMetricsAddress}/metrics` } : {}) }, 'Heimdall agent ready');
  stopOnSignals(logger, 'shutting down: stopping collectors, saving positions', () => agent.stop());
  return -1;
}

/**
 * Parses a command's flags (plus `-h/--help`); returns them, or the exit code once help or an argument error
 * was printed.
 */
function parseCommandArgs(
  command: string,
  rest: readonly string[],
  help: string,
  options: Record<string, { type: 'string' | 'boolean' }>,
): Record<string, string | boolean | undefined> | number {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: [...rest], options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false }));
  } catch (err) {
    process.stderr.write(`heimdall ${command}: ${(err as Error).message}\n\n${help}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(help);
    return 0;
  }
  return values;
}

/** SIGTERM or SIGINT stops cleanly through `stop`; a second signal exits at once. */
function stopOnSignals(logger: Logger, message: string, stop: () => Promise<void>): void {
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(130);
    }
    logger.info({ signal }, message);
    stop().then(
      () => {
        logger.info('stopped cleanly');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/**
 * Node prints process warnings (deprecations, experimental features) as plain text on stderr; a server logs
 * them as JSON lines instead, so its whole output stays machine-readable.
 */
function routeProcessWarningsTo(logger: { warn(obj: object, msg: string): void }): void {
  process.removeAllListeners('warning');
  process.on('warning', (warning: Error & { code?: string }) =>
    logger.warn({ warning: { name: warning.name, code: warning.code, message: warning.message } }, `process warning: ${warning.message}`),
  );
}
