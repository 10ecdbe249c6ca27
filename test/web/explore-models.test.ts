// The UI's pure models, run in Node: Pyroscope's flame graph levels decoded (plain and diff) with the top table,
// the trace waterfall's order, collapse and critical path, the search form's TraceQL, the trace id of a log line,
// and the links a span gives to its logs and profile. The browser tests cover the same through the page; these pin
// the edge cases.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TraceSpan } from '../../web/src/datasource/tempo.ts';
import { idToHex } from '../../web/src/datasource/tempo.ts';
import { encodeMergeProfileRequest } from '../../web/src/datasource/pyroscope.ts';
import { pyroscopeProtoRoot } from '../../src/ingest/pyroscope-proto.ts';
import { uiConfigSchema } from '../../src/config/ui-config.ts';
import { resolveCorrelations } from '../../src/ui/correlations.ts';
import { correlationTargets, servicesOfSeries, spanLogsLink, spanMetricsLink, spanProfileLink, splitViewHref, traceIdOfLogLine, traceLink } from '../../web/src/explore/correlations.ts';
import { traceqlFromFields, EMPTY_SEARCH } from '../../web/src/explore/traces/trace-search-query.ts';
import { traceFlameGraph } from '../../web/src/explore/traces/trace-flame.ts';
import { isTraceqlMetricsQuery, traceMetricsFrame } from '../../web/src/explore/traces/trace-metrics.ts';
import { buildTraceTree, visibleRows } from '../../web/src/explore/traces/trace-tree.ts';
import { decodeFlameGraph, sandwich, topTable } from '../../web/src/flamegraph/flame-model.ts';

test('flame graph levels: offsets from the previous sibling, parents, top table without double-counted recursion', () => {
  // main;work;hot 10 / main;idle 5 / main;work;work 3 (recursion), as Pyroscope encodes it.
  const fb = {
    names: ['total', 'main', 'idle', 'work', 'hot'],
    levels: [{ values: [0, 18, 0, 0] }, { values: [0, 18, 0, 1] }, { values: [0, 5, 5, 2, 0, 13, 0, 3] }, { values: [5, 10, 10, 4, 0, 3, 3, 3] }, {}],
    total: '18',
  };
  const m = decodeFlameGraph(fb, false);
  assert.deepEqual(m.levels[3]!.map((n) => [n.name, n.x, n.total, n.parent?.name]), [['hot', 5, 10, 'work'], ['work', 15, 3, 'work']]);
  assert.equal(m.levels[4]!.length, 0, 'an empty level left out by the JSON codec');
  const top = Object.fromEntries(topTable(m).map((e) => [e.name, [e.self, e.total]]));
  assert.deepEqual(top, { main: [0, 18], idle: [5, 5], work: [3, 13], hot: [10, 10] });
});

test('a diff lays nodes out by both sides and keeps each side; zero ticks left out by the codec read as 0', () => {
  const m = decodeFlameGraph({ names: ['total', 'a', 'b'], levels: [{ values: [0, 0, 0, 0, 10, 0, 0] }, { values: [0, 0, 0, 0, 4, 4, 1, 0, 0, 0, 0, 6, 6, 2] }], rightTicks: '10' }, true);
  assert.deepEqual(m.diff, { leftTicks: 0, rightTicks: 10 });
  assert.deepEqual(m.levels[1]!.map((n) => [n.name, n.x, n.total, n.left?.total, n.right?.total]), [['a', 0, 4, 0, 4], ['b', 4, 6, 0, 6]]);
});

function span(id: string, parent: string | undefined, start: number, end: number, extra: Partial<TraceSpan> = {}): TraceSpan {
  return {
    traceId: 'ab'.repeat(16),
    spanId: id,
    ...(parent ? { parentSpanId: parent } : {}),
    name: `op-${id}`,
    kind: 'server',
    serviceName: 'svc',
    startNs: BigInt(start),
    endNs: BigInt(end),
    statusCode: 0,
    attributes: {},
    resource: { 'service.name': 'svc', 'k8s.pod.name': 'pod-1' },
    scope: { name: 'lib' },
    events: [],
    links: [],
    ...extra,
  };
}

test('the waterfall: depth-first by start, orphans as roots, collapse hides a subtree, critical path follows the last child', () => {
  const spans = [span('c', 'a', 50, 90), span('a', undefined, 0, 100), span('b', 'a', 10, 60), span('d', 'b', 20, 30), span('o', 'missing', 5, 6)];
  const tree = buildTraceTree(spans);
  assert.deepEqual(tree.rows.map((r) => [r.span.spanId, r.depth]), [['a', 0], ['b', 1], ['d', 2], ['c', 1], ['o', 0]]);
  assert.deepEqual(tree.rows.filter((r) => r.critical).map((r) => r.span.spanId), ['a', 'c']);
  assert.deepEqual(visibleRows(tree.rows, new Set(['b'])).map((r) => r.span.spanId), ['a', 'b', 'c', 'o']);
  assert.equal(tree.startNs, 0n);
  assert.equal(tree.endNs, 100n);
});

