import type { Logger } from 'pino';

/** A store whose expired data is dropped when asked (every engine's `applyRetention`). */
export interface RetentionTarget {
  applyRetention(nowMs: number): Promise<unknown>;
}

/** A running retention schedule. */
export interface RetentionSchedule {
  /** Clears the timer and waits for a pass that is running, so the store can be closed after it. */
  stop(): Promise<void>;
}

/**
 * The one retention timer of a store: runs `target.applyRetention(Date.now())` every `intervalMs`, never two passes
 * at once (a pass still running when the timer fires is not doubled); a failed pass is logged and the next one
 * runs on time. The timer does not keep the process alive.
 */
export function scheduleRetention(target: RetentionTarget, intervalMs: number, logger: Logger, signal: string): RetentionSchedule {
  let running: Promise<void> | undefined;
  const run = (): void => {
    if (running) return;
    running = target
      .applyRetention(Date.now())
      .then(() => undefined)
      .catch((err: unknown) => logger.error({ err, signal }, `${signal} retention failed`))
      .finally(() => (running = undefined));
  };
  const timer = setInterval(run, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
