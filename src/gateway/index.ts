export { HttpError } from './http-error.ts';
export { decompressBody, parseContentEncoding } from './decompress.ts';
export type { ContentEncoding } from './decompress.ts';
export { countRejected, groupRejections } from './rejection-report.ts';
export { appendAndCommit } from './ingest-batch.ts';
export type { IngestResult } from './ingest-batch.ts';
export { headerValue, readIngestBody, registerIngestRoutes, sendRetryable } from './ingest-scope.ts';
export type { IngestRequest } from './ingest-scope.ts';
