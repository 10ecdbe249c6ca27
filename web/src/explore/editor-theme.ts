import { HighlightStyle } from '@codemirror/language';
import { EditorView } from '@codemirror/view';
import { tags } from '@lezer/highlight';

/** Token colours of the query editors (PromQL and LogQL share them). */
export const editorHighlight = HighlightStyle.define([
  { tag: tags.keyword, color: '#c792ea' },
  { tag: [tags.function(tags.variableName), tags.function(tags.name)], color: '#82aaff' },
  { tag: [tags.labelName, tags.propertyName], color: '#ffcb6b' },
  { tag: tags.string, color: '#c3e88d' },
  { tag: [tags.number, tags.unit], color: '#f78c6c' },
  { tag: tags.operator, color: '#89ddff' },
  { tag: tags.comment, color: '#676e95', fontStyle: 'italic' },
  { tag: tags.invalid, color: '#ff5370' },
]);

/** The editors' frame in the UI's dark theme. */
export const editorTheme = EditorView.theme(
  {
    '&': { backgroundColor: '#111217', color: '#d8d9da', border: '1px solid #343942', borderRadius: '4px', fontSize: '13px' },
    '&.cm-focused': { outline: '1px solid #3d71d9' },
    '.cm-content': { fontFamily: 'ui-monospace, SFMono-Regular, Menlo, monospace', padding: '6px 0', caretColor: '#d8d9da' },
    '.cm-tooltip': { backgroundColor: '#1f2128', border: '1px solid #343942' },
    '.cm-tooltip-autocomplete ul li[aria-selected]': { backgroundColor: '#3d71d9', color: '#fff' },
    '.cm-placeholder': { color: '#6e7380' },
  },
  { dark: true },
);
