import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { scheduleRetention } from './retention-schedule.ts';

test('one pass at a time; a failed pass is logged and the next runs; stop waits for the running pass', async (t) => {
  const logged: string[] = [];
  const logger = pino({ level: 'error' }, { write: (line: string) => void logged.push(line) });
  let calls = 0;
  let running = 0;
  let maxRunning = 0;
  const releases: (() => void)[] = [];
  let firstCall!: () => void;
  const started = new Promise<void>((resolve) => (firstCall = resolve));
  const target = {
    applyRetention: (): Promise<void> => {
      calls++;
      running++;
      maxRunning = Math.max(maxRunning, running);
      firstCall();
      if (calls === 1) {
        running--;
        return Promise.reject(new Error('disk on fire'));
      }
      return new Promise<void>((resolve) => releases.push(() => ((running--), resolve())));
    },
  };
  // The schedule's timer is unref'd (it must not keep a server alive): hold the event loop open while this test
  // waits on it, or the runner may find nothing left to run before the first pass fires.
  const keepAlive = setInterval(() => undefined, 1000);
  t.after(() => clearInterval(keepAlive));
  const schedule = scheduleRetention(target, 2, logger, 'logs');
  await started;
  // Let the timer fire many times while the second pass hangs.
  while (releases.length === 0) await sleep(5);
  await sleep(50);
  assert.equal(calls, 2, 'no pass starts while one runs');
  assert.equal(maxRunning, 1);
  assert.match(logged.join(''), /"msg":"logs retention failed"/);
  assert.match(logged.join(''), /disk on fire/);
  let stopped = false;
  const stopping = schedule.stop().then(() => (stopped = true));
  await sleep(20);
  assert.equal(stopped, false, 'stop waits for the running pass');
  releases[0]!();
  await stopping;
  await sleep(20);
  assert.equal(calls, 2, 'no pass after stop');
});
