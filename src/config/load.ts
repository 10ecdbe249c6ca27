import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { agentConfigSchema } from './agent-config.ts';
import type { AgentConfig } from './agent-config.ts';
import { configSchema } from './schema.ts';
import type { HeimdallConfig } from './schema.ts';

/** A configuration problem that stops start-up. The message names the key path, the value and what is allowed. */
export class ConfigError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

/** Where settings come from, lowest precedence first: file, then environment, then flags. */
export interface ConfigSources {
  /** Path of a YAML file (`--config` or `HEIMDALL_CONFIG`). */
  readonly file?: string;
  /** Usually `process.env`; only `HEIMDALL_*` keys are read. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Top-level keys given as command-line flags (already snake_case: `data_dir`, `http_address`...). */
  readonly flags?: Readonly<Record<string, string | boolean | undefined>>;
}

/** How a top-level key settable from the environment and flags is read from a string. */
type ScalarKind = 'string' | 'boolean';

/** Top-level keys of the server's config settable from the environment and flags. */
const SCALAR_KEYS: Record<string, ScalarKind> = {
  data_dir: 'string',
  target: 'string',
  http_address: 'string',
  otlp_grpc_address: 'string',
  otlp_http_address: 'string',
  multitenancy: 'boolean',
  log_level: 'string',
};

/** The environment variable for a top-level key: `data_dir` → `HEIMDALL_DATA_DIR`. */
function envName(key: string): string {
  return `HEIMDALL_${key.toUpperCase()}`;
}

/**
 * Loads and validates the configuration. Throws {@link ConfigError} for an unreadable file, invalid YAML,
 * an unknown key, a wrong type or a bad value, naming every problem found.
 */
export function loadConfig(sources: ConfigSources = {}): HeimdallConfig {
  return loadConfigWith(configSchema, SCALAR_KEYS, sources);
}

/** Top-level keys of the agent's config settable from the environment and flags (`HEIMDALL_NODE_NAME`...). */
const AGENT_SCALAR_KEYS: Record<string, ScalarKind> = { data_dir: 'string', node_name: 'string', log_level: 'string' };

/** Loads and validates the node agent's configuration (`heimdall agent`), as {@link loadConfig} does the server's. */
export function loadAgentConfig(sources: ConfigSources = {}): AgentConfig {
  return loadConfigWith(agentConfigSchema, AGENT_SCALAR_KEYS, sources);
}

/**
 * The loader behind every config file of ours (the server's, the agent's): YAML file, then `HEIMDALL_*`
 * variables and flags for `scalarKeys`, validated by `schema` with every problem named by its key path.
 */
export function loadConfigWith<S extends z.ZodType>(schema: S, scalarKeys: Readonly<Record<string, ScalarKind>>, sources: ConfigSources): z.output<S> {
  const env = sources.env ?? {};
  const file = sources.file ?? env.HEIMDALL_CONFIG;
  let raw: Record<string, unknown> = {};
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`, { cause: err });
    }
    let doc: unknown;
    try {
      doc = parseYaml(text);
    } catch (err) {
      throw new ConfigError(`config file ${file} is not valid YAML: ${(err as Error).message}`, { cause: err });
    }
    if (doc !== null && doc !== undefined) {
      if (typeof doc !== 'object' || Array.isArray(doc)) {
        throw new ConfigError(`config file ${file} must be a YAML mapping of keys to values`);
      }
      raw = doc as Record<string, unknown>;
    }
  }
  for (const [key, kind] of Object.entries(scalarKeys)) {
    const fromEnv = env[envName(key)];
    if (fromEnv !== undefined && fromEnv !== '') raw[key] = coerce(fromEnv, kind, envName(key));
    const fromFlag = sources.flags?.[key];
    if (fromFlag !== undefined) raw[key] = typeof fromFlag === 'string' ? coerce(fromFlag, kind, `--${key.replaceAll('_', '-')}`) : fromFlag;
  }
  const result = schema.safeParse(raw);
  if (!result.success) {
    throw new ConfigError(formatIssues(result.error.issues, raw, file));
  }
  return result.data;
}

function coerce(value: string, kind: 'string' | 'boolean', source: string): string | boolean {
  if (kind === 'string') return value;
  if (/^(true|1|yes|on)$/i.test(value)) return true;
  if (/^(false|0|no|off)$/i.test(value)) return false;
  throw new ConfigError(`${source}: invalid boolean "${value}": expected true or false`);
}

function formatIssues(issues: readonly z.core.$ZodIssue[], raw: unknown, file: string | undefined): string {
  const lines = issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      const where = path ? `under "${path}"` : 'at the top level';
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')} ${where}`;
    }
    const value = valueAt(raw, issue.path);
    const shown = value === undefined ? '' : ` (got ${JSON.stringify(value)})`;
    return `"${path}": ${issue.message}${shown}`;
  });
  return `invalid configuration${file ? ` in ${file}` : ''}:\n  ${lines.join('\n  ')}`;
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = raw;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  return cur;
}
