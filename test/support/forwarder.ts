// A SignalForwarder of one signal as the forwarding unit tests open it: a temp queue directory, its own
// self-metrics registry, silent logs; with helpers to read a self-metric and to wait until an endpoint's queue
// is empty (bounded; the wait ends on the event).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import type { ForwardEndpointConfig } from '../../src/config/index.ts';
import { ForwardMetrics, SignalForwarder } from '../../src/forward/index.ts';
import type { QueueCodec, WireFormat } from '../../src/forward/index.ts';
import { SelfMetrics } from '../../src/selfobs/index.ts';

export interface TestForwarder<R> {
  readonly forwarder: SignalForwarder<R>;
  /** The value of the first sample of `name` whose labels include `labels` (e.g. `reason="http_429"`), or 0. */
  metric(name: string, labels: string): Promise<number>;
  /** Resolves once the queue of the endpoint named `name` holds no record (or after 20 s; the caller asserts). */
  drained(name: string): Promise<void>;
  /** Stops the forwarder and removes its queue directory. */
  close(): Promise<void>;
}

export async function openTestForwarder<R>(
  codec: QueueCodec<R>,
  wire: WireFormat,
  endpoints: readonly ForwardEndpointConfig[],
  configKey = 'gateway.forward',
): Promise<TestForwarder<R>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `fw-${codec.signal}-`));
  const self = new SelfMetrics();
  const forwarder = await SignalForwarder.open({
    codec,
    dir,
    endpoints,
    configKey,
    wireFor: () => wire,
    metrics: new ForwardMetrics(self),
    logger: pino({ level: 'silent' }),
    userAgent: 'test',
  });
  const metric = async (name: string, labels: string): Promise<number> => {
    const text = await self.registry.metrics();
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
    return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
  };
  return {
    forwarder,
    metric,
    async drained(name) {
      for (let i = 0; i < 1000 && (await metric('heimdall_forward_queue_records', `endpoint="${name}"`)) > 0; i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async close() {
      await forwarder.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
