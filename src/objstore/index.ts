export { ObjectNotFoundError, tenantKey } from './bucket.ts';
export type { Bucket, ObjectInfo } from './bucket.ts';
export { publishFileDurably, syncDir, writeFileDurably } from './durable-file.ts';
export { LocalBucket } from './local-bucket.ts';
export { ByteReader, ByteWriter } from './byte-buffer.ts';
export { Wal, frameAt, resumeAfterBadFrame } from './wal.ts';
export type { WalCorruption, WalFrame } from './wal.ts';
export { directoryBytes } from './directory-bytes.ts';
