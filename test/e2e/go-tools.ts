// Locates the Go-built real clients the e2e tests drive (Prometheus 3, promtool, telemetrygen): in PATH
// or in `$(go env GOPATH)/bin`, where `go install` (and `.ci/run`) puts them.
import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

function goBinDir(): string | undefined {
  try {
    const gopath = execFileSync('go', ['env', 'GOPATH'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 20_000 }).trim();
    if (gopath) return path.join(gopath.split(path.delimiter)[0]!, 'bin');
  } catch {
    /* no Go toolchain: GOPATH's default below */
  }
  return path.join(os.homedir(), 'go', 'bin');
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The first executable `name` in `$(go env GOPATH)/bin` then PATH that `accept` takes (for instance a version
 * check), or undefined.
 */
export function findGoTool(name: string, accept: (file: string) => boolean = () => true): string | undefined {
  const dirs = [goBinDir(), ...(process.env.PATH ?? '').split(path.delimiter)].filter((d): d is string => !!d);
  for (const dir of new Set(dirs)) {
    const file = path.join(dir, name);
    if (executable(file) && accept(file)) return file;
  }
  return undefined;
}

/**
 * The skip reason of a test needing `file`: false when present; the reason when absent outside CI. In CI
 * (`CI` set) a missing tool is not a skip: the test runs and fails on the missing binary.
 */
export function skipUnlessFound(file: string | undefined, what: string, install: string): string | false {
  if (file !== undefined || process.env.CI) return false;
  return `${what} is not installed (${install}); .ci/run builds it`;
}
