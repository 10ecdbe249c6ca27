/**
 * Runs Tempo's TraceQL parser corpus (`../shared/fixtures/agpl-3.0-only/tempo-traceql/test_examples.yaml`, read
 * in place; never copied here) through our parser and validation, with Tempo's expectations per key:
 * `valid` parses and validates; `parse_fails` fails to parse; `validate_fails` parses and fails validation with
 * an error that is not "unsupported"; `unsupported` parses and fails validation as unsupported.
 *
 * `npm run conformance:traceql` prints per-key and total counts and the failures.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { TraceqlError, parse, validateRoot } from '../../src/traceql/index.ts';
import { SHARED_FIXTURES_DIR } from './shared-fixtures.ts';

export const TRACEQL_FIXTURES_DIR = path.join(SHARED_FIXTURES_DIR, 'agpl-3.0-only', 'tempo-traceql');
const EXAMPLES = path.join(TRACEQL_FIXTURES_DIR, 'test_examples.yaml');

export type ExampleKey = 'valid' | 'parse_fails' | 'validate_fails' | 'unsupported';
export const KEYS: readonly ExampleKey[] = ['valid', 'parse_fails', 'validate_fails', 'unsupported'];

export interface KeySummary {
  readonly key: ExampleKey;
  readonly pass: number;
  readonly fail: number;
  readonly failures: string[];
}

export interface TraceqlSuite {
  readonly keys: KeySummary[];
  readonly passed: number;
  readonly total: number;
}

type Outcome = { readonly stage: 'ok' } | { readonly stage: 'parse' | 'validate'; readonly error: TraceqlError };

function run(query: string): Outcome {
  let root;
  try {
    root = parse(query);
  } catch (err) {
    if (err instanceof TraceqlError) return { stage: 'parse', error: err };
    throw err;
  }
  try {
    validateRoot(root);
  } catch (err) {
    if (err instanceof TraceqlError) return { stage: 'validate', error: err };
    throw err;
  }
  return { stage: 'ok' };
}

function check(key: ExampleKey, o: Outcome): string | undefined {
  switch (key) {
    case 'valid':
      return o.stage === 'ok' ? undefined : `${o.stage} error: ${o.error.message}`;
    case 'parse_fails':
      return o.stage === 'parse' ? undefined : o.stage === 'ok' ? 'parsed and validated' : `parsed, then failed validation: ${o.error.message}`;
    case 'validate_fails':
      if (o.stage === 'validate' && !o.error.unsupported) return undefined;
      return o.stage === 'ok' ? 'validated' : `${o.stage} error${o.error.unsupported ? ' (unsupported)' : ''}: ${o.error.message}`;
    case 'unsupported':
      if (o.stage === 'validate' && o.error.unsupported) return undefined;
      return o.stage === 'ok' ? 'validated' : `${o.stage} error: ${o.error.message}`;
  }
}

/** Runs every example of the corpus; throws when the fixture file is missing. */
export function runTraceqlSuite(): TraceqlSuite {
  const doc = parseYaml(fs.readFileSync(EXAMPLES, 'utf8')) as Partial<Record<ExampleKey, string[] | null>>;
  const keys: KeySummary[] = [];
  for (const key of KEYS) {
    const failures: string[] = [];
    let pass = 0;
    for (const q of doc[key] ?? []) {
      const problem = check(key, run(q));
      if (problem === undefined) pass++;
      else failures.push(`${key}: ${q}\n    ${problem}`);
    }
    keys.push({ key, pass, fail: failures.length, failures });
  }
  const passed = keys.reduce((n, k) => n + k.pass, 0);
  const total = keys.reduce((n, k) => n + k.pass + k.fail, 0);
  return { keys, passed, total };
}

export function formatTable(s: TraceqlSuite): string {
  const rows = s.keys.map((k) => `${k.key.padEnd(16)} ${String(k.pass).padStart(5)} ${String(k.fail).padStart(5)}`);
  return [`${'key'.padEnd(16)} ${'pass'.padStart(5)} ${'fail'.padStart(5)}`, ...rows, `${'total'.padEnd(16)} ${String(s.passed).padStart(5)} ${String(s.total - s.passed).padStart(5)}`].join('\n');
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const suite = runTraceqlSuite();
  for (const k of suite.keys) for (const f of k.failures) console.log(f);
  console.log(formatTable(suite));
  console.log(`${suite.passed}/${suite.total} passed`);
}
