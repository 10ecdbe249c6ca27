import { navigate } from '../shell/router.ts';
import { exploreHref } from './correlations.ts';
import type { ExploreLink } from './correlations.ts';

/** An anchor to another Explore view: a real link (open in a new tab works), followed in place on a plain click. */
export function ExploreAnchor(props: { link: ExploreLink; children: React.ReactNode; testId?: string; className?: string }): React.JSX.Element {
  const href = exploreHref(props.link);
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
