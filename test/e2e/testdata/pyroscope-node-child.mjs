// A child process profiled by the real Pyroscope Node SDK (@pyroscope/nodejs): wall and CPU time plus heap,
// pushed to the server given as argv[2] every second under the app name argv[3] (tenant argv[4] when given).
// It spends its time in `heimdallHotLoop`, which the parent then looks for in the flame graph. It runs until
// the parent stops it (bounded by a 120 s guard so it never outlives a failed test).
import { setTimeout } from 'node:timers';
import Pyroscope from '@pyroscope/nodejs';

const [serverAddress, appName, tenantID] = process.argv.slice(2);
Pyroscope.init({
  serverAddress,
  appName,
  flushIntervalMs: 1000,
  tags: { env: 'e2e' },
  wall: { samplingDurationMs: 1000, collectCpuTime: true },
  ...(tenantID ? { tenantID } : {}),
});
Pyroscope.start();

function heimdallHotLoop(ms) {
  const end = Date.now() + ms;
  let x = 0;
  while (Date.now() < end) x += Math.sqrt(x + 1);
  return x;
}

const guard = setTimeout(() => process.exit(0), 120_000);
guard.unref();
for (;;) {
  heimdallHotLoop(50);
  await new Promise((r) => setTimeout(r, 5));
}
