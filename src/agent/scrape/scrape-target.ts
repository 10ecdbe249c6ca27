import { createHash } from 'node:crypto';
import type { ScrapeConfig } from '../../config/index.ts';
import { labelsKey } from '../../model/index.ts';
import type { Labels } from '../../model/index.ts';
import { relabel } from './relabel.ts';
import type { CompiledRelabel } from './relabel.ts';

/** A target after relabeling: the labels its series get and the URL scraped. */
export interface ScrapeTarget {
  /** Identifies the target across discovery rounds (its URL and labels). */
  readonly key: string;
  readonly url: string;
  readonly labels: Labels;
}

/**
 * Prometheus' target labels (`scrape.PopulateLabels`): `job`, `__address__`, `__scheme__`, `__metrics_path__`,
 * `__scrape_interval__`, `__scrape_timeout__` and `__param_*` under the discovered labels, relabeled; a target
 * without `__address__` after relabeling, or dropped, is no target. `instance` defaults to the address, and every
 * `__`-prefixed label (the `__meta_*` of discovery too) is removed from what the series carry.
 */
export function populateTarget(discovered: Labels, cfg: ScrapeConfig, intervalMs: number, timeoutMs: number, steps: readonly CompiledRelabel[]): ScrapeTarget | undefined {
  const base: Record<string, string> = {
    job: cfg.job_name,
    __scheme__: cfg.scheme,
    __metrics_path__: cfg.metrics_path,
    __scrape_interval__: `${intervalMs / 1000}s`,
    __scrape_timeout__: `${timeoutMs / 1000}s`,
  };
  for (const [k, v] of Object.entries(cfg.params)) if (v[0] !== undefined) base[`__param_${k}`] = v[0];
  const lb = relabel({ ...base, ...discovered }, steps);
  if (lb === undefined) return undefined;
  const address = lb.__address__;
  if (address === undefined || address === '') return undefined;
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(cfg.params)) {
    const over = lb[`__param_${k}`];
    if (over !== undefined) query.append(k, over);
    else for (const x of v) query.append(k, x);
  }
  for (const [k, v] of Object.entries(lb)) if (k.startsWith('__param_') && !Object.hasOwn(cfg.params, k.slice(8))) query.append(k.slice(8), v);
  const qs = query.toString();
  const url = `${lb.__scheme__ ?? cfg.scheme}://${address}${lb.__metrics_path__ ?? cfg.metrics_path}${qs ? `?${qs}` : ''}`;
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(lb)) if (!k.startsWith('__') && v !== '') labels[k] = v;
  if (labels.instance === undefined) labels.instance = address;
  const key = createHash('sha256').update(url).update('\u0000').update(labelsKey(labels)).digest('hex').slice(0, 24);
  return { key, url, labels };
}
