// Runs every *.test.ts under src/ and test/ with Node's test runner (Node 20 has no glob for --test).
// Pass paths or folders to run a subset: `npm test -- src/tenant`.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function collect(entry, out) {
  const st = statSync(entry);
  if (st.isFile()) {
    if (entry.endsWith('.test.ts')) out.push(entry);
    return;
  }
  for (const name of readdirSync(entry)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    collect(path.join(entry, name), out);
  }
}

const roots = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['src', 'test'];
const files = [];
for (const r of roots) collect(r, files);
files.sort();
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
// The e2e tests run the compiled binary: rebuild dist/ first (well under a second) so it never lags src/.
const built = spawnSync(process.execPath, [path.join(path.dirname(fileURLToPath(import.meta.url)), 'build.mjs'), '--quiet'], { stdio: 'inherit' });
if (built.status !== 0) process.exit(built.status ?? 1);
// Two files at a time on this two-core class of machine; e2e tests start their own servers.
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec', ...files],
  { stdio: 'inherit', env: { ...process.env, HEIMDALL_TEST: '1' } },
);
process.exit(result.status ?? 1);
