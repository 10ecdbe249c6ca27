export { ObjectNotFoundError, tenantKey } from './bucket.ts';
export type { Bucket, ObjectInfo } from './bucket.ts';
export { syncDir, writeFileDurably } from './durable-file.ts';
export { LocalBucket } from './local-bucket.ts';
