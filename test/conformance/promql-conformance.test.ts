import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FIXTURES_DIR, formatTable, runPromqlSuite } from './promql-runner.ts';
import { missingFixturesReason } from './shared-fixtures.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const missing = missingFixturesReason('PromQL', FIXTURES_DIR);
if (missing) console.log(`# ${missing}`);
const ratchet = JSON.parse(fs.readFileSync(path.join(HERE, 'promql-ratchet.json'), 'utf8')) as { passed: number; maxRangeModeMismatches?: number };

test('PromQL conformance: passing evals do not drop below the ratchet', { skip: missing }, async () => {
  const suite = await runPromqlSuite();
  const failures = suite.files.flatMap((f) => f.failures);
  assert.ok(
    suite.passed >= ratchet.passed,
    `${suite.passed} evals passed, the ratchet requires ${ratchet.passed}\n${formatTable(suite)}\nfirst failures:\n${failures.slice(0, 20).join('\n')}`,
  );
  const rangeMode = suite.files.flatMap((f) => f.rangeModeFailures);
  assert.ok(
    rangeMode.length <= (ratchet.maxRangeModeMismatches ?? Infinity),
    `${rangeMode.length} evals fail upstream's range-mode/@ checks, the ratchet allows ${ratchet.maxRangeModeMismatches}\n${rangeMode.slice(0, 20).join('\n')}`,
  );
});
