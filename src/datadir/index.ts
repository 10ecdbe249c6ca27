export { DataDirLock, DataDirLockedError, LOCK_FILE_NAME } from './lock.ts';
export { DataDirMonitor } from './monitor.ts';
export type { DataDirMonitorOptions, DataDirStatus } from './monitor.ts';