test('the search form’s TraceQL, and durations that are not durations refused', () => {
  assert.deepEqual(traceqlFromFields(EMPTY_SEARCH), { query: '{}' });
  assert.deepEqual(traceqlFromFields({ ...EMPTY_SEARCH, service: 'api', spanName: 'GET /x', minDuration: '100ms', status: 'error', attributes: 'span.http.route=/pay code=500' }), {
    query: '{ resource.service.name = "api" && name = "GET /x" && duration >= 100ms && status = error && span.http.route = "/pay" && .code = 500 }',
  });
  assert.match((traceqlFromFields({ ...EMPTY_SEARCH, maxDuration: 'soon' }) as { error: string }).error, /maximum duration "soon"/);
});

/** The correlation settings the server gives each default data source: the configuration's defaults, uids filled in. */
const DEFAULT_SOURCES = uiConfigSchema.parse({}).datasources;
const DEFAULTS = resolveCorrelations(DEFAULT_SOURCES[0]!, DEFAULT_SOURCES);

test('a log line’s trace id: from its fields first, else from the line; ids in base64 or hex; fields and regex configurable', () => {
  const id = '0af7651916cd43dd8448eb211c80319c';
  assert.equal(traceIdOfLogLine([{}, { trace_id: id.toUpperCase() }], 'x', DEFAULTS), id);
  assert.equal(traceIdOfLogLine([{}], `level=info traceID=${id} msg=ok`, DEFAULTS), id);
  assert.equal(traceIdOfLogLine([{}], `{"traceId":"${id}","msg":"ok"}`, DEFAULTS), id);
  assert.equal(traceIdOfLogLine([{ trace_id: 'not-hex' }], 'no id here', DEFAULTS), undefined);
  const custom = { trace_id_fields: ['tid'], trace_id_regex: 'req=\\w+/([0-9a-f]{32})' };
  assert.equal(traceIdOfLogLine([{ trace_id: 'abc' }], `req=GET/${id}`, custom), id);
  assert.equal(traceIdOfLogLine([{ tid: 'abc' }], 'x', custom), 'abc');
  assert.equal(DEFAULTS.traces_uid, 'heimdall-traces');
  assert.equal(idToHex('ASNFZ4mrze8BI0VniavN7w=='), '0123456789abcdef0123456789abcdef');
  assert.equal(idToHex(id), id);
});

test('a span’s links: its service and pod as labels, the trace id filter, a minute either side; the span id for its profile; its span metrics', () => {
  const s = span('1111111111111111', undefined, 120_000_000_000, 121_000_000_000);
  const t = correlationTargets('team-a', 'heimdall-traces', DEFAULTS);
  const logs = spanLogsLink(t, s, true);
  assert.equal(logs.ds, 'heimdall-logs');
  assert.deepEqual(logs.params, { expr: `{service_name="svc", pod="pod-1"} | trace_id = "${'ab'.repeat(16)}"`, from: '60000', to: '181000' });
  const profile = spanProfileLink(t, s, true);
  assert.equal(profile.type, 'pyroscope');
  assert.deepEqual(profile.params, { expr: '{service_name="svc"}', from: '60000', to: '181000', span: '1111111111111111' });
  // Another mapping, and no trace id filter: the source's correlation settings.
  const mapped = correlationTargets('team-a', 'heimdall-traces', { ...DEFAULTS, attribute_labels: { 'service.name': 'app' }, filter_logs_by_trace_id: false });
  assert.equal(spanLogsLink(mapped, s, true).params.expr, '{app="svc"}');
  assert.deepEqual(spanMetricsLink(t, s).params, {
    expr: 'sum by (span_name, status_code) (rate(traces_spanmetrics_calls_total{service="svc"}[5m]))',
    from: String(120_000 - 1_800_000),
    to: String(120_000 + 1_800_000),
  });
});

test('a link opens in the split view beside its pane, keeping the page’s range: from the right pane, the right moves left', () => {
  const link = traceLink('team-a', 'abc', { from: '1000', to: '2000' }, 'traces');
  const fromLeft = new URLSearchParams(splitViewHref(new URLSearchParams('org=team-a&ds=prom&expr=up&from=now-30m&to=now&r.ds=old&r.expr=x'), '', link).split('?')[1]);
  assert.deepEqual([...fromLeft], [['org', 'team-a'], ['from', 'now-30m'], ['to', 'now'], ['ds', 'prom'], ['expr', 'up'], ['r.ds', 'traces'], ['r.trace', 'abc']]);
  const fromRight = new URLSearchParams(splitViewHref(fromLeft, 'r.', { org: 'team-a', type: 'loki', params: { expr: '{a="b"}', from: '5', to: '6' } }).split('?')[1]);
  assert.deepEqual([...fromRight], [['org', 'team-a'], ['from', 'now-30m'], ['to', 'now'], ['ds', 'traces'], ['trace', 'abc'], ['r.type', 'loki'], ['r.expr', '{a="b"}']]);
  // A page without a range of its own takes the link's.
  const bare = new URLSearchParams(splitViewHref(new URLSearchParams('ds=prom'), '', link).split('?')[1]);
  assert.equal(bare.get('from'), '1000');
});

