/**
 * The bound of a test's wait for something that takes well under a second on an idle machine (a server
 * starting, a log line, a tailed frame): far above that, so a machine whose load is far above its core count
 * still passes. Waits end on the event, never on the bound, so a generous bound costs nothing; timings belong
 * in bench/, never in pass/fail tests.
 */
export const GENEROUS_MS = 90_000;
