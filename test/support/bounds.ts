/**
 * The bound of a test's wait for something that takes well under a second on an idle machine (a server
 * starting, a log line, a tailed frame): far above that, so a machine whose load is far above its core count
 * still passes. Waits end on the event, never on the bound, so a generous bound costs nothing; timings belong
 * in bench/, never in pass/fail tests.
 */
export const GENEROUS_MS = 90_000;

/**
 * Polls `probe` every 200 ms until it returns a value other than `undefined` and returns it (a throw fails the
 * wait at once); fails after {@link GENEROUS_MS}, a bound only reached when the value never comes.
 */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + GENEROUS_MS;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
