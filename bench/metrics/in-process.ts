// Heimdall's metrics path without the HTTP server: snappy → remote_write decoder → Tsdb appender, and the
// PromQL engine over the Tsdb. Used when the binary is not available (`--heimdall inprocess`); CPU is this
// process's CPU while ingesting (no HTTP client work happens in that window), RSS is the growth of this
// process's RSS over the engine's lifetime (the bench's own buffers are allocated before it starts).
import path from 'node:path';
import snappy from 'snappy';
import { metricsConfigSchema } from '../../src/config/metrics-config.ts';
import { decodeRemoteWrite } from '../../src/ingest/remote-write.ts';
import type { TenantId } from '../../src/model/index.ts';
import { Tsdb } from '../../src/tsdb/index.ts';
import type { EncodedLoad } from './load.ts';
import { dirBytes } from './servers.ts';
import { tsdbConfigOptions } from '../../src/app/engine-options.ts';

const TENANT = 'anonymous' as TenantId;
/** The load has 210k series: lift Mimir's default per-tenant series limit (150k), as for the peers. */
const BENCH_CONFIG = metricsConfigSchema.parse({ limits: { max_global_series_per_user: 0 } });

export class InProcessHeimdall {
  readonly name = 'heimdall (in-process)';
  private readonly rssBase: number;

  private constructor(
    /** The engine (exposed for profiling scripts). */
    public db: Tsdb,
    private readonly dir: string,
  ) {
    this.rssBase = process.memoryUsage().rss;
  }

  static async start(dir: string): Promise<InProcessHeimdall> {
    global.gc?.();
    const db = await Tsdb.open({ dir, ...tsdbConfigOptions(BENCH_CONFIG), maintenanceIntervalMs: 30_000 });
    return new InProcessHeimdall(db, dir);
  }

  async send(load: EncodedLoad, concurrency: number): Promise<{ errors: number; firstError?: string }> {
    let errors = 0;
    let firstError: string | undefined;
    const worker = async (w: number): Promise<void> => {
      for (let i = 0; i < load.bodies.length; i++) {
        if (load.shards[i]! % concurrency !== w) continue;
        const raw = snappy.uncompressSync(load.bodies[i]!) as Buffer;
        const decoded = decodeRemoteWrite(raw, 1);
        const app = this.db.appender(TENANT);
        for (const rec of decoded.records) {
          const o = app.append(rec);
          if (o.rejections.length > 0) {
            errors++;
            firstError ??= o.rejections[0]!.message;
          }
        }
        await app.commit();
      }
    };
    await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
    return firstError === undefined ? { errors } : { errors, firstError };
  }

  stats(): { cpuSeconds: number; rssBytes: number } {
    const u = process.cpuUsage();
    return { cpuSeconds: (u.user + u.system) / 1e6, rssBytes: Math.max(0, process.memoryUsage().rss - this.rssBase) };
  }

  async queryRange(q: string, startS: number, endS: number, stepS: number): Promise<{ ms: number; series: number; error?: string }> {
    const { PromqlEngine } = await import('../../src/promql/index.ts');
    const engine = new PromqlEngine({});
    const t0 = performance.now();
    try {
      const res = await engine.range(this.db, [TENANT], q, startS * 1000, endS * 1000, stepS * 1000);
      const value = res.value as unknown as { length?: number; series?: unknown[] };
      const series = Array.isArray(value) ? value.length : (value.series?.length ?? 0);
      return { ms: performance.now() - t0, series };
    } catch (err) {
      return { ms: performance.now() - t0, series: 0, error: (err as Error).message };
    }
  }

  async compactedBytes(): Promise<number> {
    await this.db.flush();
    await this.db.compact();
    await this.db.close();
    const bytes = dirBytes(this.dir);
    this.db = await Tsdb.open({ dir: this.dir, ...tsdbConfigOptions(BENCH_CONFIG), maintenanceIntervalMs: 0 });
    return bytes - dirBytes(path.join(this.dir, 'blocks', 'tmp'));
  }

  async stop(): Promise<void> {
    await this.db.close();
  }
}
