import { navigate } from './router.ts';
import type { FrontendSettings } from './settings.ts';

/** The first page: where to go, the org and its tenants, and the data sources. Kept light (it is the first load). */
export function HomePage(props: { settings: FrontendSettings; org: string }): React.JSX.Element {
  const org = props.settings.orgs.find((o) => o.name === props.org);
  const go = (params: string) => (e: React.MouseEvent) => {
    e.preventDefault();
    navigate(`/explore?org=${encodeURIComponent(props.org)}&${params}`);
  };
  return (
    <div className="page home">
      <h1>Welcome to Heimdall</h1>
      <p>
        Org <strong>{props.org}</strong> reads tenant{org && org.tenants.length > 1 ? 's' : ''} <code>{org?.tenants.join(' | ')}</code>
        {props.settings.multitenancy ? '' : ' (multi-tenancy is off: every query reads the single tenant)'}.
      </p>
      <h2>Data sources</h2>
      <ul className="datasource-list">
        {props.settings.datasources.map((d) => (
          <li key={d.uid}>
            <a href={`/explore?ds=${d.uid}`} onClick={go(`ds=${encodeURIComponent(d.uid)}`)}>
              {d.name}
            </a>{' '}
            <span className="muted">
              {d.type}, {d.embedded ? 'embedded engine' : 'remote, through Heimdall’s proxy'}
            </span>
          </li>
        ))}
      </ul>
      <p className="muted">Heimdall {props.settings.version}</p>
    </div>
  );
}
