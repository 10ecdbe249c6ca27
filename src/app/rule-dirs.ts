import { createHash } from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { DEFAULT_TENANT } from '../model/index.ts';
import type { TenantId } from '../model/index.ts';
import { parseRuleFile } from '../rules/index.ts';
import type { ExpressionValidator, NamespaceGroups, RuleLanguage, Ruler } from '../rules/index.ts';
import { isValidTenantId } from '../tenant/index.ts';

/** Where rule files are read from (`rules.dir`, `rules.logs_dir`). */
export interface RuleDirOptions {
  readonly promqlDir: string | undefined;
  readonly logqlDir: string | undefined;
  readonly pollIntervalMs: number;
  readonly validate: ExpressionValidator;
  readonly logger: Logger;
}

/**
 * Loads rule files from directories into the ruler and reloads them when they change (polled: content
 * hashes, so editors that replace files and Kubernetes ConfigMap symlink swaps are both seen). Layout:
 * `<dir>/<tenant>/<namespace>.yaml` or `<dir>/<namespace>.yaml` for the default tenant. A file that does not
 * parse is logged with its error and its previous groups keep running, as Prometheus keeps the last good
 * rules on a failed reload.
 */
export function watchRuleDirs(ruler: Ruler, options: RuleDirOptions): { loaded: Promise<void>; stop(): Promise<void> } {
  const dirs: [string, RuleLanguage, string][] = [];
  if (options.promqlDir) dirs.push([options.promqlDir, 'promql', 'dir-prometheus']);
  if (options.logqlDir) dirs.push([options.logqlDir, 'logql', 'dir-loki']);
  const lastHash = new Map<string, string>();
  const lastGood = new Map<string, NamespaceGroups>();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const scanOnce = async (): Promise<void> => {
    for (const [dir, language, source] of dirs) {
      const files = await listRuleFiles(dir);
      const byTenant = new Map<TenantId, NamespaceGroups>();
      for (const t of lastGood.keys()) if (t.startsWith(`${source}\0`)) byTenant.set(t.slice(source.length + 1) as TenantId, new Map());
      for (const f of files) {
        const text = await fsp.readFile(f.file, 'utf8').catch(() => undefined);
        if (text === undefined) continue;
        const hash = createHash('sha256').update(text).digest('hex');
        const key = `${source}\0${f.file}`;
        const namespaces = byTenant.get(f.tenant) ?? new Map();
        byTenant.set(f.tenant, namespaces);
        const goodKey = `${source}\0${f.tenant}`;
        if (lastHash.get(key) !== hash) {
          lastHash.set(key, hash);
          try {
            namespaces.set(f.namespace, parseRuleFile(text, language, options.validate));
            continue;
          } catch (err) {
            options.logger.error({ file: f.file, err: (err as Error).message }, 'rule file not loaded; its previous rules keep running');
          }
        }
        const previous = lastGood.get(goodKey)?.get(f.namespace);
        if (previous) namespaces.set(f.namespace, previous);
      }
      for (const [tenant, namespaces] of byTenant) {
        const goodKey = `${source}\0${tenant}`;
        if (namespaces.size === 0) lastGood.delete(goodKey);
        else lastGood.set(goodKey, namespaces);
        await ruler.sync(tenant, source, language, namespaces);
      }
    }
  };

  const loop = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = scanOnce()
        .catch((err: unknown) => options.logger.error({ err }, 'reading rule directories failed'))
        .finally(loop);
    }, options.pollIntervalMs);
    timer.unref?.();
  };
  let running: Promise<void> = scanOnce().then(loop);
  return {
    loaded: running,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running.catch(() => undefined);
    },
  };
}

interface RuleFileRef {
  readonly file: string;
  readonly tenant: TenantId;
  readonly namespace: string;
}

async function listRuleFiles(dir: string): Promise<RuleFileRef[]> {
  const out: RuleFileRef[] = [];
  const isRuleFile = (name: string): boolean => /\.ya?ml$/.test(name) && !name.startsWith('.');
  const namespaceOf = (name: string): string => name.replace(/\.ya?ml$/, '');
  const entries = await fsp.readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const full = path.join(dir, e.name);
    const stat = await fsp.stat(full).catch(() => undefined);
    if (stat?.isFile() && isRuleFile(e.name)) out.push({ file: full, tenant: DEFAULT_TENANT as TenantId, namespace: namespaceOf(e.name) });
    else if (stat?.isDirectory() && !e.name.startsWith('.') && isValidTenantId(e.name)) {
      for (const f of await fsp.readdir(full).catch(() => [])) {
        const file = path.join(full, f);
        if (isRuleFile(f) && (await fsp.stat(file).catch(() => undefined))?.isFile()) out.push({ file, tenant: e.name as TenantId, namespace: namespaceOf(f) });
      }
    }
  }
  return out;
}
