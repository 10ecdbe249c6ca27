import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The upstream conformance fixtures are not part of this repository (their licences differ): the project's
 * layout keeps them in `shared/fixtures/` beside the repository and the runners read them in place;
 * `HEIMDALL_SHARED_FIXTURES` names another place (a git worktree elsewhere, the benchmarks).
 */
export const SHARED_FIXTURES_DIR =
  process.env.HEIMDALL_SHARED_FIXTURES ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'fixtures');

/**
 * False when `dir` exists; otherwise the reason a conformance test cannot run, naming the missing directory
 * and why it is missing (a clone outside the project's layout), so the skip is never silent.
 */
export function missingFixturesReason(suite: string, dir: string): string | false {
  if (fs.existsSync(dir)) return false;
  return `${suite} conformance did not run: its fixtures are not at ${dir} (this clone is outside the project's layout, which keeps the upstream fixtures in ../shared/fixtures beside the repository)`;
}
