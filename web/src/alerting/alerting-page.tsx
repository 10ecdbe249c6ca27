import { useCallback, useEffect, useState } from 'react';
import type { DatasourceRef } from '../shell/settings.ts';
import { createSilence, expireSilence, fetchNotifierConfig, fetchRuleGroups, fetchSilences } from './alertmanager-api.ts';
import type { ApiRuleGroup, ContactPoint, RouteNode, Silence, SilenceMatcher } from './alertmanager-api.ts';
import './alerting.css';

/** A LogQL rule's expression starts from a stream selector (`{app="x"}`); PromQL never has a bare `{` there. */
const isLogql = (expr: string): boolean => /(^|[(\s,])\{/.test(expr);

/**
 * `/alerting`: the org's rule groups with each rule's state, the firing and pending alerts with labels and
 * annotations (each linking to Explore with its rule's query), silences (create, expire), and the built-in
 * notifier's contact points and routing tree (read-only, from its configuration).
 */
export default function AlertingPage(props: { org: string; datasources: readonly DatasourceRef[] }): React.JSX.Element {
  const prom = props.datasources.find((d) => d.type === 'prometheus');
  const loki = props.datasources.find((d) => d.type === 'loki');
  const [groups, setGroups] = useState<ApiRuleGroup[] | undefined>();
  const [silences, setSilences] = useState<Silence[] | undefined>();
  const [notifier, setNotifier] = useState<{ route: RouteNode; contactPoints: ContactPoint[] } | null | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [reload, setReload] = useState(0);
  const fail = useCallback((err: unknown) => setError((err as Error).message), []);

  useEffect(() => {
    let live = true;
    if (prom) fetchRuleGroups(prom.uid, props.org).then((g) => live && setGroups(g), fail);
    fetchSilences(props.org).then((s) => live && setSilences(s), (err: unknown) => live && (String(err).includes(': 404 ') ? setSilences([]) : fail(err)));
    fetchNotifierConfig(props.org).then((c) => live && setNotifier(c ?? null), fail);
    return () => {
      live = false;
    };
  }, [props.org, prom, reload, fail]);

  const exploreLink = (expr: string): string => {
    const ds = isLogql(expr) && loki ? loki : prom;
    return `/explore?${new URLSearchParams({ org: props.org, ...(ds ? { ds: ds.uid } : {}), expr }).toString()}`;
  };
  const alerts = (groups ?? []).flatMap((g) => g.rules.flatMap((r) => (r.alerts ?? []).map((a) => ({ group: g, rule: r, alert: a }))));

  return (
    <div className="page alerting-page" data-testid="alerting-page">
      <div className="toolbar">
        <h1>Alerting</h1>
        <div className="spacer" />
        <button type="button" className="btn" onClick={() => setReload((n) => n + 1)}>
          Refresh
        </button>
      </div>
      {error && <div className="error-box">{error}</div>}

      <section data-testid="alerts">
        <h2>Firing and pending alerts</h2>
        {groups === undefined ? (
          <div className="loading-page">Loading…</div>
        ) : alerts.length === 0 ? (
          <div className="empty">No alert is pending or firing.</div>
        ) : (
          <table className="result-table">
            <thead>
              <tr>
                <th>State</th>
                <th>Alert</th>
                <th>Labels</th>
                <th>Annotations</th>
                <th>Active since</th>
                <th>Value</th>
              </tr>
            </thead>
            <tbody>
              {alerts.map(({ group, rule, alert }) => (
                <tr key={`${group.file}/${group.name}/${rule.name}/${JSON.stringify(alert.labels)}`} data-testid="alert-row" data-state={alert.state}>
                  <td>
                    <span className={`badge state-${alert.state}`}>{alert.state}</span>
                  </td>
                  <td>
                    <a href={exploreLink(rule.query)} data-testid="alert-explore-link">
                      {rule.name}
                    </a>
                  </td>
                  <td>
                    <Labels labels={alert.labels} />
                  </td>
                  <td>
                    <Labels labels={alert.annotations} />
                  </td>
                  <td>{alert.activeAt}</td>
                  <td>{alert.value}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <section data-testid="rule-groups">
        <h2>Rule groups</h2>
        {(groups ?? []).length === 0 && groups !== undefined && <div className="empty">No rule groups. Load them through the ruler API or rules.dir.</div>}
        {(groups ?? []).map((g) => (
          <details key={`${g.file}/${g.name}`} open className="rule-group" data-testid="rule-group">
            <summary>
              <b>{g.file}</b> / {g.name} <span className="muted">every {g.interval}s, last evaluated {g.lastEvaluation}</span>
            </summary>
            <table className="result-table">
              <tbody>
                {g.rules.map((r) => (
                  <tr key={r.name + r.query} data-testid="rule-row">
                    <td>
                      <span className={`badge state-${r.state ?? 'recording'}`}>{r.type === 'alerting' ? r.state : 'recording'}</span>
                    </td>
                    <td>{r.name}</td>
                    <td>
                      <a href={exploreLink(r.query)}>
                        <code>{r.query}</code>
                      </a>
                    </td>
                    <td className={r.health === 'ok' ? '' : 'error-text'}>{r.health === 'ok' ? 'ok' : `${r.health}: ${r.lastError ?? ''}`}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </details>
        ))}
      </section>

      <Silences org={props.org} silences={silences} onChange={() => setReload((n) => n + 1)} onError={fail} />

      <section data-testid="contact-points">
        <h2>Contact points and routing</h2>
        {notifier === undefined ? (
          <div className="loading-page">Loading…</div>
        ) : notifier === null ? (
          <div className="empty">The built-in notifier is off (alerts go to external Alertmanagers).</div>
        ) : (
          <>
            <table className="result-table">
              <thead>
                <tr>
                  <th>Contact point</th>
                  <th>Integrations</th>
                </tr>
              </thead>
              <tbody>
                {notifier.contactPoints.map((c) => (
                  <tr key={c.name} data-testid="contact-point">
                    <td>{c.name}</td>
                    <td>{c.integrations.length === 0 ? <span className="muted">none</span> : c.integrations.map((i) => `${i.kind} (${i.target})`).join(', ')}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <h3>Routing tree</h3>
            <ul className="route-tree" data-testid="route-tree">
              <RouteView route={notifier.route} />
            </ul>
          </>
        )}
      </section>
    </div>
  );
}

function Labels(props: { labels: Readonly<Record<string, string>> }): React.JSX.Element {
  return (
    <span className="fields">
      {Object.entries(props.labels).map(([k, v]) => (
        <span key={k} className="tag">
          {k}={v}
        </span>
      ))}
    </span>
  );
}

function RouteView(props: { route: RouteNode }): React.JSX.Element {
  const r = props.route;
  const matchers = [...(r.matchers ?? []), ...Object.entries(r.match ?? {}).map(([k, v]) => `${k}="${v}"`), ...Object.entries(r.match_re ?? {}).map(([k, v]) => `${k}=~"${v}"`)];
  return (
    <li data-testid="route">
      <span className="tag">{matchers.length === 0 ? 'every alert' : matchers.join(', ')}</span> → <b>{r.receiver ?? '(inherited)'}</b>
      {r.group_by && <span className="muted"> grouped by {r.group_by.join(', ')}</span>}
      {r.continue && <span className="muted"> (continue)</span>}
      {(r.mute_time_intervals ?? []).length > 0 && <span className="muted"> muted during {r.mute_time_intervals!.join(', ')}</span>}
      {(r.active_time_intervals ?? []).length > 0 && <span className="muted"> active only during {r.active_time_intervals!.join(', ')}</span>}
      {(r.routes ?? []).length > 0 && (
        <ul>
          {(r.routes ?? []).map((c, i) => (
            <RouteView key={i} route={c} />
          ))}
        </ul>
      )}
    </li>
  );
}

/** Parses `name=value`, `name!=value`, `name=~re`, `name!~re` (quotes optional), one per comma. */
function parseMatcherText(text: string): SilenceMatcher[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => {
      const m = /^([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"?(.*?)"?$/.exec(s);
      if (!m) throw new Error(`"${s}" is not a matcher (name=value, name!=value, name=~regex, name!~regex)`);
      return { name: m[1]!, value: m[3]!, isRegex: m[2]!.includes('~'), isEqual: !m[2]!.startsWith('!') };
    });
}

function Silences(props: { org: string; silences: Silence[] | undefined; onChange: () => void; onError: (err: unknown) => void }): React.JSX.Element {
  const [matchers, setMatchers] = useState('');
  const [hours, setHours] = useState('2');
  const [comment, setComment] = useState('');
  const [formError, setFormError] = useState<string | undefined>();
  const submit = (e: React.FormEvent): void => {
    e.preventDefault();
    setFormError(undefined);
    try {
      const now = Date.now();
      const body = {
        matchers: parseMatcherText(matchers),
        startsAt: new Date(now).toISOString(),
        endsAt: new Date(now + Number(hours) * 3600_000).toISOString(),
        createdBy: 'heimdall-ui',
        comment,
      };
      createSilence(props.org, body).then(() => {
        setMatchers('');
        setComment('');
        props.onChange();
      }, (err: unknown) => setFormError((err as Error).message));
    } catch (err) {
      setFormError((err as Error).message);
    }
  };
  return (
    <section data-testid="silences">
      <h2>Silences</h2>
      <form className="options-row" onSubmit={submit} data-testid="silence-form">
        <input type="text" placeholder='alertname="NoisyCheck", namespace="team-a"' value={matchers} onChange={(e) => setMatchers(e.target.value)} aria-label="Matchers" size={40} />
        <label>
          for <input type="number" min="0.1" step="0.1" value={hours} onChange={(e) => setHours(e.target.value)} aria-label="Hours" style={{ width: '5em' }} /> h
        </label>
        <input type="text" placeholder="Comment" value={comment} onChange={(e) => setComment(e.target.value)} aria-label="Comment" />
        <button type="submit" className="btn primary">
          Create silence
        </button>
      </form>
      {formError && <div className="error-box">{formError}</div>}
      {props.silences === undefined ? (
        <div className="loading-page">Loading…</div>
      ) : props.silences.length === 0 ? (
        <div className="empty">No silences.</div>
      ) : (
        <table className="result-table">
          <thead>
            <tr>
              <th>State</th>
              <th>Matchers</th>
              <th>Ends</th>
              <th>Comment</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {props.silences.map((s) => (
              <tr key={s.id} data-testid="silence-row" data-state={s.status.state}>
                <td>
                  <span className={`badge state-${s.status.state}`}>{s.status.state}</span>
                </td>
                <td>{s.matchers.map((m) => `${m.name}${m.isRegex ? (m.isEqual ? '=~' : '!~') : m.isEqual ? '=' : '!='}"${m.value}"`).join(', ')}</td>
                <td>{s.endsAt}</td>
                <td>
                  {s.comment} <span className="muted">by {s.createdBy}</span>
                </td>
                <td>
                  {s.status.state !== 'expired' && (
                    <button type="button" className="btn" onClick={() => expireSilence(props.org, s.id).then(props.onChange, props.onError)}>
                      Expire
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
