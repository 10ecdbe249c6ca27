import { Suspense, lazy, useEffect, useState } from 'react';
import { HomePage } from './home-page.tsx';
import { navigate, updateParams, useLocation } from './router.ts';
import { loadSettings } from './settings.ts';
import type { FrontendSettings } from './settings.ts';

const ExplorePage = lazy(() => import('../explore/explore-page.tsx'));
const DashboardsListPage = lazy(() => import('../dashboards/dashboards-list-page.tsx'));
const DashboardPage = lazy(() => import('../dashboards/dashboard-page.tsx'));
const AlertingPage = lazy(() => import('../alerting/alerting-page.tsx'));

const ORG_STORAGE_KEY = 'heimdall.org';

/**
 * The org the UI acts as: the URL's `org` when it names a configured org (links carry it), else the last one
 * chosen in this browser, else the first configured.
 */
function currentOrg(settings: FrontendSettings, fromUrl: string | null): string {
  const names = settings.orgs.map((o) => o.name);
  if (fromUrl && names.includes(fromUrl)) return fromUrl;
  const stored = window.localStorage.getItem(ORG_STORAGE_KEY);
  if (stored && names.includes(stored)) return stored;
  return names[0] ?? 'default';
}

/** The shell: top bar (navigation, org switcher) and the page of the current path. */
export function App(): React.JSX.Element {
  const [settings, setSettings] = useState<FrontendSettings | undefined>();
  const [loadError, setLoadError] = useState<string | undefined>();
  const { path, params } = useLocation();
  useEffect(() => {
    loadSettings().then(setSettings, (err: unknown) => setLoadError((err as Error).message));
  }, []);
  if (loadError) return <div className="error-box">Heimdall's settings could not be loaded: {loadError}</div>;
  if (!settings) return <div className="loading-page">Loading…</div>;
  const org = currentOrg(settings, params.get('org'));
  const switchOrg = (name: string): void => {
    window.localStorage.setItem(ORG_STORAGE_KEY, name);
    updateParams({ org: name });
  };
  const link = (to: string) => (e: React.MouseEvent) => {
    e.preventDefault();
    navigate(`${to}?org=${encodeURIComponent(org)}`);
  };
  const orgInfo = settings.orgs.find((o) => o.name === org);

  return (
    <div className="app">
      <header className="topbar">
        <a href="/" className="brand" onClick={link('/')}>
          Heimdall
        </a>
        <nav>
          <a href="/explore" className={path === '/explore' ? 'active' : ''} onClick={link('/explore')}>
            Explore
          </a>
          <a href="/dashboards" className={path === '/dashboards' || path.startsWith('/d/') ? 'active' : ''} onClick={link('/dashboards')}>
            Dashboards
          </a>
          <a href="/alerting" className={path === '/alerting' ? 'active' : ''} onClick={link('/alerting')}>
            Alerting
          </a>
        </nav>
        <div className="spacer" />
        <label className="org-switcher" title={orgInfo ? `tenants: ${orgInfo.tenants.join(' | ')}` : undefined}>
          Org
          <select value={org} onChange={(e) => switchOrg(e.target.value)} data-testid="org-switcher" aria-label="Org">
            {settings.orgs.map((o) => (
              <option key={o.name} value={o.name}>
                {o.name}
              </option>
            ))}
          </select>
        </label>
      </header>
      <main>
        <Suspense fallback={<div className="loading-page">Loading…</div>}>
          {path === '/explore' ? (
            <ExplorePage key={org} org={org} datasources={settings.datasources} />
          ) : path === '/dashboards' ? (
            <DashboardsListPage key={org} org={org} datasources={settings.datasources} />
          ) : path.startsWith('/d/') ? (
            // Grafana's dashboard links: /d/<uid> or /d/<uid>/<slug>.
            <DashboardPage key={`${org}/${path}`} org={org} datasources={settings.datasources} uid={decodeURIComponent(path.split('/')[2] ?? '')} />
          ) : path === '/alerting' ? (
            <AlertingPage key={org} org={org} datasources={settings.datasources} />
          ) : path === '/' ? (
            <HomePage settings={settings} org={org} />
          ) : (
            <NotFound path={path} />
          )}
        </Suspense>
      </main>
    </div>
  );
}

function NotFound(props: { path: string }): React.JSX.Element {
  return <div className="page empty">No page at {props.path}.</div>;
}
