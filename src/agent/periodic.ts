import type { Logger } from 'pino';

/** A task run every `intervalMs` (the next run starts an interval after the previous one ended, never overlapping). */
export interface Periodic {
  stop(): Promise<void>;
}

/** Runs `task` after `firstDelayMs` (now by default), then every `intervalMs`; a failure is logged and the schedule goes on. */
export function runEvery(intervalMs: number, task: () => Promise<void>, logger: Logger, what: string, firstDelayMs = 0): Periodic {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;
  const loop = (): void => {
    running = task()
      .catch((err: unknown) => logger.warn({ err }, `${what} failed (tried again next interval): ${(err as Error).message}`))
      .finally(() => {
        if (!stopped) timer = setTimeout(loop, intervalMs);
      });
  };
  if (firstDelayMs > 0) timer = setTimeout(loop, firstDelayMs);
  else loop();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
