import { autocompletion } from '@codemirror/autocomplete';
import { LRLanguage } from '@codemirror/language';
import { parser } from '@grafana/lezer-traceql';
import { styleTags, tags } from '@lezer/highlight';
import { useQueryEditor } from '../query-editor-view.ts';
import type { QueryEditorProps } from '../query-editor-view.ts';
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
export default function TraceqlEditor(props: QueryEditorProps & { tags: TagSource }): React.JSX.Element {
  const host = useQueryEditor(
    props,
    () => ({ extensions: [autocompletion({ override: [traceqlCompletion(props.tags)], activateOnTyping: true }), traceql] }),
    'Enter a TraceQL query, e.g. { resource.service.name = "api" && status = error } (Shift+Enter to run)',
    [props.tags],
  );
  return <div ref={host} className="query-editor" data-testid="traceql-editor" />;
}
