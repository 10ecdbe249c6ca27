/**
 * Runs Loki's LogQL test scripts (`../shared/fixtures/agpl-3.0-only/loki-logqltest/*.logqltest`, read in
 * place; never copied here) through our LogQL engine on the real log store in a temporary directory.
 *
 * Each `clear` starts a fresh tenant in the file's store, so blocks stay isolated without reopening the
 * database; `load` writes through the store's appender (the push path's seam) and commits.
 *
 * `npm run conformance:logql` prints pass/fail/skip per file and the total, and writes the failures to
 * `conformance-failures-logql.txt`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { configSchema } from '../../src/config/index.ts';
import type { LogsConfig } from '../../src/config/index.ts';
import { LogqlEngine } from '../../src/logql/index.ts';
import type { LogqlResult } from '../../src/logql/index.ts';
import { LogStore } from '../../src/logstore/index.ts';
import type { Labels, LogRecord, TenantId } from '../../src/model/index.ts';
import { parseScript } from './logql-script.ts';
import { SHARED_FIXTURES_DIR, missingFixturesReason } from './shared-fixtures.ts';
import type { EvalCommand, ExpectedSeries, LoadEntry } from './logql-script.ts';
import { logStoreConfigOptions } from '../../src/app/engine-options.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The repository root (two levels up from test/conformance). */
export const REPO_ROOT = path.resolve(here, '..', '..');
/** Where the scripts live: `../shared/...` relative to the repository root. */
export const LOGQL_SCRIPTS_DIR = path.join(SHARED_FIXTURES_DIR, 'agpl-3.0-only', 'loki-logqltest');

export interface EvalOutcome {
  readonly file: string;
  readonly line: number;
  readonly text: string;
  readonly status: 'pass' | 'fail' | 'skip';
  readonly reason?: string;
}

export interface FileSummary {
  readonly file: string;
  readonly pass: number;
  readonly fail: number;
  readonly skip: number;
}

export interface ConformanceReport {
  readonly files: FileSummary[];
  readonly outcomes: EvalOutcome[];
  readonly pass: number;
  readonly fail: number;
  readonly skip: number;
}

/** The store configuration the scripts need: their 2026-01-01 timestamps must not be "too old". */
function scriptStoreConfig(): LogsConfig {
  return configSchema.parse({
    logs: { limits: { reject_old_samples: false, creation_grace_period: '87600h', retention_period: '87600h' } },
  }).logs;
}

/** Loki drops empty-valued stream labels on push; the scripts rely on it. */
function pushLabels(labels: Record<string, string>): Labels {
  return Object.fromEntries(Object.entries(labels).filter(([, v]) => v !== ''));
}

async function load(store: LogStore, tenant: TenantId, entries: readonly LoadEntry[]): Promise<void> {
  const streams = new Map<string, { labels: Labels; entries: { timestampNs: bigint; line: string; structuredMetadata?: Labels }[] }>();
  for (const e of entries) {
    const labels = pushLabels(e.labels);
    const key = JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    let s = streams.get(key);
    if (!s) streams.set(key, (s = { labels, entries: [] }));
    s.entries.push({ timestampNs: e.timestampNs, line: e.line, structuredMetadata: e.metadata });
  }
  const app = store.appender(tenant);
  for (const s of streams.values()) {
    const rec: LogRecord = { labels: s.labels, entries: s.entries };
    const out = app.append(rec);
    if (out.rejections.length > 0) throw new Error(`load rejected: ${out.rejections.map((r) => r.message).join('; ')}`);
  }
  await app.commit();
}

function floatsEqual(a: number, b: number): boolean {
  if (Number.isNaN(a) && Number.isNaN(b)) return true;
  if (a === b) return true;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return false;
  const diff = Math.abs(a - b);
  return diff <= 1e-9 || diff <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
}

