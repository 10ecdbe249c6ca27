export { ColumnarDatabase } from './database.ts';
export type { ColumnarOptions } from './database.ts';
export { openFormatStamp } from './format-stamp.ts';
export type { FormatSpec, FormatStamp, LegacyStamp } from './format-stamp.ts';
export { quoteString, tenantToken } from './sql.ts';
export { BlockCatalog } from './block-catalog.ts';
export type { BlockSnapshot } from './block-catalog.ts';
export { SerialJobs } from './serial-jobs.ts';
