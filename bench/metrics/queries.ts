// The range queries of the metrics bench, shared by the bench (run.ts) and the query profiler (profile-queries.ts).
export const QUERIES: Record<string, string> = {
  rate: 'rate(node_network_receive_bytes_total[5m])',
  'sum by rate': 'sum by (instance) (rate(node_cpu_seconds_total{mode!="idle"}[5m]))',
  histogram_quantile: 'histogram_quantile(0.9, sum by (le, handler) (rate(http_request_duration_seconds_bucket[5m])))',
  'regex selector': 'node_filesystem_avail_bytes{mountpoint=~"/var.*|/home", instance=~"host-0000[0-4].*"}',
  // The PromQL engine's own cases (issue 4): a topk and a subquery over the node series.
  topk: 'topk(10, rate(node_cpu_seconds_total[5m]))',
  subquery: 'max_over_time(rate(node_network_receive_bytes_total[1m])[10m:1m])',
};
