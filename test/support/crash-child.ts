import { spawn } from 'node:child_process';
import { GENEROUS_MS } from './bounds.ts';

/**
 * Runs a TypeScript child that writes and prints `ack <id>` after each durable commit, and SIGKILLs it once
 * it has acknowledged `minAcks` batches (a kill -9 in the middle of whatever it was doing next). Resolves
 * with the acknowledged ids; rejects if the child exits on its own. Bounded by `timeoutMs`, a generous bound:
 * at a load of 29 on two cores a child took more than 30 s for 60 acknowledgements, and a kill on the bound
 * fails the caller's count.
 */
export function killAfterAcks(script: string, args: readonly string[], minAcks: number, timeoutMs = GENEROUS_MS): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acked: number[] = [];
    let buf = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const m = /^ack (\d+)$/.exec(line);
        if (m) acked.push(Number(m[1]));
        if (acked.length === minAcks) child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`child exited without being killed: ${stderr}`));
      else resolve(acked);
    });
  });
}
