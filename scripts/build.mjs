// Compiles src/**/*.ts (tests and benches excepted) into dist/, one JavaScript module per source module, with
// the same folder layout, so `new URL('../../proto/…', import.meta.url)` resolves the same way from dist/ as
// from src/, and a worker-thread entry written `new Worker(new URL('./x-worker.ts', import.meta.url))` finds
// its compiled `x-worker.js`. Type checking is `npm run typecheck`; this only strips types.
// Then builds the web UI (web/ → web/dist/, Vite) unless web/dist is newer than every input of it, so `npm test`
// and repeated builds do not pay for an unchanged UI; `--force-web` rebuilds it anyway.
// Run by `npm ci` (the `prepare` script), `npm run build` and `npm test`.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SRC = path.join(REPO, 'src');
const OUT = path.join(REPO, 'dist');

/** Every module of src/ that runs in production: no tests, no benches, no declaration files. */
function sourceModules(dir, out = []) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) sourceModules(full, out);
    else if (/\.ts$/.test(entry.name) && !/\.(test|bench|d)\.ts$/.test(entry.name)) out.push(full);
  }
  return out;
}

/**
 * Keeps every import external (each module is its own file, nothing is bundled) and points relative `.ts`
 * specifiers at the emitted `.js` files. esbuild's bundle mode is used only because plugins run there.
 */
const eachModuleOnItsOwn = {
  name: 'each-module-on-its-own',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => {
      if (args.kind === 'entry-point') return undefined;
      const rewritten = /^\.\.?\//.test(args.path) ? args.path.replace(/\.ts$/, '.js') : args.path;
      return { path: rewritten, external: true };
    });
  },
};

/** `new URL('./x.ts', import.meta.url)` (a worker entry or a sibling module by URL) → `./x.js` in the output. */
const MODULE_URL = /new URL\((\s*)(["'])(\.\.?\/[^"'\n]*)\.ts\2(\s*,\s*import\.meta\.url\s*)\)/g;

const started = Date.now();
rmSync(OUT, { recursive: true, force: true });
const entryPoints = sourceModules(SRC);
const result = await build({
  entryPoints,
  outdir: OUT,
  outbase: SRC,
  bundle: true,
  plugins: [eachModuleOnItsOwn],
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
  write: false,
});
for (const file of result.outputFiles) {
  mkdirSync(path.dirname(file.path), { recursive: true });
  writeFileSync(file.path, file.path.endsWith('.js') ? file.text.replace(MODULE_URL, 'new URL($1$2$3.js$2$4)') : file.contents);
}
if (!process.argv.includes('--quiet')) {
  console.log(`built ${entryPoints.length} modules into dist/ in ${Date.now() - started} ms`);
}
await buildWeb();

/** The newest modification time (ms) of the web UI's inputs: its sources, its config and the lockfile. */
function newestWebInput() {
  let newest = 0;
  const visit = (p) => {
    const st = statSync(p);
    if (st.isDirectory()) {
      for (const name of readdirSync(p)) if (name !== 'dist' && name !== 'node_modules') visit(path.join(p, name));
    } else newest = Math.max(newest, st.mtimeMs);
  };
  visit(path.join(REPO, 'web'));
  visit(path.join(REPO, 'package-lock.json'));
  return newest;
}

async function buildWeb() {
  const WEB = path.join(REPO, 'web');
  const stamp = path.join(WEB, 'dist', '.build-stamp');
  const inputs = newestWebInput();
  if (!process.argv.includes('--force-web') && existsSync(stamp) && Number(readFileSync(stamp, 'utf8')) >= inputs) return;
  const webStarted = Date.now();
  // Imported here: the server build above must not pay for loading Vite.
  const { build: viteBuild } = await import('vite');
  await viteBuild({ configFile: path.join(WEB, 'vite.config.mjs'), logLevel: 'warn' });
  writeFileSync(stamp, String(inputs));
  if (!process.argv.includes('--quiet')) console.log(`built the web UI into web/dist/ in ${Date.now() - webStarted} ms`);
}
