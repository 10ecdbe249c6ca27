// Lint rules, including the dependency rule of ARCHITECTURE.md §2: which folders may import which.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Restricts a folder's relative imports of our own code to the folders in `allowed`. */
function onlyImports(files, allowed, message) {
  const deny = ['model', 'storage', 'config', 'tenant', 'columnar', 'objstore', 'ingest', 'gateway', 'api', 'app', 'cmd',
    'selfobs', 'datadir', 'tsdb', 'logstore', 'tracestore', 'profilestore', 'promql', 'logql', 'traceql', 'profiles', 'rules', 'notifier', 'agent', 'query']
    .filter((d) => !allowed.includes(d));
  return {
    files,
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: deny.flatMap((d) => [`../${d}`, `../${d}/*`, `../../${d}`, `../../${d}/*`]), message }],
      }],
    },
  };
}

const ENGINES = ['tsdb', 'logstore', 'tracestore', 'profilestore'];

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
  onlyImports(['src/model/**'], [], 'model/ imports nothing of ours.'),
  onlyImports(['src/config/**'], [], 'config/ imports nothing of ours.'),
  onlyImports(['src/storage/**'], ['model'], 'storage/ imports only model/.'),
  onlyImports(['src/tenant/**'], ['model'], 'tenant/ imports only model/.'),
  onlyImports(['src/objstore/**'], ['model', 'tenant'], 'objstore/ imports only model/ and tenant/.'),
  onlyImports(['src/columnar/**'], ['model', 'storage', 'objstore', 'tenant'], 'columnar/ imports model/, storage/, objstore/.'),
  onlyImports(['src/ingest/**'], ['model'], 'ingest/ decoders are pure: they import only model/.'),
  onlyImports(['src/selfobs/**'], ['model'], 'selfobs/ imports only model/.'),
  onlyImports(['src/datadir/**'], ['model', 'storage'], 'datadir/ (the data directory lock and monitor) imports only model/ and storage/.'),
  ...ENGINES.map((e) => onlyImports([`src/${e}/**`], ['model', 'storage', 'columnar', 'objstore', 'config', 'tenant'], 'engines import storage/, model/, columnar/, objstore/, config/.')),
  ...['promql', 'logql', 'traceql', 'profiles', 'rules'].map((q) => onlyImports([`src/${q}/**`], ['model', 'storage'], 'query languages and rules/ import storage/ and model/ only, never an engine.')),
  onlyImports(['src/query/**'], ['model', 'storage', 'promql', 'logql', 'traceql', 'profiles', 'api'], 'query execution runs the query languages over storage seams and encodes with api/; never an engine.'),
  onlyImports(['src/gateway/**'], ['model', 'storage', 'config', 'tenant', 'ingest', 'selfobs', 'gateway'], 'the gateway writes through seams; only app/ names engines.'),
  onlyImports(['src/api/**'], ['model', 'storage', 'config', 'tenant', 'selfobs', 'api', 'promql', 'logql', 'traceql', 'profiles'], 'APIs read through seams; only app/ names engines.'),
  {
    files: ['**/*.test.ts', 'test/**', 'bench/**'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off', 'no-restricted-imports': 'off' },
  },
);
