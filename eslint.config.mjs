// Lint rules, including the dependency rule of ARCHITECTURE.md §2: which folders may import which.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import path from 'node:path';

/**
 * The dependency rule of ARCHITECTURE.md §2 as an allow list: for each top-level folder of src/, the other folders
 * its code may import (a folder may always import itself; `'*'` means any). Anything not listed is denied, so a
 * folder added later is denied to everyone until it is given a place here, and a file in a folder that has no
 * entry is reported, which makes whoever adds the folder decide where it sits.
 */
const ENGINE_DEPS = ['model', 'storage', 'columnar', 'objstore'];
const QUERY_LANGUAGE_DEPS = ['model', 'storage'];
const LAYERS = {
  model: [],
  config: [],
  storage: ['model'],
  tenant: ['model'],
  ingest: ['model'],
  selfobs: ['model'],
  // objstore/ holds objects, durable files and the WAL, which raises the storage seam's errors.
  objstore: ['model', 'tenant', 'storage'],
  columnar: ['model', 'storage', 'objstore', 'tenant'],
  // The data directory lock and free-space monitor report through the storage health seam.
  datadir: ['model', 'storage'],
  // The four engines implement the storage seams; the options and limits they need are their own types, which
  // app/ fills from the config, so they never import config/.
  tsdb: ENGINE_DEPS,
  logstore: ENGINE_DEPS,
  tracestore: ENGINE_DEPS,
  profilestore: ENGINE_DEPS,
  // Query languages and the ruler read through the storage seams only, never an engine.
  promql: QUERY_LANGUAGE_DEPS,
  logql: QUERY_LANGUAGE_DEPS,
  traceql: QUERY_LANGUAGE_DEPS,
  profiles: QUERY_LANGUAGE_DEPS,
  // The ruler reads and writes through the seams; its API-loaded rule files are durable files of objstore/.
  rules: ['model', 'storage', 'objstore'],
  // The built-in notifier keeps silences and its notification log as durable files of objstore/.
  notifier: ['model', 'objstore'],
  // The metrics-generator turns committed spans into series: it takes the span and metric seams (an
  // Appendable<MetricRecord> that app/ hands it), like a query language, and never names an engine.
  metricsgen: QUERY_LANGUAGE_DEPS,
  // query/ is the execution layer between app/ and the query languages: it runs PromQL/LogQL (and later TraceQL)
  // in worker threads over the storage seams and encodes results with api/'s JSON encoders. Only app/ imports it
  // (it hands api/ a QueryEngine seam), so api/ may not import query/; query/ never names an engine.
  query: ['model', 'storage', 'promql', 'logql', 'traceql', 'profiles', 'api'],
  // The gateway decodes and writes through the Appendable seams; only app/ names engines.
  gateway: ['model', 'storage', 'config', 'tenant', 'ingest', 'selfobs'],
  // The query APIs read through the seams and the QueryEngine seam; only app/ names engines.
  // api/ reads ingest/'s protocol encoders (OTLP span objects for Tempo's protobuf answers).
  // api/ruler serves the ruler's rule groups and alerts (rules/ holds their types and parsing).
  api: ['model', 'storage', 'config', 'tenant', 'ingest', 'selfobs', 'promql', 'logql', 'traceql', 'profiles', 'rules', 'notifier'],
  // forward/ is a storage write seam (an Appendable per forwarded signal) that queues on disk with objstore/'s WAL
  // and sends with ingest/'s protocol encoders; only app/ wires it into the gateway.
  forward: ['model', 'storage', 'config', 'objstore', 'ingest', 'selfobs'],
  // The node agent writes through the Appendable seams app/ hands it (forwarders) and keeps its log positions
  // with objstore/'s durable file writes.
  agent: ['model', 'storage', 'config', 'tenant', 'ingest', 'selfobs', 'objstore'],
  // The UI's server side (static files, settings, the data-source proxy) reaches the engines over HTTP only.
  ui: ['model', 'config', 'tenant', 'selfobs', 'dashboards'],
  // Saved and provisioned dashboards: files in the data directory (durable replace of objstore/) and directories.
  dashboards: ['model', 'objstore'],
  // cmd/ only parses flags, creates the process logger and calls app/.
  cmd: ['app', 'config', 'selfobs'],
  // The composition root names every concrete part.
  app: '*',
};

