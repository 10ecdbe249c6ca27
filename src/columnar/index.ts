export { ColumnarDatabase } from './database.ts';
export type { ColumnarOptions } from './database.ts';
export { checkFormatStamp } from './format-version.ts';
export type { FormatStamp } from './format-version.ts';
export { quoteIdent, quoteString, tenantToken } from './sql.ts';
