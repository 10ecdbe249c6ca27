import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import type { LogqlEngine } from '../../logql/index.ts';
import type { TenantId } from '../../model/index.ts';
import type { LogQueryable } from '../../storage/index.ts';
import { ApiError } from '../errors.ts';
import type { LokiApiDeps } from './deps.ts';
import { readTenants } from '../request-context.ts';
import { sendLokiError } from './handler.ts';
import { LokiParams, limitParam, nowNs, requiredParam, timeParam } from './params.ts';

/** Loki's cap on `delay_for`. */
const MAX_DELAY_FOR_SECONDS = 5;
const DEFAULT_TAIL_LIMIT = 100;
const DEFAULT_TAIL_LOOKBACK_NS = 3600n * 1_000_000_000n;

interface TailPlan {
  readonly tenants: TenantId[];
  readonly query: string;
  readonly limit: number;
  readonly delayNs: bigint;
  readonly startNs: bigint;
}

const plans = new WeakMap<FastifyRequest, TailPlan>();

function planTail(deps: LokiApiDeps, request: FastifyRequest): TailPlan {
  const tenants = readTenants(deps.tenants, request);
  if (tenants.length > 1) throw new ApiError('bad_data', 'tail requests are not supported for multiple tenants (X-Scope-OrgID "a|b")');
  const p = new LokiParams(request);
  const query = requiredParam(p, 'query');
  const expr = deps.logqlEngine.parse(query);
  if (expr.kind !== 'logSelector') throw new ApiError('bad_data', 'tail requires a log query, not a metric query');
  const limit = limitParam(p, DEFAULT_TAIL_LIMIT);
  if (limit > deps.config.query.max_entries_limit_per_query) {
    throw new ApiError('bad_data', `max entries limit per query exceeded, limit > max_entries_limit_per_query (${limit} > ${deps.config.query.max_entries_limit_per_query})`);
  }
  const delayText = p.get('delay_for') ?? '0';
  if (!/^\d+$/.test(delayText)) throw new ApiError('bad_data', `invalid delay_for: ${JSON.stringify(delayText)}`);
  const delay = Number(delayText);
  if (delay > MAX_DELAY_FOR_SECONDS) throw new ApiError('bad_data', `delay_for can't be greater than ${MAX_DELAY_FOR_SECONDS}`);
  const startNs = timeParam(p, 'start', nowNs() - DEFAULT_TAIL_LOOKBACK_NS);
  return { tenants, query, limit, delayNs: BigInt(delay) * 1_000_000_000n, startNs };
}

/**
 * Streams new entries of a log query over the socket as Loki's tail does: frames of
 * `{"streams":[{stream, values}], "dropped_entries": null}`. The store is polled every `pollMs` for
 * entries after the last one sent (at most `limit` per poll, oldest first, so a backlog drains over
 * several polls); entries sharing the last timestamp are de-duplicated. Stops when the socket closes.
 */
export function runTail(engine: LogqlEngine, queryable: LogQueryable, plan: TailPlan, socket: WebSocket, pollMs: number, onError: (err: unknown) => void): void {
  let cursor = plan.startNs;
  let seenAtCursor = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const controller = new AbortController();
  socket.on('close', () => {
    closed = true;
    controller.abort();
    if (timer) clearTimeout(timer);
  });
  const poll = async (): Promise<void> => {
    const endNs = nowNs() - plan.delayNs + 1n;
    if (endNs <= cursor) return;
    const res = await engine.query(queryable, plan.tenants, {
      query: plan.query,
      startNs: cursor,
      endNs,
      direction: 'forward',
      limit: plan.limit,
      signal: controller.signal,
    });
    if (res.data.resultType !== 'streams') return;
    const streams: { stream: Record<string, string>; values: [string, string][] }[] = [];
    let maxTs = cursor;
    const nextSeen = new Set<string>();
    const fresh: { key: string; ts: bigint }[] = [];
    for (const s of res.data.streams) {
      const values: [string, string][] = [];
      const labelKey = JSON.stringify(s.labels);
      for (const e of s.entries) {
        const key = `${labelKey}\u0000${e.timestampNs}\u0000${e.line}`;
        if (e.timestampNs === cursor && seenAtCursor.has(key)) continue;
        values.push([e.timestampNs.toString(), e.line]);
        fresh.push({ key, ts: e.timestampNs });
        if (e.timestampNs > maxTs) maxTs = e.timestampNs;
      }
      if (values.length > 0) streams.push({ stream: { ...s.labels }, values });
    }
    for (const f of fresh) if (f.ts === maxTs) nextSeen.add(f.key);
    if (maxTs === cursor) for (const k of seenAtCursor) nextSeen.add(k);
    cursor = maxTs;
    seenAtCursor = nextSeen;
    if (streams.length > 0 && !closed) socket.send(JSON.stringify({ streams, dropped_entries: null }));
  };
  const loop = (): void => {
    if (closed) return;
    poll()
      .catch((err: unknown) => {
        if (closed) return;
        onError(err);
        socket.close(1011, err instanceof Error ? err.message.slice(0, 120) : 'tail failed');
        closed = true;
      })
      .finally(() => {
        if (!closed) {
          timer = setTimeout(loop, pollMs);
          timer.unref();
        }
      });
  };
  loop();
}

/** `GET /tail` upgraded to a WebSocket. Bad requests are refused with Loki's plain-text 400 before the upgrade. */
export function registerTailRoute(app: FastifyInstance, deps: LokiApiDeps): void {
  const pollMs = deps.tailPollIntervalMs ?? 1000;
  app.get(
    '/tail',
    {
      websocket: true,
      preValidation: async (request: FastifyRequest, reply: FastifyReply) => {
        try {
          plans.set(request, planTail(deps, request));
        } catch (err) {
          return sendLokiError(request, reply, err, deps.logger);
        }
      },
    },
    (socket: WebSocket, request: FastifyRequest) => {
      const plan = plans.get(request);
      if (!plan) {
        socket.close(1011, 'tail request was not validated');
        return;
      }
      runTail(deps.logqlEngine, deps.queryable, plan, socket, pollMs, (err) => deps.logger.warn({ err, url: request.url }, 'tail failed'));
    },
  );
}
