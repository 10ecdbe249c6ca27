export { ColumnarDatabase } from './database.ts';
export type { ColumnarOptions } from './database.ts';
export { checkFormatStamp } from './format-version.ts';
export type { FormatStamp } from './format-version.ts';
export { PartitionCatalog } from './partitions.ts';
export type { BlockRef, PartitionCatalogOptions, PartitionRef } from './partitions.ts';
export { quoteIdent, quoteString, tenantToken } from './sql.ts';
