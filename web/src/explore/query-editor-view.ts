import { useEffect, useRef } from 'react';
import type { RefObject } from 'react';
import { closeBrackets, closeBracketsKeymap, completionKeymap } from '@codemirror/autocomplete';
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { bracketMatching, syntaxHighlighting } from '@codemirror/language';
import { EditorState, Prec } from '@codemirror/state';
import type { Extension } from '@codemirror/state';
import { EditorView, keymap, placeholder } from '@codemirror/view';
import { editorHighlight, editorTheme } from './editor-theme.ts';

/** What a query editor is given: its text, and what to do when it changes or is run (Shift+Enter, Ctrl+Enter). */
export interface QueryEditorProps {
  readonly value: string;
  readonly onChange: (value: string) => void;
  readonly onRun: (value: string) => void;
}

/**
 * A CodeMirror 6 query editor in the UI's theme (history, bracket closing and matching, Shift/Ctrl+Enter runs,
 * line wrapping) with the language's extensions, mounted on the returned element. `language` is called on every
 * (re)build of the view, which happens when `deps` change (e.g. the data source its completion asks); its `dispose`
 * runs when that view goes. A value changed from outside replaces the document.
 */
export function useQueryEditor(
  props: QueryEditorProps,
  language: () => { extensions: Extension[]; dispose?: () => void },
  placeholderText: string,
  deps: readonly unknown[],
): RefObject<HTMLDivElement | null> {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const callbacks = useRef(props);
  callbacks.current = props;

  useEffect(() => {
    if (!host.current) return undefined;
    const lang = language();
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
          keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap, ...completionKeymap]),
          placeholder(placeholderText),
          ...lang.extensions,
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
      lang.dispose?.();
      view.current = null;
    };
    // The caller names what rebuilds the view.
  }, deps);

  useEffect(() => {
    const v = view.current;
    if (v && v.state.doc.toString() !== props.value) v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: props.value } });
  }, [props.value]);

  return host;
}
