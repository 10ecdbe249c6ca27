import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { LOGQL_SCRIPTS_DIR, runLogqlConformance } from './logql-runner.ts';
import { missingFixturesReason } from './shared-fixtures.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ratchet = JSON.parse(fs.readFileSync(path.join(HERE, 'logql-ratchet.json'), 'utf8')) as { passed: number };
const missing = missingFixturesReason('LogQL', LOGQL_SCRIPTS_DIR);
if (missing) console.log(`# ${missing}`);

test('LogQL conformance: passing evals do not drop below the ratchet', { skip: missing }, async () => {
  const report = await runLogqlConformance();
  const failures = report.outcomes.filter((o) => o.status === 'fail');
  const table = report.files.map((f) => `${f.file}: pass ${f.pass} fail ${f.fail} skip ${f.skip}`).join('\n');
  assert.ok(
    report.pass >= ratchet.passed,
    `${report.pass} evals passed, the ratchet requires ${ratchet.passed}\n${table}\nfirst failures:\n${failures
      .slice(0, 20)
      .map((o) => `${o.file}:${o.line}: ${o.text}\n    ${o.reason}`)
      .join('\n')}`,
  );
});
