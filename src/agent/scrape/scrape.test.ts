// The exposition parser, Prometheus' relabeling (cases from Prometheus' own relabel tests) and the target
// lifecycle: a target that leaves discovery gets staleness markers for every series it had.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import pino from 'pino';
import { agentConfigSchema } from '../../config/index.ts';
import type { RelabelConfig } from '../../config/index.ts';
import { isStaleNaN } from '../../model/index.ts';
import type { LogRecord, MetricRecord } from '../../model/index.ts';
import type { Appendable } from '../../storage/index.ts';
import { TenantResolver } from '../../tenant/index.ts';
import { RecordSink } from '../record-sink.ts';
import { ExpositionError, parseExposition } from './exposition-parser.ts';
import { compileRelabels, relabel } from './relabel.ts';
import { ScrapeManager } from './scrape-manager.ts';

function rule(r: Partial<RelabelConfig>): RelabelConfig {
  return { source_labels: [], separator: ';', regex: '(.*)', replacement: '$1', action: 'replace', ...r };
}

test('the text format: escapes, timestamps, special values, metadata; OpenMetrics seconds and _created', () => {
  const p = parseExposition(
    ['# HELP a_total Help with \\\\ and \\n.', '# TYPE a_total counter', 'a_total{x="q\\"uote",y="new\\nline",} 1.5 1700000000123', 'b NaN', 'c{le="+Inf"} +Inf', ''].join('\n'),
    false,
  );
  assert.deepEqual(p.samples[0], { labels: { __name__: 'a_total', x: 'q"uote', y: 'new\nline' }, value: 1.5, timestampMs: 1700000000123 });
  assert.ok(Number.isNaN(p.samples[1]!.value));
  assert.equal(p.samples[2]!.value, Infinity);
  assert.deepEqual(p.metadata.get('a_total'), { type: 'counter', help: 'Help with \\ and \n.', unit: '' });
  const om = parseExposition(['# TYPE r counter', 'r_total 3 1700000000.5 # {trace_id="x"} 1', 'r_created 1699999999', '# EOF', 'ignored 1'].join('\n'), true);
  assert.deepEqual(om.samples, [{ labels: { __name__: 'r_total' }, value: 3, timestampMs: 1700000000500 }]);
  assert.throws(() => parseExposition('a{x="1"} one', false), ExpositionError);
  assert.throws(() => parseExposition('a{x="1",x="2"} 1', false), /appears twice/);
});

test("relabeling as Prometheus' model/relabel", () => {
  const run = (labels: Record<string, string>, rules: Partial<RelabelConfig>[]): Record<string, string> | undefined => relabel(labels, compileRelabels(rules.map(rule)));
  assert.deepEqual(run({ a: 'foo', b: 'bar' }, [{ source_labels: ['a'], regex: 'f(.*)', target_label: 'd', replacement: 'ch${1}-ch${1}' }]), { a: 'foo', b: 'bar', d: 'choo-choo' });
  // Anchored: `o` alone does not match "foo".
  assert.deepEqual(run({ a: 'foo' }, [{ source_labels: ['a'], regex: 'o', target_label: 'd' }]), { a: 'foo' });
  assert.equal(run({ a: 'foo' }, [{ source_labels: ['a'], regex: 'f.*', action: 'drop' }]), undefined);
  assert.equal(run({ a: 'foo' }, [{ source_labels: ['a'], regex: 'b.*', action: 'keep' }]), undefined);
  assert.deepEqual(run({ a: 'foo' }, [{ source_labels: ['a'], target_label: 'a', replacement: '' }]), {});
  assert.deepEqual(run({ c: 'baz', a: 'foo' }, [{ source_labels: ['c'], target_label: 'd', action: 'hashmod', modulus: 1000 }]), { c: 'baz', a: 'foo', d: '976' });
  assert.deepEqual(run({ __meta_my_bar: 'aaa', __meta_my_baz: 'bbb', a: 'x' }, [{ regex: '__meta_(my.*)', replacement: '${1}', action: 'labelmap' }]), {
    __meta_my_bar: 'aaa',
    __meta_my_baz: 'bbb',
    a: 'x',
    my_bar: 'aaa',
    my_baz: 'bbb',
  });
  assert.deepEqual(run({ a: 'foo', b: 'bar', c: 'baz' }, [{ regex: '(b.*)', action: 'labeldrop' }]), { a: 'foo', c: 'baz' });
  assert.deepEqual(run({ a: 'foo', b: 'bar', c: 'baz' }, [{ regex: '(b.*)', action: 'labelkeep' }]), { b: 'bar' });
  assert.deepEqual(run({ a: 'Foo' }, [{ source_labels: ['a'], target_label: 'l', action: 'lowercase' }]), { a: 'Foo', l: 'foo' });
  assert.equal(run({ a: 'x', b: 'y' }, [{ source_labels: ['a'], target_label: 'b', action: 'keepequal' }]), undefined);
  assert.equal(run({ a: 'x', b: 'x' }, [{ source_labels: ['a'], target_label: 'b', action: 'dropequal' }]), undefined);
});

test('a target that leaves discovery gets staleness markers for its series and report series', async () => {
  const server = http.createServer((_req, res) => res.end('m{k="v"} 1\n'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  // The sink's seam, recording what would be committed to the forwarding queue.
  const written: MetricRecord[] = [];
  const recording: Appendable<MetricRecord> = {
    appender: () => {
      const batch: MetricRecord[] = [];
      return { append: (r) => (batch.push(r), { accepted: 1, rejections: [] }), commit: async () => (written.push(...batch), { records: batch.length }), rollback: () => {} };
    },
  };
  const sink = new RecordSink(new TenantResolver({ multitenancy: true, fromNamespace: true, defaultTenant: 'default', namespaceMap: {} }), pino({ level: 'silent' }), recording, undefined as Appendable<LogRecord> | undefined);
  const cfg = agentConfigSchema.parse({ forward: { metrics: [{ url: 'http://127.0.0.1:1/x' }] }, scrape_configs: [{ job_name: 'j', scrape_interval: '1h' }] }).scrape_configs[0]!;
  const manager = new ScrapeManager([cfg], { scrapeIntervalMs: 3_600_000, scrapeTimeoutMs: 10_000, externalLabels: {} }, sink, pino({ level: 'silent' }));
  try {
    await manager.sync('j', [{ __address__: `127.0.0.1:${port}` }]);
    assert.equal(manager.targets().length, 1);
    for (let i = 0; i < 500 && !written.some((r) => r.labels.__name__ === 'm'); i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(written.find((r) => r.labels.__name__ === 'up')?.samples?.[0]?.value, 1);
    written.length = 0;
    await manager.sync('j', []);
    assert.equal(manager.targets().length, 0);
    const stale = written.filter((r) => isStaleNaN(r.samples![0]!.value)).map((r) => r.labels.__name__).sort();
    assert.deepEqual(stale, ['m', 'scrape_duration_seconds', 'scrape_samples_post_metric_relabeling', 'scrape_samples_scraped', 'scrape_series_added', 'up']);
  } finally {
    await manager.stop();
    server.close();
  }
});
