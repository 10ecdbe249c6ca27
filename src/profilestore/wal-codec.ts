import type { Profile, ProfileFunction, ProfileSample, TenantId } from '../model/index.ts';

/** One WAL frame of the profile store: one tenant's committed profiles (docs/formats/profilestore.md, "WAL"). */
export interface WalBatch {
  readonly tenant: TenantId;
  readonly profiles: readonly Profile[];
  /**
   * The store's sequence number of the first profile (the others follow, one each), so replay can leave out
   * profiles a block already holds. Frames of format version 1 have none (undefined).
   */
  readonly firstSeq?: number;
}

/*
 * A frame's payload is UTF-8 JSON `{"t": tenant, "n": first sequence number, "y": [symbol tables], "p": [profiles]}`. Profiles decoded
 * from one pprof share their `functions` and `stacks` arrays; the frame stores each shared pair once in `y`
 * (`{"f": functions, "s": stacks}`) and a profile names it by index (`"y": i`). A sample is
 * `[stack, value]` or `[stack, value, spanId]`.
 */

interface RawProfile {
  l: Record<string, string>;
  ms: number;
  d: number;
  y: number;
  x: ([number, number] | [number, number, string])[];
  id?: string;
}

interface RawSymbols {
  f: ProfileFunction[];
  s: (readonly number[])[];
}

/** Encodes a batch as a WAL frame payload. */
export function encodeWalBatch(batch: WalBatch): Buffer {
  const tables: RawSymbols[] = [];
  const tableIndex = new Map<readonly ProfileFunction[], Map<readonly (readonly number[])[], number>>();
  const profiles: RawProfile[] = [];
  for (const p of batch.profiles) {
    let byStacks = tableIndex.get(p.functions);
    if (!byStacks) tableIndex.set(p.functions, (byStacks = new Map()));
    let y = byStacks.get(p.stacks);
    if (y === undefined) {
      y = tables.length;
      tables.push({ f: [...p.functions], s: [...p.stacks] });
      byStacks.set(p.stacks, y);
    }
    profiles.push({
      l: p.labels,
      ms: p.timeMs,
      d: p.durationNs,
      y,
      x: p.samples.map((s) => (s.spanId === undefined ? [s.stack, s.value] : [s.stack, s.value, s.spanId])),
      ...(p.profileId !== undefined ? { id: p.profileId } : {}),
    });
  }
  return Buffer.from(JSON.stringify({ t: batch.tenant, ...(batch.firstSeq !== undefined ? { n: batch.firstSeq } : {}), y: tables, p: profiles }), 'utf8');
}

/** Decodes a frame payload written by {@link encodeWalBatch}. Throws on a payload that is not one. */
export function decodeWalBatch(payload: Uint8Array): WalBatch {
  const raw = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8')) as {
    t: string;
    n?: number;
    y: RawSymbols[];
    p: RawProfile[];
  };
  if (typeof raw.t !== 'string' || !Array.isArray(raw.y) || !Array.isArray(raw.p)) throw new Error('not a profile WAL batch');
  return {
    tenant: raw.t as TenantId,
    ...(typeof raw.n === 'number' ? { firstSeq: raw.n } : {}),
    profiles: raw.p.map((p) => {
      const table = raw.y[p.y];
      if (!table) throw new Error(`profile WAL batch names symbol table ${p.y} of ${raw.y.length}`);
      const samples: ProfileSample[] = p.x.map((s) => (s.length === 3 ? { stack: s[0], value: s[1], spanId: s[2] } : { stack: s[0], value: s[1] }));
      return {
        labels: p.l,
        timeMs: p.ms,
        durationNs: p.d,
        functions: table.f,
        stacks: table.s,
        samples,
        ...(p.id !== undefined ? { profileId: p.id } : {}),
      };
    }),
  };
}
