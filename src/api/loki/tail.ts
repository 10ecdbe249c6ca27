import { quoteGo } from '../../model/index.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { ApiError } from '../errors.ts';
import type { LokiApiDeps } from './deps.ts';
import { readTenants } from '../request-context.ts';
import { sendLokiError } from './handler.ts';
import { LokiParams, limitParam, nowNs, requiredParam, timeParam } from './params.ts';
import { runTail } from './tail-session.ts';
import type { TailPlan } from './tail-session.ts';

/** Loki's cap on `delay_for`. */
const MAX_DELAY_FOR_SECONDS = 5;
const DEFAULT_TAIL_LIMIT = 100;
const DEFAULT_TAIL_LOOKBACK_NS = 3600n * 1_000_000_000n;

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
  if (!/^\d+$/.test(delayText)) throw new ApiError('bad_data', `invalid delay_for: ${quoteGo(delayText)}`);
  const delay = Number(delayText);
  if (delay > MAX_DELAY_FOR_SECONDS) throw new ApiError('bad_data', `delay_for can't be greater than ${MAX_DELAY_FOR_SECONDS}`);
  const startNs = timeParam(p, 'start', nowNs() - DEFAULT_TAIL_LOOKBACK_NS);
  return { tenants, query, limit, delayNs: BigInt(delay) * 1_000_000_000n, startNs };
}

/** `GET /tail` upgraded to a WebSocket. Bad requests are refused with Loki's plain-text 400 before the upgrade. */
export function registerTailRoute(app: FastifyInstance, deps: LokiApiDeps): void {
  const opts = { pollMs: deps.tailPollIntervalMs ?? 500, maxEntriesPerPoll: deps.config.query.max_entries_limit_per_query };
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
      runTail(deps.logqlEngine, deps.queryable, plan, socket, opts, (err) => deps.logger.warn({ err, url: request.url }, 'tail failed'));
    },
  );
}
