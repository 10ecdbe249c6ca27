// The TraceQL engine suite (engine.test.ts) once more, over the trace store's Parquet blocks instead of its
// head: the same queries must give the same answers (ARCHITECTURE.md §8, differential tests).
process.env.HEIMDALL_TEST_TRACES_IN_BLOCKS = '1';
await import('./engine.test.ts');
