import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { TRACEQL_FIXTURES_DIR, formatTable, runTraceqlSuite } from './traceql-runner.ts';
import { missingFixturesReason } from './shared-fixtures.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const missing = missingFixturesReason('TraceQL', TRACEQL_FIXTURES_DIR);
if (missing) console.log(`# ${missing}`);
const ratchet = JSON.parse(fs.readFileSync(path.join(HERE, 'traceql-ratchet.json'), 'utf8')) as { passed: number };

test('TraceQL conformance: passing examples do not drop below the ratchet', { skip: missing }, () => {
  const suite = runTraceqlSuite();
  const failures = suite.keys.flatMap((k) => k.failures);
  assert.ok(
    suite.passed >= ratchet.passed,
    `${suite.passed} examples passed, the ratchet requires ${ratchet.passed}\n${formatTable(suite)}\nfirst failures:\n${failures.slice(0, 20).join('\n')}`,
  );
});
