import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AlertingRule } from './alerting-rule.ts';
import type { AlertEvalContext } from './alerting-rule.ts';
import type { RuleSpec } from './rule-file.ts';

const spec = (over: Partial<RuleSpec> = {}): RuleSpec => ({ alert: 'A', expr: 'x', forMs: 2000, keepFiringForMs: 0, labels: {}, annotations: {}, ...over });
const ctx = (timestampMs: number, limit = 0): AlertEvalContext => ({ timestampMs, externalLabels: {}, externalUrl: '', limit, templateQuery: async () => [] });
const hit = [{ labels: { __name__: 'x', i: '1' }, value: 5 }];

describe('alerting rule state machine (Prometheus semantics)', () => {
  test('pending, firing after for, resolved, then forgotten after the retention', async () => {
    const r = new AlertingRule(spec());
    r.restored = true; // as after the first evaluation of a running ruler
    let out = await r.apply(hit, ctx(1000));
    assert.deepEqual(out.map((s) => [s.labels.__name__, s.labels.alertstate, s.value]), [['ALERTS', 'pending', 1], ['ALERTS_FOR_STATE', undefined, 1]]);
    assert.equal(r.alertsToSend(1000, 60_000, 1000, {}, '').length, 0, 'pending alerts are not sent');
    out = await r.apply(hit, ctx(3000));
    assert.equal(out[0]!.labels.alertstate, 'firing');
    const sent = r.alertsToSend(3000, 60_000, 1000, { cluster: 'c' }, 'g');
    assert.deepEqual(sent, [{ labels: { cluster: 'c', i: '1', alertname: 'A' }, annotations: {}, startsAt: new Date(3000).toISOString(), endsAt: new Date(3000 + 240_000).toISOString(), generatorURL: 'g' }]);
    assert.equal(r.alertsToSend(4000, 60_000, 1000, {}, '').length, 0, 'not resent before the resend delay');
    out = await r.apply([], ctx(5000));
    assert.deepEqual(out, []);
    assert.equal([...r.active.values()][0]!.state, 'inactive');
    assert.equal(r.alertsToSend(5000, 60_000, 1000, {}, '')[0]!.endsAt, new Date(5000).toISOString(), 'resolved alerts are sent once with endsAt');
    await r.apply([], ctx(5000 + 16 * 60_000));
    assert.equal(r.active.size, 0);
  });

  test('keep_firing_for holds a firing alert, a pending alert is dropped at once', async () => {
    const r = new AlertingRule(spec({ forMs: 0, keepFiringForMs: 5000 }));
    await r.apply(hit, ctx(0));
    assert.equal([...r.active.values()][0]!.state, 'firing', 'for: 0 fires on the first evaluation');
    await r.apply([], ctx(1000));
    assert.equal([...r.active.values()][0]!.state, 'firing');
    await r.apply([], ctx(6000));
    assert.equal([...r.active.values()][0]!.state, 'inactive');
    const p = new AlertingRule(spec({ forMs: 10_000 }));
    p.restored = true;
    await p.apply(hit, ctx(0));
    await p.apply([], ctx(1000));
    assert.equal(p.active.size, 0);
  });

  test('limit and label collisions fail the evaluation and clear the alerts', async () => {
    const r = new AlertingRule(spec({ forMs: 0 }));
    await assert.rejects(r.apply([...hit, { labels: { i: '2' }, value: 1 }], ctx(0, 1)), /exceeded limit of 1 with 2 alerts/);
    await assert.rejects(r.apply([{ labels: { __name__: 'a', i: '1' }, value: 1 }, { labels: { __name__: 'b', i: '1' }, value: 1 }], ctx(0)), /same labelset after applying alert labels/);
    assert.equal(r.active.size, 0);
  });

  test('for state is restored from ALERTS_FOR_STATE, shifted by the downtime or given the grace period', async () => {
    const opts = { outageToleranceMs: 3_600_000, forGracePeriodMs: 600_000 };
    const r = new AlertingRule(spec({ forMs: 3_600_000 }));
    assert.deepEqual(await r.apply(hit, ctx(1_000_000)), [], 'nothing is written before the restore');
    // Active since t=100 s, last written at t=400 s (down for 600 s): 300 s of the hour were spent pending.
    r.restore([{ labels: { __name__: 'ALERTS_FOR_STATE', alertname: 'A', i: '1' }, points: [[400_000, 100]] }], 1_000_000, opts);
    assert.equal([...r.active.values()][0]!.activeAtMs, 100_000 + 600_000);
    const g = new AlertingRule(spec({ forMs: 3_600_000 }));
    await g.apply(hit, ctx(5_000_000));
    // 3 300 s spent of 3 600: less than the grace period remains, so it fires no earlier than the grace period.
    g.restore([{ labels: { alertname: 'A', i: '1' }, points: [[3_400_000, 100]] }], 5_000_000, opts);
    assert.equal([...g.active.values()][0]!.activeAtMs, 5_000_000 + 600_000 - 3_600_000);
    assert.equal(g.stateSamples().length, 2);
  });
});