/** The layer a path belongs to: `src/<folder>/...` gives `<folder>`, `web/...` gives `web` (the UI), else null. */
function layerOf(file) {
  const parts = path.relative(import.meta.dirname, file).split(path.sep);
  if (parts[0] === 'src' && parts.length > 2) return parts[1];
  if (parts[0] === 'web') return 'web';
  return null;
}

/**
 * Reports relative imports that cross the dependency rule. Imports are resolved against the importing file, so
 * the depth of `../` does not matter (a pattern list of `../x` and `../../x` misses deeper files).
 */
const layerImportsRule = {
  meta: {
    type: 'problem',
    schema: [],
    messages: {
      denied: "{{from}}/ may not import {{to}}/ (ARCHITECTURE.md §2: {{from}}/ may import {{allowed}}).",
      unplaced: "src/{{from}}/ has no place in the dependency rule: add it to LAYERS in eslint.config.mjs.",
      webLeaves: 'web/ (the UI) talks to the APIs over HTTP only: it may not import code outside web/.',
    },
  },
  create(context) {
    const from = layerOf(context.filename);
    if (from === null) return {};
    const allowed = LAYERS[from];
    if (from !== 'web' && allowed === undefined) {
      return { Program: (node) => context.report({ node, messageId: 'unplaced', data: { from } }) };
    }
    if (allowed === '*') return {};
    const check = (node) => {
      const spec = node.source?.value;
      if (typeof spec !== 'string' || !spec.startsWith('.')) return;
      const target = path.resolve(path.dirname(context.filename), spec);
      const to = layerOf(target);
      if (to === from) return;
      if (from === 'web') {
        context.report({ node, messageId: 'webLeaves' });
        return;
      }
      if (to !== null && to !== 'web' && allowed.includes(to)) return;
      const shown = to ?? path.relative(import.meta.dirname, target);
      context.report({
        node,
        messageId: 'denied',
        data: { from, to: shown, allowed: allowed.length === 0 ? 'nothing of ours' : allowed.map((a) => `${a}/`).join(', ') },
      });
    };
    return { ImportDeclaration: check, ExportNamedDeclaration: check, ExportAllDeclaration: check, ImportExpression: check };
  },
};

export default tseslint.config(
  { ignores: ['node_modules/**', 'data/**', 'dist/**', 'web/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      'no-restricted-syntax': ['error', { selector: 'ExportAllDeclaration', message: 'List exports explicitly (no export *).' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'separate-type-imports' }],
      '@typescript-eslint/no-floating-promises': ['error', {
        // node:test's test()/describe() return promises the runner itself awaits.
        allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] }],
      }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      // With noUncheckedIndexedAccess a `!` is needed only where an invariant guarantees presence; the rest go.
      '@typescript-eslint/no-unnecessary-type-assertion': 'error',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    files: ['**/*.mjs', 'scripts/**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { parserOptions: { projectService: false, project: null } },
  },
  {
    files: ['**/*.mjs', 'scripts/**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly' } },
  },
  {
    files: ['src/**/*.ts', 'web/**/*.{ts,tsx}'],
    plugins: { heimdall: { rules: { 'layer-imports': layerImportsRule } } },
    rules: { 'heimdall/layer-imports': 'error' },
  },
  // Tests, their helper processes (testdata/) and benchmarks compose real parts as app/ does, so they may import any folder.
  {
    files: ['**/*.test.ts', '**/testdata/**', 'test/**', 'bench/**'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off', 'heimdall/layer-imports': 'off' },
  },
);
