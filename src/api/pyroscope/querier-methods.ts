import type protobuf from 'protobufjs';
import { HeimdallError, PROFILE_TYPE_LABEL, compareLabels, labelsKey, parseProfileTypeId, parseSelector, sortedLabelNames } from '../../model/index.ts';
import type { LabelMatcher, Labels, ProfileType } from '../../model/index.ts';
import { DEFAULT_MAX_NODES, MAX_MAX_NODES, SeriesBuilder, StackTree, flameGraphDiffOf, flameGraphOf, mergedPprof } from '../../profiles/index.ts';
import type { FlameGraph } from '../../profiles/index.ts';
import type { ProfileQueryable, ProfileTimeRange } from '../../storage/index.ts';
import { pyroscopeProtoRoot as root } from '../../ingest/pyroscope-proto.ts';
import { RawProto } from './connect.ts';
import type { ConnectCall, ConnectMethod } from './connect.ts';

const type = (name: string): protobuf.Type => root.lookupType(name);

/** The Connect service path prefix of Pyroscope's query API. */
const QUERIER = '/querier.v1.QuerierService';

interface TimeFields {
  start: number;
  end: number;
}

interface MergeRequest extends TimeFields {
  profileTypeID: string;
  labelSelector: string;
  maxNodes?: number;
}

/** A request's time range; 0 (absent) ends mean "all retained data", as Pyroscope reads its ingesters then. */
export function rangeOf(r: TimeFields): ProfileTimeRange {
  return { startMs: r.start > 0 ? r.start : 0, endMs: r.end > 0 ? r.end : Number.MAX_SAFE_INTEGER };
}

/** A label selector (`{service_name="api"}`); an empty one (`{}` or nothing) selects every series, as in Pyroscope. */
export function selectorMatchers(text: string): LabelMatcher[] {
  const t = text.trim();
  if (t === '' || /^\{\s*\}$/.test(t)) return [];
  return parseSelector(t, 'prometheus');
}

/** The matchers of a merge request: the profile type's and the selector's. */
function mergeMatchers(r: { profileTypeID: string; labelSelector: string }): { type: ProfileType; matchers: LabelMatcher[] } {
  const t = parseProfileTypeId(r.profileTypeID);
  if (!t) throw new HeimdallError('bad_data', `invalid profile type id "${r.profileTypeID}": expected <name>:<sample type>:<sample unit>:<period type>:<period unit>`);
  return { type: t, matchers: [{ name: PROFILE_TYPE_LABEL, op: '=', value: r.profileTypeID }, ...selectorMatchers(r.labelSelector)] };
}

function maxNodesOf(n: number | undefined): number {
  if (n === undefined || n <= 0) return DEFAULT_MAX_NODES;
  return Math.min(n, MAX_MAX_NODES);
}

/** The merged tree of the profiles a request selects (only the samples of `spanIds` when given). */
async function mergedTree(
  queryable: ProfileQueryable,
  call: ConnectCall<unknown>,
  r: { profileTypeID: string; labelSelector: string } & TimeFields,
  spanIds?: ReadonlySet<string>,
): Promise<{ tree: StackTree; type: ProfileType; firstMs: number; lastMs: number }> {
  const { type, matchers } = mergeMatchers(r);
  const tree = new StackTree();
  const q = await queryable.querier(call.tenants);
  let firstMs = Infinity;
  let lastMs = -Infinity;
  try {
    for await (const batch of q.select({ ...rangeOf(r), matchers, read: 'merged', signal: call.signal })) {
      for (const { profile, merged } of batch) {
        tree.add(profile, spanIds);
        firstMs = Math.min(firstMs, profile.timeMs);
        lastMs = Math.max(lastMs, merged?.lastMs ?? profile.timeMs);
      }
    }
  } finally {
    await q.close();
  }
  return { tree, type, firstMs, lastMs };
}

function flameGraphMessage(fg: FlameGraph): object {
  return { names: fg.names, levels: fg.levels.map((values) => ({ values })), total: fg.total, maxSelf: fg.maxSelf };
}

/** The union of the label reads over several selectors (Pyroscope's `matchers` list); none means every series. */
async function overSelectors<T>(selectors: readonly string[], read: (m: LabelMatcher[]) => Promise<T[]>): Promise<T[]> {
  if (selectors.length === 0) return read([]);
  const out: T[] = [];
  for (const s of selectors) out.push(...(await read(selectorMatchers(s))));
  return out;
}

function labelPairs(l: Labels): { name: string; value: string }[] {
  return Object.keys(l).map((name) => ({ name, value: l[name]! }));
}

