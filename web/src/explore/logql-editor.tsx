import { autocompletion } from '@codemirror/autocomplete';
import { LRLanguage } from '@codemirror/language';
import { parser } from '@grafana/lezer-logql';
import { styleTags, tags } from '@lezer/highlight';
import { lokiLabels } from '../datasource/loki.ts';
import { cachedLabelSource, logqlCompletion } from './logql-completion.ts';
import { useQueryEditor } from './query-editor-view.ts';
import type { QueryEditorProps } from './query-editor-view.ts';

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

/**
 * The LogQL editor: highlighting with Grafana's grammar, completion of label names and values (from the pane's
 * Loki source, as its org) and of pipeline stages; Shift+Enter or Ctrl+Enter runs the query. Loaded lazily.
 */
export default function LogqlEditor(props: QueryEditorProps & { datasourceUid: string; org: string }): React.JSX.Element {
  const host = useQueryEditor(
    props,
    () => {
      const labels = cachedLabelSource(
        () => lokiLabels(props.datasourceUid, props.org),
        (name) => lokiLabels(props.datasourceUid, props.org, name),
      );
      return { extensions: [logql, autocompletion({ override: [logqlCompletion(labels)] })] };
    },
    'Enter a LogQL query, e.g. {app="api"} |= "error" (Shift+Enter to run)',
    [props.datasourceUid, props.org],
  );
  return <div ref={host} className="query-editor" data-testid="logql-editor" />;
}
