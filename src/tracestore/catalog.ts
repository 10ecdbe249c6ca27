import type { TenantId } from '../model/index.ts';
import type { ListKeys } from './block-index-cache.ts';

/** The trace ids one row group of a block holds (rows are sorted by trace id). */
export interface RowGroupRange {
  /** Lowercase hex. */
  readonly firstTraceId: string;
  readonly lastTraceId: string;
  readonly spans: number;
}

/** An immutable Parquet block: spans of one tenant whose traces started in one window, sorted by trace id. */
export interface BlockInfo {
  readonly seq: number;
  readonly tenant: TenantId;
  readonly windowStartMs: number;
  /** Bucket key `<tenant>/traces/<windowStartMs>/<seq>.parquet`; the bloom filter and trace records are the same with `.bloom`, `.records`. */
  readonly key: string;
  readonly path: string;
  readonly bloomPath: string;
  /** The block's trace records file (`<seq>.records`), when `recordsBytes > 0`. */
  readonly recordsPath: string;
  /** Size of the trace records file; 0 when the block has none (written by format version 2, or merged from such blocks). */
  readonly recordsBytes: number;
  /** 32-byte blocks of the bloom filter. */
  readonly bloomBlocks: number;
  readonly spans: number;
  readonly traces: number;
  /** Bytes of the Parquet file, the bloom filter and the trace records. */
  readonly sizeBytes: number;
  readonly minStartNs: bigint;
  readonly maxStartNs: bigint;
  readonly maxEndNs: bigint;
  readonly minTraceId: string;
  readonly maxTraceId: string;
  /** The WAL segment current when its spans were taken from the head: they came from this one or older ones. */
  readonly walSegment: number;
  /** 0 for a block cut from the head, n+1 for a merge of level-n blocks. */
  readonly level: number;
  readonly rowGroups: readonly RowGroupRange[];
  /** The keys its span and resource attribute lists hold; undefined for a block written before format 5. */
  readonly listKeys?: ListKeys;
}