test('the services a query’s series name: service_name, else service, else job', () => {
  assert.deepEqual(servicesOfSeries([{ service_name: 'b', job: 'x' }, { service: 'a' }, { job: 'ns/app' }, { instance: 'i' }, { service_name: 'b' }], DEFAULTS.service_labels), ['a', 'b', 'ns/app']);
  assert.deepEqual(servicesOfSeries([{ service_name: 'b', app: 'x' }], ['app']), ['x']);
});

test('the sandwich of a function: callers inverted and callees merged over every place it appears, recursion once', () => {
  // main;a;f;g 4 / main;b;f 2 / main;f;f;h 3 (recursion) / main;x 7.
  const fb = {
    names: ['total', 'main', 'a', 'b', 'f', 'x', 'g', 'h'],
    levels: [{ values: [0, 16, 0, 0] }, { values: [0, 16, 0, 1] }, { values: [0, 4, 0, 2, 0, 2, 0, 3, 0, 3, 0, 4, 0, 7, 7, 5] }, { values: [0, 4, 0, 4, 0, 2, 2, 4, 0, 3, 0, 4] }, { values: [0, 4, 4, 6, 2, 3, 3, 7] }, {}],
  };
  const m = decodeFlameGraph(fb, false);
  const { callers, callees } = sandwich(m, 'f');
  const row = (model: typeof m, level: number): [string, number][] => model.levels[level]!.map((n) => [n.name, n.total]);
  assert.equal(callers.total, 9);
  assert.deepEqual(row(callers, 1), [['a', 4], ['b', 2], ['main', 3]]);
  assert.deepEqual(row(callers, 2), [['main', 4], ['main', 2]]);
  assert.equal(callees.total, 9);
  assert.deepEqual(row(callees, 1), [['f', 3], ['g', 4]]);
  assert.deepEqual(row(callees, 2), [['h', 3]]);
});

test('the SelectMergeProfile request encoded by hand decodes as Pyroscope’s message', () => {
  const bytes = encodeMergeProfileRequest('process_cpu:cpu:nanoseconds:cpu:nanoseconds', '{service_name="é"}', { startMs: 1_700_000_000_123, endMs: 1_700_000_360_000 });
  const msg = pyroscopeProtoRoot.lookupType('querier.v1.SelectMergeProfileRequest').decode(bytes);
  assert.deepEqual(pyroscopeProtoRoot.lookupType('querier.v1.SelectMergeProfileRequest').toObject(msg, { longs: Number }), {
    profileTypeID: 'process_cpu:cpu:nanoseconds:cpu:nanoseconds',
    labelSelector: '{service_name="é"}',
    start: 1_700_000_000_123,
    end: 1_700_000_360_000,
  });
});

test('the span flame graph: self time is the span less what its children cover (overlaps once), same paths merged', () => {
  // a 0–100 calls b 10–60 and c 50–90 (overlapping: 10–90 covered), c calls d 55–65, and b again as b2 70–80.
  const spans = [span('a', undefined, 0, 100), span('b', 'a', 10, 60), span('c', 'a', 50, 90), span('d', 'c', 55, 65, { name: 'op-d', serviceName: 'db' }), span('b2', 'a', 70, 80, { name: 'op-b' })];
  const m = traceFlameGraph(buildTraceTree(spans).rows);
  const row = (level: number): [string, number, number][] => m.levels[level]!.map((n) => [n.name, n.total, n.self]);
  assert.deepEqual(row(0), [['trace', 120, 0]]);
  assert.deepEqual(row(1), [['svc: op-a', 120, 20]]);
  // op-b twice (50 + 10) merged; op-c 40 less op-d's 10.
  assert.deepEqual(row(2), [['svc: op-b', 60, 60], ['svc: op-c', 40, 30]]);
  assert.deepEqual(row(3), [['db: op-d', 10, 10]]);
});

test('TraceQL metrics: queries told from searches; series as a matrix, exemplars on their line naming their trace', () => {
  assert.equal(isTraceqlMetricsQuery('{ status = error } | rate() by (resource.service.name)'), true);
  assert.equal(isTraceqlMetricsQuery('{ span.rate = 3 }'), false);
  const { data, markers } = traceMetricsFrame([
    {
      labels: [{ key: 'resource.service.name', value: { stringValue: 'api' } }],
      samples: [{ timestampMs: '60000', value: 0.5 }, { timestampMs: '120000', value: 2 }],
      exemplars: [{ labels: [{ key: 'trace:id', value: { stringValue: 'ABC' } }], value: 'NaN', timestampMs: '115000' }],
    },
  ]);
  assert.deepEqual(data, { resultType: 'matrix', result: [{ metric: { 'resource.service.name': 'api' }, values: [[60, '0.5'], [120, '2']] }] });
  assert.deepEqual(markers, [{ timeS: 115, value: 2, title: 'trace:id=ABC', traceId: '00000000000000000000000000000abc' }]);
});