/** Pyroscope's `querier.v1.QuerierService` over a profile queryable (federated `a|b` reads included). */
export function querierMethods(queryable: ProfileQueryable): ConnectMethod<never>[] {
  const withQuerier = async <T>(call: ConnectCall<unknown>, fn: (q: Awaited<ReturnType<ProfileQueryable['querier']>>) => Promise<T>): Promise<T> => {
    const q = await queryable.querier(call.tenants);
    try {
      return await fn(q);
    } finally {
      await q.close();
    }
  };
  const methods: ConnectMethod<never>[] = [
    method<TimeFields>('ProfileTypes', 'querier.v1.ProfileTypesRequest', 'querier.v1.ProfileTypesResponse', async (call) => {
      const ids = await withQuerier(call, (q) => q.labelValues(PROFILE_TYPE_LABEL, [], rangeOf(call.message)));
      const profileTypes = ids.flatMap((ID) => {
        const t = parseProfileTypeId(ID);
        return t ? [{ ID, name: t.name, sampleType: t.sampleType, sampleUnit: t.sampleUnit, periodType: t.periodType, periodUnit: t.periodUnit }] : [];
      });
      return { profileTypes };
    }),
    method<TimeFields & { matchers: string[] }>('LabelNames', 'types.v1.LabelNamesRequest', 'types.v1.LabelNamesResponse', async (call) => {
      const names = await withQuerier(call, (q) => overSelectors(call.message.matchers, (m) => q.labelNames(m, rangeOf(call.message))));
      return { names: [...new Set(names)].sort() };
    }),
    method<TimeFields & { name: string; matchers: string[] }>('LabelValues', 'types.v1.LabelValuesRequest', 'types.v1.LabelValuesResponse', async (call) => {
      const values = await withQuerier(call, (q) => overSelectors(call.message.matchers, (m) => q.labelValues(call.message.name, m, rangeOf(call.message))));
      return { names: [...new Set(values)].sort() };
    }),
    method<TimeFields & { matchers: string[]; labelNames: string[] }>('Series', 'querier.v1.SeriesRequest', 'querier.v1.SeriesResponse', async (call) => {
      const series = await withQuerier(call, (q) => overSelectors(call.message.matchers, (m) => q.series(m, rangeOf(call.message))));
      const keep = call.message.labelNames;
      const distinct = new Map<string, Labels>();
      for (const s of series) {
        const picked: Record<string, string> = {};
        for (const k of sortedLabelNames(s)) if (keep.length === 0 || keep.includes(k)) picked[k] = s[k]!;
        distinct.set(labelsKey(picked), picked);
      }
      return { labelsSet: [...distinct.values()].sort(compareLabels).map((l) => ({ labels: labelPairs(l) })) };
    }),
    method<MergeRequest>('SelectMergeStacktraces', 'querier.v1.SelectMergeStacktracesRequest', 'querier.v1.SelectMergeStacktracesResponse', async (call) => {
      const { tree } = await mergedTree(queryable, call, call.message);
      return { flamegraph: flameGraphMessage(flameGraphOf(tree, maxNodesOf(call.message.maxNodes))) };
    }),
    method<MergeRequest & { spanSelector: string[] }>('SelectMergeSpanProfile', 'querier.v1.SelectMergeSpanProfileRequest', 'querier.v1.SelectMergeSpanProfileResponse', async (call) => {
      const spans = new Set(call.message.spanSelector.map((s) => s.toLowerCase()));
      const { tree } = await mergedTree(queryable, call, call.message, spans);
      return { flamegraph: flameGraphMessage(flameGraphOf(tree, maxNodesOf(call.message.maxNodes))) };
    }),
    method<MergeRequest>('SelectMergeProfile', 'querier.v1.SelectMergeProfileRequest', undefined, async (call) => {
      const { tree, type: t, firstMs, lastMs } = await mergedTree(queryable, call, call.message);
      const start = Number.isFinite(firstMs) ? firstMs : 0;
      return new RawProto(mergedPprof(tree, t, start * 1e6, Number.isFinite(lastMs) ? (lastMs - start) * 1e6 : 0));
    }),
    method<MergeRequest & { groupBy: string[]; step: number; aggregation?: number; limit?: number }>(
      'SelectSeries',
      'querier.v1.SelectSeriesRequest',
      'querier.v1.SelectSeriesResponse',
      async (call) => {
        const r = call.message;
        const { matchers } = mergeMatchers(r);
        const stepMs = r.step > 0 ? Math.max(1, Math.round(r.step * 1000)) : 15_000;
        const builder = new SeriesBuilder({ stepMs, groupBy: r.groupBy, aggregation: r.aggregation === 1 ? 'average' : 'sum', limit: r.limit ?? 0 });
        await withQuerier(call, async (q) => {
          for await (const batch of q.select({ ...rangeOf(r), matchers, read: 'totals', signal: call.signal })) for (const { profile } of batch) builder.add(profile);
        });
        return {
          series: builder.series().map((s) => ({ labels: labelPairs(s.labels), points: s.points.map((p) => ({ value: p.value, timestamp: p.timestampMs })) })),
        };
      },
    ),
    method<{ left?: MergeRequest; right?: MergeRequest }>('Diff', 'querier.v1.DiffRequest', 'querier.v1.DiffResponse', async (call) => {
      const { left, right } = call.message;
      if (!left || !right) throw new HeimdallError('bad_data', 'Diff needs both left and right');
      const l = await mergedTree(queryable, call, left);
      const r = await mergedTree(queryable, call, right);
      const fg = flameGraphDiffOf(l.tree, r.tree, maxNodesOf(left.maxNodes));
      return { flamegraph: { ...flameGraphMessage(fg), leftTicks: fg.leftTicks, rightTicks: fg.rightTicks } };
    }),
    method<object>('GetProfileStats', 'types.v1.GetProfileStatsRequest', 'types.v1.GetProfileStatsResponse', async (call) => {
      const stats = await withQuerier(call, (q) => q.stats());
      return stats ? { dataIngested: true, oldestProfileTime: stats.oldestMs, newestProfileTime: stats.newestMs } : { dataIngested: false, oldestProfileTime: 0, newestProfileTime: 0 };
    }),
  ];
  return methods;
}

function method<Req>(
  name: string,
  request: string,
  response: string | undefined,
  handle: (call: ConnectCall<Req>) => Promise<object | RawProto>,
): ConnectMethod<never> {
  return { path: `${QUERIER}/${name}`, request: type(request), response: response === undefined ? undefined : type(response), handle };
}
