import { autocompletion } from '@codemirror/autocomplete';
import { lintKeymap } from '@codemirror/lint';
import { keymap } from '@codemirror/view';
import { PromQLExtension } from '@prometheus-io/codemirror-promql';
import { ORG_HEADER, proxyBase } from '../datasource/proxy-fetch.ts';
import { useQueryEditor } from './query-editor-view.ts';
import type { QueryEditorProps } from './query-editor-view.ts';

/**
 * The PromQL editor (CodeMirror 6 with Prometheus' own PromQL language support): highlighting, linting with
 * positions, and completion of functions, metric names, label names and values asked from the data source
 * through Heimdall's proxy as `org`. Shift+Enter or Ctrl+Enter runs the query. Loaded lazily (it is most of
 * Explore's weight).
 */
export default function PromqlEditor(props: QueryEditorProps & { datasourceUid: string; org: string }): React.JSX.Element {
  const host = useQueryEditor(
    props,
    () => {
      const promql = new PromQLExtension().setComplete({
        remote: {
          url: proxyBase(props.datasourceUid),
          httpMethod: 'GET',
          requestHeaders: new Headers({ [ORG_HEADER]: props.org }),
          cache: { maxAge: 5 * 60_000 },
        },
      });
      return { extensions: [autocompletion(), keymap.of(lintKeymap), promql.asExtension()], dispose: () => promql.destroy() };
    },
    'Enter a PromQL query (Shift+Enter to run)',
    [props.datasourceUid, props.org],
  );
  return <div ref={host} className="query-editor" data-testid="promql-editor" />;
}
