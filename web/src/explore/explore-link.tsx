import { createContext, useContext } from 'react';
import { navigate, useLocation } from '../shell/router.ts';
import { exploreHref, splitViewHref } from './correlations.ts';
import type { ExploreLink, PanePrefix } from './correlations.ts';

/** The Explore pane a component is drawn in (its URL prefix); absent outside Explore (a dashboard panel). */
export const PaneContext = createContext<PanePrefix | undefined>(undefined);

/**
 * Where a link between signals leads from here: inside an Explore pane, the split view with the target beside
 * this pane over the same time range; elsewhere, Explore with the link's own range.
 */
export function useExploreHref(): (link: ExploreLink) => string {
  const pane = useContext(PaneContext);
  const { params } = useLocation();
  return (link) => (pane === undefined ? exploreHref(link) : splitViewHref(params, pane, link));
}

/** An anchor to another Explore view: a real link (open in a new tab works), followed in place on a plain click. */
export function ExploreAnchor(props: { link: ExploreLink; children: React.ReactNode; testId?: string; className?: string }): React.JSX.Element {
  const href = useExploreHref()(props.link);
  return (
    <a
      href={href}
      className={props.className}
      data-testid={props.testId}
      onClick={(e) => {
        if (e.ctrlKey || e.metaKey || e.shiftKey) return;
        e.preventDefault();
        navigate(href);
      }}
    >
      {props.children}
    </a>
  );
}
