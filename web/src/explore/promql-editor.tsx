import { useEffect, useRef } from 'react';
import { autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap } from '@codemirror/autocomplete';
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { bracketMatching, syntaxHighlighting } from '@codemirror/language';
import { lintKeymap } from '@codemirror/lint';
import { EditorState, Prec } from '@codemirror/state';
import { EditorView, keymap, placeholder } from '@codemirror/view';
import { PromQLExtension } from '@prometheus-io/codemirror-promql';
import { ORG_HEADER, proxyBase } from '../datasource/proxy-fetch.ts';
import { editorHighlight, editorTheme } from './editor-theme.ts';

/**
 * The PromQL editor (CodeMirror 6 with Prometheus' own PromQL language support): highlighting, linting with
 * positions, and completion of functions, metric names, label names and values asked from the data source
 * through Heimdall's proxy as `org`. Shift+Enter or Ctrl+Enter runs the query. Loaded lazily (it is most of
 * Explore's weight).
 */
export default function PromqlEditor(props: {
  value: string;
  onChange: (value: string) => void;
  onRun: (value: string) => void;
  datasourceUid: string;
  org: string;
}): React.JSX.Element {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const callbacks = useRef(props);
  callbacks.current = props;

  useEffect(() => {
    if (!host.current) return undefined;
    const promql = new PromQLExtension().setComplete({
      remote: {
        url: proxyBase(props.datasourceUid),
        httpMethod: 'GET',
        requestHeaders: new Headers({ [ORG_HEADER]: props.org }),
        cache: { maxAge: 5 * 60_000 },
      },
    });
    const run = (v: EditorView): boolean => {
      callbacks.current.onRun(v.state.doc.toString());
      return true;
    };
    const state = EditorState.create({
      doc: callbacks.current.value,
      extensions: [
        history(),
        closeBrackets(),
        bracketMatching(),
        autocompletion(),
        Prec.highest(keymap.of([{ key: 'Shift-Enter', run }, { key: 'Mod-Enter', run }])),
        keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap, ...completionKeymap, ...lintKeymap]),
        placeholder('Enter a PromQL query (Shift+Enter to run)'),
        promql.asExtension(),
        syntaxHighlighting(editorHighlight),
        editorTheme,
        EditorView.lineWrapping,
        EditorView.updateListener.of((u) => {
          if (u.docChanged) callbacks.current.onChange(u.state.doc.toString());
        }),
      ],
    });
    const v = new EditorView({ state, parent: host.current });
    view.current = v;
    return () => {
      v.destroy();
      promql.destroy();
      view.current = null;
    };
  }, [props.datasourceUid, props.org]);

  // A value changed from outside (the URL, history navigation) replaces the document.
  useEffect(() => {
    const v = view.current;
    if (v && v.state.doc.toString() !== props.value) {
      v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: props.value } });
    }
  }, [props.value]);

  return <div ref={host} className="query-editor" data-testid="promql-editor" />;
}
