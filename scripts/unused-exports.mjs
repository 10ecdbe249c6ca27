// Lists the exports of src/ that nothing imports (`npm run unused-exports`): dead code to delete, or an export
// keyword to drop when the file itself still uses the name. Imports from src/, test/, bench/ and scripts/ count
// (a public seam a test uses stays); re-exports (`export { x } from`) do not, an import through them does.
// Uses the TypeScript compiler already in devDependencies; exits 1 when it finds any, so it can gate CI.
import path from 'node:path';
import ts from 'typescript';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const configFile = ts.readConfigFile(path.join(root, 'tsconfig.json'), ts.sys.readFile);
const parsed = ts.parseJsonConfigFileContent(configFile.config, ts.sys, root);
const program = ts.createProgram(parsed.fileNames, parsed.options);
const checker = program.getTypeChecker();
const ours = program.getSourceFiles().filter((f) => !f.isDeclarationFile && f.fileName.startsWith(root));

/** The declaration a symbol finally stands for, through import and re-export aliases. */
function resolve(symbol) {
  return symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
}

const used = new Set();
const markModule = (moduleSymbol) => {
  for (const e of checker.getExportsOfModule(moduleSymbol)) used.add(resolve(e));
};
for (const file of ours) {
  const visit = (node) => {
    if (ts.isImportDeclaration(node) && node.importClause) {
      const { name, namedBindings } = node.importClause;
      if (name) used.add(resolve(checker.getSymbolAtLocation(name)));
      if (namedBindings && ts.isNamedImports(namedBindings)) {
        for (const el of namedBindings.elements) used.add(resolve(checker.getSymbolAtLocation(el.name)));
      } else if (namedBindings && ts.isNamespaceImport(namedBindings)) {
        const m = checker.getSymbolAtLocation(node.moduleSpecifier);
        if (m) markModule(m);
      }
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      // A dynamic import may use any export of the module (lazy roles, workers).
      const arg = node.arguments[0];
      const m = arg && checker.getSymbolAtLocation(arg);
      if (m) markModule(m);
    } else if (ts.isImportTypeNode(node)) {
      // `typeof import('x').y` in types.
      const s = node.qualifier && checker.getSymbolAtLocation(node.qualifier);
      if (s) used.add(resolve(s));
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
}

const unused = [];
for (const file of ours) {
  const rel = path.relative(root, file.fileName);
  // src/cmd/ holds the entry points bin/heimdall.mjs imports.
  if (!rel.startsWith('src/') || rel.startsWith('src/cmd/') || rel.endsWith('.test.ts') || rel.includes('/testdata/')) continue;
  const moduleSymbol = checker.getSymbolAtLocation(file);
  if (!moduleSymbol) continue;
  for (const e of checker.getExportsOfModule(moduleSymbol)) {
    const target = resolve(e);
    if (used.has(target)) continue;
    const declaredHere = (target.declarations ?? []).some((d) => d.getSourceFile() === file);
    if (!declaredHere) continue; // a re-export: reported at its declaration
    const name = e.getName();
    const uses = file.text.match(new RegExp(`\\b${name.replace(/\$/g, '\\$')}\\b`, 'g'))?.length ?? 0;
    const typeOnly = (target.flags & (ts.SymbolFlags.Value)) === 0;
    unused.push({ file: rel, name, localUses: uses - 1, typeOnly });
  }
}
unused.sort((a, b) => (a.file === b.file ? a.name.localeCompare(b.name) : a.file.localeCompare(b.file)));
for (const u of unused) {
  console.log(`${u.file}: ${u.typeOnly ? 'type ' : ''}${u.name}${u.localUses > 0 ? ' (used in its file: drop the export)' : ' (dead)'}`);
}
const dead = unused.filter((u) => u.localUses === 0).length;
const localTypes = unused.filter((u) => u.localUses > 0 && u.typeOnly).length;
console.log(
  `${unused.length} unused exports: ${dead} dead, ${unused.length - dead - localTypes} values and ${localTypes} types used only in their own file`,
);
process.exit(unused.length > 0 ? 1 : 0);