function labelsKey(l: Labels): string {
  return JSON.stringify(Object.entries(l).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function fmtLabels(l: Labels): string {
  return `{${Object.entries(l)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(', ')}}`;
}

interface GotSeries {
  labels: Labels;
  values: (number | undefined)[];
}

function gotSeries(res: LogqlResult, cmd: EvalCommand): GotSeries[] | { scalar: number } {
  const d = res.data;
  if (d.resultType === 'scalar') return { scalar: d.value };
  if (d.resultType === 'vector') return d.samples.map((s) => ({ labels: s.labels, values: [s.value] }));
  if (d.resultType === 'matrix') {
    const steps = cmd.instant ? 1 : Number((cmd.endNs - cmd.startNs) / cmd.stepNs) + 1;
    return d.series.map((s) => {
      const values: (number | undefined)[] = new Array(steps).fill(undefined);
      s.timestampsNs.forEach((t, i) => {
        const idx = cmd.instant ? 0 : Number((t - cmd.startNs) / cmd.stepNs);
        values[idx] = s.values[i];
      });
      return { labels: s.labels, values };
    });
  }
  throw new Error(`unexpected result type ${d.resultType}`);
}

function compareSeries(expected: ExpectedSeries[], got: GotSeries[], ordered: boolean): string | undefined {
  if (expected.length !== got.length) {
    return `expected ${expected.length} series, got ${got.length}: ${got.map((g) => `${fmtLabels(g.labels)} ${g.values.map(String).join(' ')}`).join('; ')}`;
  }
  const byKey = new Map(got.map((g) => [labelsKey(g.labels), g]));
  for (const [i, e] of expected.entries()) {
    const g = ordered ? got[i] : byKey.get(labelsKey(e.labels));
    if (!g || labelsKey(g.labels) !== labelsKey(e.labels)) {
      return `${ordered ? `position ${i}: ` : ''}missing series ${fmtLabels(e.labels)}; got ${got.map((x) => fmtLabels(x.labels)).join(', ')}`;
    }
    if (e.values.length !== g.values.length) {
      return `series ${fmtLabels(e.labels)}: expected ${e.values.length} points, got ${g.values.length}`;
    }
    for (const [k, ev] of e.values.entries()) {
      const gv = g.values[k];
      if (ev === undefined && gv === undefined) continue;
      if (ev === undefined || gv === undefined || !floatsEqual(ev, gv)) {
        return `series ${fmtLabels(e.labels)}: expected ${e.values.map((v) => (v === undefined ? '_' : String(v))).join(' ')}, got ${g.values.map((v) => (v === undefined ? '_' : String(v))).join(' ')}`;
      }
    }
  }
  return undefined;
}

/** Runs one eval; returns undefined when it passes or the reason it failed. */
export async function checkEval(engine: LogqlEngine, store: LogStore, tenant: TenantId, cmd: EvalCommand): Promise<string | undefined> {
  let res: LogqlResult;
  try {
    res = await engine.query(store, [tenant], {
      query: cmd.query,
      startNs: cmd.startNs,
      endNs: cmd.endNs,
      stepMs: cmd.instant ? undefined : Number(cmd.stepNs) / 1e6,
      direction: 'backward',
      limit: 1000,
      instant: cmd.instant,
    });
  } catch (err) {
    const msg = (err as Error).message;
    const exp = cmd.expect;
    if (exp.kind !== 'fail') return `unexpected error: ${msg}`;
    if (exp.msg !== undefined && !msg.includes(exp.msg)) return `error ${JSON.stringify(msg)} lacks ${JSON.stringify(exp.msg)}`;
    if (exp.regex !== undefined && !new RegExp(exp.regex).test(msg)) return `error ${JSON.stringify(msg)} does not match /${exp.regex}/`;
    return undefined;
  }
  const exp = cmd.expect;
  if (exp.kind === 'fail') return `expected failure${exp.msg ? ` (${exp.msg})` : ''}, got a result`;
  const got = gotSeries(res, cmd);
  if ('scalar' in got) {
    if (exp.kind !== 'scalar') return `expected ${exp.kind}, got scalar ${got.scalar}`;
    return floatsEqual(exp.value, got.scalar) ? undefined : `expected scalar ${exp.value}, got ${got.scalar}`;
  }
  if (exp.kind === 'empty') {
    return got.length === 0 ? undefined : `expected empty, got ${got.map((g) => `${fmtLabels(g.labels)} ${g.values.join(' ')}`).join('; ')}`;
  }
  if (exp.kind === 'scalar') {
    // A range query over a scalar answers one label-less series.
    if (got.length === 1 && Object.keys(got[0]!.labels).length === 0 && got[0]!.values.every((v) => v !== undefined && floatsEqual(v, exp.value))) {
      return undefined;
    }
    return `expected scalar ${exp.value}, got ${got.length} series`;
  }
  return compareSeries(exp.series, got, exp.ordered);
}

/** Runs every script (or `only`) and returns per-file and total counts with each eval's outcome. */
export async function runLogqlConformance(opts: { scriptsDir?: string; only?: string[]; log?: (line: string) => void } = {}): Promise<ConformanceReport> {
  const dir = opts.scriptsDir ?? LOGQL_SCRIPTS_DIR;
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.logqltest'))
    .filter((f) => !opts.only || opts.only.some((o) => f.includes(o)))
    .sort();
  const engine = new LogqlEngine({ timeoutMs: 60_000 });
  const outcomes: EvalOutcome[] = [];
  const summaries: FileSummary[] = [];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdall-logqltest-'));
  try {
    for (const file of files) {
      const cmds = parseScript(fs.readFileSync(path.join(dir, file), 'utf8'));
      const storeDir = path.join(tmp, file);
      const store = await LogStore.open({ dir: storeDir, ...logStoreConfigOptions(scriptStoreConfig()), background: false, threads: 1, memoryLimitBytes: 256 * 1024 * 1024 });
      const counts = { pass: 0, fail: 0, skip: 0 };
      try {
        let tenantSeq = 0;
        let tenant = `t${tenantSeq}` as TenantId;
        let loadError: string | undefined;
        for (const cmd of cmds) {
          if (cmd.kind === 'clear') {
            tenant = `t${++tenantSeq}` as TenantId;
            loadError = undefined;
            continue;
          }
          if (cmd.kind === 'load') {
            try {
              await load(store, tenant, cmd.entries);
            } catch (err) {
              loadError = (err as Error).message;
            }
            continue;
          }
          let reason: string | undefined;
          if (loadError !== undefined) reason = `load failed: ${loadError}`;
          else {
            try {
              reason = await checkEval(engine, store, tenant, cmd);
            } catch (err) {
              reason = `runner error: ${(err as Error).stack ?? String(err)}`;
            }
          }
          const status = reason === undefined ? 'pass' : 'fail';
          counts[status]++;
          outcomes.push({ file, line: cmd.line, text: cmd.text, status, reason });
        }
      } finally {
        await store.close();
      }
      summaries.push({ file, ...counts });
      opts.log?.(`${file.padEnd(32)} pass ${String(counts.pass).padStart(4)}  fail ${String(counts.fail).padStart(4)}  skip ${String(counts.skip).padStart(4)}`);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const total = summaries.reduce((a, s) => ({ pass: a.pass + s.pass, fail: a.fail + s.fail, skip: a.skip + s.skip }), { pass: 0, fail: 0, skip: 0 });
  return { files: summaries, outcomes, ...total };
}

async function main(): Promise<void> {
  const missing = missingFixturesReason('LogQL', LOGQL_SCRIPTS_DIR);
  if (missing) {
    console.error(missing);
    process.exitCode = 1;
    return;
  }
  const only = process.argv.slice(2);
  const report = await runLogqlConformance({ only: only.length > 0 ? only : undefined, log: (l) => console.log(l) });
  const evals = report.pass + report.fail + report.skip;
  const pct = evals === 0 ? 0 : (100 * report.pass) / evals;
  console.log(`${'total'.padEnd(32)} pass ${String(report.pass).padStart(4)}  fail ${String(report.fail).padStart(4)}  skip ${String(report.skip).padStart(4)}  (${pct.toFixed(1)}% of ${evals} evals pass)`);
  const failures = report.outcomes
    .filter((o) => o.status !== 'pass')
    .map((o) => `${o.file}:${o.line}: ${o.text}\n    ${o.status}: ${o.reason}`)
    .join('\n');
  fs.writeFileSync(path.join(REPO_ROOT, 'conformance-failures-logql.txt'), failures === '' ? '' : `${failures}\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
