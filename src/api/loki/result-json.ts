import type { LogqlData, LogqlResult } from '../../logql/index.ts';
import { formatSampleValue } from '../sample-value.ts';

/*
 * Loki's JSON for query results. Pure functions of plain result values (no I/O, no engine state), so they
 * can run wherever the result is, a worker thread included.
 */

/** Options for shaping a result into Loki's JSON. */
export interface LokiJsonOptions {
  /** Loki's `categorize-labels` encoding: values carry `{structuredMetadata, parsed}` as a third element. */
  readonly categorizeLabels?: boolean;
}

/** Unix nanoseconds → the float seconds Prometheus-style envelopes use (millisecond precision). */
export function nsToSeconds(ns: bigint): number {
  return Number(ns / 1_000_000n) / 1000;
}


/** The `data` object of a Loki query response: `{resultType, result, stats}`. */
export function lokiDataJson(res: LogqlResult, opts: LokiJsonOptions = {}): Record<string, unknown> {
  const out: Record<string, unknown> = { resultType: res.data.resultType, result: resultJson(res.data, opts), stats: lokiStatsJson(res) };
  if (opts.categorizeLabels && res.data.resultType === 'streams') out.encodingFlags = ['categorize-labels'];
  return out;
}

function resultJson(d: LogqlData, opts: LokiJsonOptions): unknown {
  switch (d.resultType) {
    case 'streams':
      return d.streams.map((s) => ({
        stream: s.labels,
        values: s.entries.map((e) => {
          const v: unknown[] = [e.timestampNs.toString(), e.line];
          if (opts.categorizeLabels) {
            const cat: Record<string, unknown> = {};
            if (e.structuredMetadata && Object.keys(e.structuredMetadata).length > 0) cat.structuredMetadata = e.structuredMetadata;
            if (e.parsed && Object.keys(e.parsed).length > 0) cat.parsed = e.parsed;
            v.push(cat);
          }
          return v;
        }),
      }));
    case 'matrix':
      return d.series.map((s) => ({
        metric: s.labels,
        values: s.timestampsNs.map((t, i) => [nsToSeconds(t), formatSampleValue(s.values[i]!)]), // parallel arrays
      }));
    case 'vector':
      return d.samples.map((s) => ({ metric: s.labels, value: [nsToSeconds(s.timestampNs), formatSampleValue(s.value)] }));
    case 'scalar':
      return [nsToSeconds(d.timestampNs), formatSampleValue(d.value)];
  }
}

const CHUNK_STATS = {
  headChunkBytes: 0,
  headChunkLines: 0,
  decompressedBytes: 0,
  decompressedLines: 0,
  compressedBytes: 0,
  totalDuplicates: 0,
  postFilterLines: 0,
  headChunkStructuredMetadataBytes: 0,
  decompressedStructuredMetadataBytes: 0,
};

const CACHE_STATS = {
  entriesFound: 0,
  entriesRequested: 0,
  entriesStored: 0,
  bytesReceived: 0,
  bytesSent: 0,
  requests: 0,
  downloadTime: 0,
  queryLengthServed: 0,
};

/**
 * Loki's `stats` object (summary, querier, ingester, cache, index), the shape Grafana's query inspector
 * reads. Work done in the embedded store is reported under `querier.store`.
 */
function lokiStatsJson(res: LogqlResult): Record<string, unknown> {
  const s = res.stats;
  const exec = s.execTimeSeconds;
  return {
    summary: {
      bytesProcessedPerSecond: exec > 0 ? Math.round(s.bytesProcessed / exec) : 0,
      linesProcessedPerSecond: exec > 0 ? Math.round(s.linesProcessed / exec) : 0,
      totalBytesProcessed: s.bytesProcessed,
      totalLinesProcessed: s.linesProcessed,
      execTime: exec,
      queueTime: 0,
      subqueries: 0,
      totalEntriesReturned: s.entriesReturned,
      splits: 0,
      shards: 0,
      totalPostFilterLines: s.postFilterLines,
      totalStructuredMetadataBytesProcessed: 0,
    },
    querier: {
      store: {
        totalChunksRef: 0,
        totalChunksDownloaded: 0,
        chunksDownloadTime: 0,
        queryReferencedStructuredMetadata: false,
        chunk: { ...CHUNK_STATS, decompressedBytes: s.bytesProcessed, decompressedLines: s.linesProcessed, postFilterLines: s.postFilterLines },
        chunkRefsFetchTime: 0,
        congestionControlLatency: 0,
        pipelineWrapperFilteredLines: 0,
      },
    },
    ingester: {
      totalReached: 0,
      totalChunksMatched: 0,
      totalBatches: 0,
      totalLinesSent: 0,
      store: {
        totalChunksRef: 0,
        totalChunksDownloaded: 0,
        chunksDownloadTime: 0,
        queryReferencedStructuredMetadata: false,
        chunk: { ...CHUNK_STATS },
        chunkRefsFetchTime: 0,
        congestionControlLatency: 0,
        pipelineWrapperFilteredLines: 0,
      },
    },
    cache: {
      chunk: { ...CACHE_STATS },
      index: { ...CACHE_STATS },
      result: { ...CACHE_STATS },
      statsResult: { ...CACHE_STATS },
      volumeResult: { ...CACHE_STATS },
      seriesResult: { ...CACHE_STATS },
      labelResult: { ...CACHE_STATS },
      instantMetricResult: { ...CACHE_STATS },
    },
    index: { totalChunks: 0, postFilterChunks: 0, shardsDuration: 0 },
  };
}
