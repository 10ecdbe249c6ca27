import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fillFilesystem, mountTmpfs } from '../../test/support/tmpfs.ts';
import { metricsConfigSchema } from '../config/metrics-config.ts';
import type { TenantId } from '../model/index.ts';
import { StorageUnavailableError } from '../storage/index.ts';
import { Tsdb } from './index.ts';
import { tsdbConfigOptions } from '../app/engine-options.ts';

const TENANT = 'disk-full' as TenantId;
const DAY = 86_400_000;
const mounted = mountTmpfs(48 * 1024 * 1024);

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
}

test('metrics storage on a full disk: writes refused as disk_full, a failed flush leaves no files behind, all resumes once space is freed', { skip: typeof mounted === 'string' ? mounted : false, timeout: 120_000 }, async () => {
  const fsMount = mounted as Exclude<typeof mounted, string>;
  const dir = path.join(fsMount.dir, 'metrics');
  mkdirSync(dir);
  const config = metricsConfigSchema.parse({ limits: { out_of_order_time_window: '30d' } });
  const t0 = 10 * DAY;
  const opts = { dir, ...tsdbConfigOptions(config), now: () => t0 + DAY, maintenanceIntervalMs: 0, threads: 1, memoryLimitBytes: 128 * 1024 ** 2 };
  let db = await Tsdb.open(opts);
  const acked = new Map<string, number>();
  let batch = 0;
  /** One commit: 200 series × 50 samples spread over two days (so a flush writes several blocks). */
  const write = async (): Promise<void> => {
    const id = String(batch++);
    const app = db.appender(TENANT);
    for (let s = 0; s < 200; s++) {
      app.append({
        labels: { __name__: 'disk_full_test', batch: id, s: String(s) },
        samples: Array.from({ length: 50 }, (_, i) => ({ timestampMs: t0 + (i % 2) * DAY + i * 1000, value: i })),
      });
    }
    await app.commit();
    acked.set(id, 200 * 50);
  };
  try {
    for (let i = 0; i < 5; i++) await write();
    const filler = fillFilesystem(fsMount.dir);
    const before = new Set(filesUnder(dir));
    let refused: unknown;
    for (let i = 0; i < 500 && refused === undefined; i++) await write().catch((err: unknown) => (refused = err));
    assert.ok(refused instanceof StorageUnavailableError, String(refused));
    assert.equal(refused.code, 'disk_full');
    assert.equal(refused.httpStatus, 503);
    // A flush fails (blocks and checkpoint do not fit) and removes what it wrote.
    await assert.rejects(db.flush());
    await new Promise((r) => setTimeout(r, 50)); // block deletions are fire-and-forget
    const leftovers = filesUnder(dir).filter((f) => !before.has(f) && !f.endsWith('.wal'));
    assert.deepEqual(leftovers.filter((f) => f.endsWith('.tmp') || f.endsWith('.parquet')), []);

    rmSync(filler);
    for (let i = 0; i < 5; i++) await write();
    await db.flush();
    for (let i = 0; i < 5; i++) await write();
    await db.close();

    db = await Tsdb.open(opts);
    const q = await db.querier([TENANT], { startMs: 0, endMs: 100 * DAY });
    const stored = new Map<string, number>();
    for await (const part of q.select([{ op: '=', name: '__name__', value: 'disk_full_test' }])) {
      for (const s of part) stored.set(s.labels.batch!, (stored.get(s.labels.batch!) ?? 0) + s.timestampsMs.length);
    }
    await q.close();
    for (const [id, n] of acked) assert.equal(stored.get(id), n, `acknowledged batch ${id}`);
  } finally {
    await db.close();
    fsMount.unmount();
  }
});
