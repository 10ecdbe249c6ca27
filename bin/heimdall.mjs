#!/usr/bin/env node
// Entry point: runs the CLI compiled into dist/ (built by `npm ci` through the `prepare` script, by
// `npm run build`, and by `npm test`). HEIMDALL_FROM_SOURCE=1 runs the TypeScript sources through tsx instead:
// no build step while developing, at the price of a slower start.
import { existsSync } from 'node:fs';

let main;
if (process.env.HEIMDALL_FROM_SOURCE === '1') {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cmd/heimdall.ts'));
} else {
  const compiled = new URL('../dist/cmd/heimdall.js', import.meta.url);
  if (!existsSync(compiled)) {
    process.stderr.write('heimdall: dist/ is missing: run `npm run build` (npm ci does it), or set HEIMDALL_FROM_SOURCE=1\n');
    process.exit(1);
  }
  // dist/ carries source maps; NODE_OPTIONS=--enable-source-maps makes stack traces name the .ts lines (off by
  // default: reading a map per module slows start-up).
  ({ main } = await import(compiled.href));
}
const code = await main(process.argv.slice(2));
if (code >= 0) process.exitCode = code;
