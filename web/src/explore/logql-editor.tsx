import { useEffect, useRef } from 'react';
import { closeBrackets, closeBracketsKeymap } from '@codemirror/autocomplete';
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { LRLanguage, bracketMatching, syntaxHighlighting } from '@codemirror/language';
import { EditorState, Prec } from '@codemirror/state';
import { EditorView, keymap, placeholder } from '@codemirror/view';
import { parser } from '@grafana/lezer-logql';
import { styleTags, tags } from '@lezer/highlight';
import { editorHighlight, editorTheme } from './editor-theme.ts';

/** LogQL with Grafana's grammar (`@grafana/lezer-logql`, which ships no highlighting of its own). */
const logql = LRLanguage.define({
  parser: parser.configure({
    props: [
      styleTags({
        'Json Logfmt Unpack Pattern Regexp Unwrap LabelFormat LineFormat Decolorize Drop Keep Offset Bool On Ignoring GroupLeft GroupRight By Without And Or Unless Ip':
          tags.keyword,
        'CountOverTime Rate RateCounter BytesOverTime BytesRate AvgOverTime SumOverTime MinOverTime MaxOverTime StddevOverTime StdvarOverTime QuantileOverTime FirstOverTime LastOverTime AbsentOverTime Sum Avg Count Max Min Stddev Stdvar Bottomk Topk Sort Sort_Desc Vector LabelReplace BytesConv DurationConv DurationSecondsConv':
          tags.function(tags.variableName),
        'Identifier LabelName': tags.labelName,
        String: tags.string,
        'Number Duration Bytes': tags.number,
        'Eq Neq Re Nre PipeExact PipeMatch PipePattern Npa Pipe Gtr Gte Lss Lte Eql Add Sub Mul Div Mod Pow': tags.operator,
        LineComment: tags.comment,
      }),
    ],
  }),
  languageData: { closeBrackets: { brackets: ['(', '[', '{', '"', '`'] }, commentTokens: { line: '#' } },
});

/** The LogQL editor: highlighting with Grafana's grammar; Shift+Enter or Ctrl+Enter runs the query. Loaded lazily. */
export default function LogqlEditor(props: { value: string; onChange: (value: string) => void; onRun: (value: string) => void }): React.JSX.Element {
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
          Prec.highest(keymap.of([{ key: 'Shift-Enter', run }, { key: 'Mod-Enter', run }])),
          keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap]),
          placeholder('Enter a LogQL query, e.g. {app="api"} |= "error" (Shift+Enter to run)'),
          logql,
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
  }, []);

  useEffect(() => {
    const v = view.current;
    if (v && v.state.doc.toString() !== props.value) v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: props.value } });
  }, [props.value]);

  return <div ref={host} className="query-editor" data-testid="logql-editor" />;
}
