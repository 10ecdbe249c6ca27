import { randomUUID } from 'node:crypto';
import { amMatcher, matchesAll } from './matchers.ts';
import type { AmMatcher } from './matchers.ts';
import { JsonStateFile } from './state-file.ts';

/** A silence matcher as Alertmanager's API v2 carries it. */
export interface SilenceMatcher {
  readonly name: string;
  readonly value: string;
  readonly isRegex: boolean;
  readonly isEqual: boolean;
}

/** A stored silence (Alertmanager's `GettableSilence` without the computed status). */
export interface Silence {
  readonly id: string;
  readonly matchers: readonly SilenceMatcher[];
  readonly startsAt: string;
  readonly endsAt: string;
  readonly updatedAt: string;
  readonly createdBy: string;
  readonly comment: string;
}

export type SilenceState = 'pending' | 'active' | 'expired';

/** A silence that cannot be stored; the message names the problem (the API answers 400). */
export class SilenceError extends Error {}

/** The body of `POST /api/v2/silences`. */
export interface PostableSilence {
  readonly id?: string;
  readonly matchers: readonly SilenceMatcher[];
  readonly startsAt: string;
  readonly endsAt: string;
  readonly createdBy: string;
  readonly comment: string;
}

/**
 * One tenant's silences, durable in `<dir>/silences.json` (every change is fsynced before the API answers).
 * Expired silences are kept for `retentionMs` past their end, then dropped, as Alertmanager's `data.retention`.
 */
export class Silences {
  private readonly byId = new Map<string, { silence: Silence; compiled: AmMatcher[] }>();
  private readonly file: JsonStateFile<Silence[]>;

  private constructor(
    file: string,
    private readonly retentionMs: number,
  ) {
    this.file = new JsonStateFile(file);
  }

  static async open(file: string, retentionMs: number): Promise<Silences> {
    const s = new Silences(file, retentionMs);
    for (const silence of (await s.file.load()) ?? []) s.byId.set(silence.id, { silence, compiled: compile(silence.matchers) });
    return s;
  }

  /** Every silence, with its state at `nowMs`. */
  list(nowMs: number): { silence: Silence; state: SilenceState }[] {
    this.gc(nowMs);
    return [...this.byId.values()].map(({ silence }) => ({ silence, state: stateOf(silence, nowMs) }));
  }

  get(id: string, nowMs: number): { silence: Silence; state: SilenceState } | undefined {
    const e = this.byId.get(id);
    return e ? { silence: e.silence, state: stateOf(e.silence, nowMs) } : undefined;
  }

  /** Ids of the active silences matching `labels`. */
  mutes(labels: Readonly<Record<string, string>>, nowMs: number): string[] {
    const ids: string[] = [];
    for (const { silence, compiled } of this.byId.values()) {
      if (stateOf(silence, nowMs) === 'active' && matchesAll(compiled, labels)) ids.push(silence.id);
    }
    return ids.sort();
  }

  /**
   * Creates a silence, or updates the one with `body.id` when it has not expired (Alertmanager keeps the id
   * when only the end time, comment or author change, and otherwise expires the old one and creates a new
   * one; here an unexpired silence is changed in place). Returns the id.
   */
  async upsert(body: PostableSilence, nowMs: number): Promise<string> {
    const compiled = validate(body, nowMs);
    const now = new Date(nowMs).toISOString();
    let id = body.id ?? '';
    const old = id ? this.byId.get(id) : undefined;
    if (id && !old) throw new SilenceError(`silence ${id} not found`);
    if (!old || stateOf(old.silence, nowMs) === 'expired') id = randomUUID();
    const silence: Silence = {
      id,
      matchers: body.matchers.map((m) => ({ name: m.name, value: m.value, isRegex: m.isRegex, isEqual: m.isEqual })),
      startsAt: Date.parse(body.startsAt) < nowMs ? now : new Date(Date.parse(body.startsAt)).toISOString(),
      endsAt: new Date(Date.parse(body.endsAt)).toISOString(),
      updatedAt: now,
      createdBy: body.createdBy,
      comment: body.comment,
    };
    this.byId.set(id, { silence, compiled });
    await this.persist();
    return id;
  }

  /** Expires a silence now (a pending one ends before it starts). False when there is none with `id`. */
  async expire(id: string, nowMs: number): Promise<boolean> {
    const e = this.byId.get(id);
    if (!e) return false;
    const state = stateOf(e.silence, nowMs);
    if (state === 'expired') throw new SilenceError(`silence ${id} already expired`);
    const now = new Date(nowMs).toISOString();
    e.silence = { ...e.silence, endsAt: now, updatedAt: now, ...(state === 'pending' ? { startsAt: now } : {}) };
    await this.persist();
    return true;
  }

  private persist(): Promise<void> {
    return this.file.save(() => [...this.byId.values()].map((e) => e.silence));
  }

  private gc(nowMs: number): void {
    for (const [id, { silence }] of this.byId) if (Date.parse(silence.endsAt) + this.retentionMs < nowMs) this.byId.delete(id);
  }
}

function stateOf(s: Silence, nowMs: number): SilenceState {
  if (Date.parse(s.endsAt) <= nowMs) return 'expired';
  if (Date.parse(s.startsAt) > nowMs) return 'pending';
  return 'active';
}

function compile(matchers: readonly SilenceMatcher[]): AmMatcher[] {
  return matchers.map((m) => amMatcher(m.name, m.isRegex ? (m.isEqual === false ? '!~' : '=~') : m.isEqual === false ? '!=' : '=', m.value));
}

function validate(body: PostableSilence, nowMs: number): AmMatcher[] {
  if (!Array.isArray(body.matchers) || body.matchers.length === 0) throw new SilenceError('silence invalid: at least one matcher required');
  for (const m of body.matchers) {
    if (typeof m?.name !== 'string' || m.name === '' || typeof m.value !== 'string' || typeof m.isRegex !== 'boolean') {
      throw new SilenceError('silence invalid: each matcher needs name, value and isRegex (isEqual optional)');
    }
  }
  const start = Date.parse(body.startsAt);
  const end = Date.parse(body.endsAt);
  if (Number.isNaN(start) || Number.isNaN(end)) throw new SilenceError('silence invalid: startsAt and endsAt must be RFC 3339 times');
  if (end < start) throw new SilenceError('silence invalid: end time must not be before start time');
  if (end <= nowMs) throw new SilenceError('silence invalid: end time can\'t be in the past');
  if (typeof body.createdBy !== 'string' || body.createdBy === '') throw new SilenceError('silence invalid: creator information missing');
  if (typeof body.comment !== 'string' || body.comment === '') throw new SilenceError('silence invalid: comment missing');
  let compiled: AmMatcher[];
  try {
    compiled = compile(body.matchers);
  } catch (err) {
    throw new SilenceError(`silence invalid: ${(err as Error).message}`, { cause: err });
  }
  // A silence must not match every alert: at least one matcher must fail on the empty label set.
  if (compiled.every((m) => m.test(''))) throw new SilenceError('silence invalid: at least one matcher must not match the empty string');
  return compiled;
}
