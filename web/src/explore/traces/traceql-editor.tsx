import { useEffect, useRef } from 'react';
import { autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap } from '@codemirror/autocomplete';
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { LRLanguage, bracketMatching, syntaxHighlighting } from '@codemirror/language';
import { EditorState, Prec } from '@codemirror/state';
import { EditorView, keymap, placeholder } from '@codemirror/view';
import { parser } from '@grafana/lezer-traceql';
import { styleTags, tags } from '@lezer/highlight';
import { editorHighlight, editorTheme } from '../editor-theme.ts';
import { traceqlCompletion } from './traceql-completion.ts';
import type { TagSource } from './traceql-completion.ts';

/** TraceQL with Grafana's grammar (`@grafana/lezer-traceql`), which ships no highlighting of its own. */
const traceql = LRLanguage.define({
  parser: parser.configure({
    props: [
      styleTags({
        'Resource Span Event Link Instrumentation Parent': tags.keyword,
        'IntrinsicField Identifier': tags.propertyName,
        'Aggregate MetricsOperationBasicType MetricsOperationHistogram MetricsOperationQuantile MetricsOverTimeType MetricsAggregatorFunctionType GroupOperation SelectOperation CoalesceOperation With':
          tags.function(tags.variableName),
        String: tags.string,
        'Integer Float Duration': tags.number,
        Static: tags.atom,
        'FieldOp ScalarOp ComparisonOp And Or Gt Lt Desc Anc Pipe ExperimentalOp UnionStructuralOp': tags.operator,
        'LineComment BlockComment': tags.comment,
      }),
    ],
  }),
  languageData: { closeBrackets: { brackets: ['(', '[', '{', '"'] }, commentTokens: { line: '//', block: { open: '/*', close: '*/' } } },
});

/**
 * The TraceQL editor: highlighting with Grafana's grammar and completion of scopes, attributes and values from the
 * Tempo tag APIs; Shift+Enter or Ctrl+Enter runs the query. Loaded lazily.
 */
export default function TraceqlEditor(props: { value: string; onChange: (value: string) => void; onRun: (value: string) => void; tags: TagSource }): React.JSX.Element {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const callbacks = useRef(props);
  callbacks.current = props;

  useEffect(() => {
    if (!host.current) return undefined;
    const run = (v: EditorView): boolean => {
      callbacks.current.onRun(v.state.doc.toString());
      return true;
    };
    const v = new EditorView({
      parent: host.current,
      state: EditorState.create({
        doc: callbacks.current.value,
        extensions: [
          history(),
          closeBrackets(),
          bracketMatching(),
          autocompletion({ override: [traceqlCompletion(props.tags)], activateOnTyping: true }),
          Prec.highest(keymap.of([{ key: 'Shift-Enter', run }, { key: 'Mod-Enter', run }])),
          keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap, ...completionKeymap]),
          placeholder('Enter a TraceQL query, e.g. { resource.service.name = "api" && status = error } (Shift+Enter to run)'),
          traceql,
          syntaxHighlighting(editorHighlight),
          editorTheme,
          EditorView.lineWrapping,
          EditorView.updateListener.of((u) => {
            if (u.docChanged) callbacks.current.onChange(u.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = v;
    return () => {
      v.destroy();
      view.current = null;
    };
  }, [props.tags]);

  useEffect(() => {
    const v = view.current;
    if (v && v.state.doc.toString() !== props.value) v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: props.value } });
  }, [props.value]);

  return <div ref={host} className="query-editor" data-testid="traceql-editor" />;
}
