export { ObjectNotFoundError, tenantKey } from './bucket.ts';
export type { Bucket, ObjectInfo } from './bucket.ts';
export { LocalBucket } from './local-bucket.ts';
