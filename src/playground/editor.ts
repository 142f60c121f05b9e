// The CodeMirror 6 editor: `.nn` highlighting from the grammar's own token
// patterns (grammar/tokens.ts, the lexer's), nnc's diagnostics pushed in from
// the compiler Worker, a hover with a value's shape, and the cursor's line
// reported so the graphs can mark its nodes.
import { basicSetup, EditorView } from "codemirror";
import { StreamLanguage, type StringStream } from "@codemirror/language";
import { lintGutter, setDiagnostics, type Diagnostic } from "@codemirror/lint";
import { hoverTooltip } from "@codemirror/view";
import { CallIdent, Comment, Ident, KEYWORD_WORDS, Number as NumberToken, StringLit } from "../../grammar/tokens.ts";
import type { PageDiagnostic } from "./protocol.ts";

/** A token's pattern from the grammar, as the editor's stream matcher reads it (anchored where the stream stands). */
const pattern = (t: { PATTERN?: unknown }): RegExp => {
  if (!(t.PATTERN instanceof RegExp)) throw new Error("internal: a highlighted token has no regular expression");
  return new RegExp(t.PATTERN.source);
};
const COMMENT = pattern(Comment);
const NUMBER = pattern(NumberToken);
const STRING = pattern(StringLit);
const CALL = pattern(CallIdent);
const IDENT = pattern(Ident);

const nnLanguage = StreamLanguage.define<null>({
  name: "nn",
  startState: () => null,
  token(stream: StringStream): string | null {
    if (stream.eatSpace()) return null;
    if (stream.match(COMMENT)) return "comment";
    if (stream.match(NUMBER)) return "number";
    if (stream.match(STRING)) return "string";
    if (stream.match(CALL)) return "variableName.function";
    const word = stream.match(IDENT) as RegExpMatchArray | null;
    if (word) return KEYWORD_WORDS.has(word[0]) ? "keyword" : "variableName";
    stream.next();
    return /[()[\]]/.test(stream.current()) ? "bracket" : "operator";
  },
  languageData: { commentTokens: { line: "#" } },
});

export interface EditorHooks {
  onChange(text: string): void;
  onCursorLine(line: number): void;
  /** The shape of a named value, for the hover; undefined when unknown. */
  shapeOf(name: string): string | undefined;
}

const shapeHover = (hooks: EditorHooks) =>
  hoverTooltip((view, pos) => {
    const word = view.state.wordAt(pos);
    if (!word) return null;
    const name = view.state.sliceDoc(word.from, word.to);
    const shape = hooks.shapeOf(name);
    if (shape === undefined) return null;
    return {
      pos: word.from,
      end: word.to,
      create: () => {
        const dom = document.createElement("div");
        dom.className = "nn-shape";
        dom.textContent = `${name}: ${shape}`;
        return { dom };
      },
    };
  });

export function createEditor(parent: HTMLElement, text: string, hooks: EditorHooks): EditorView {
  return new EditorView({
    doc: text,
    parent,
    extensions: [
      basicSetup,
      EditorView.lineWrapping,
      nnLanguage,
      lintGutter(),
      shapeHover(hooks),
      EditorView.updateListener.of((u) => {
        if (u.docChanged) hooks.onChange(u.state.doc.toString());
        if (u.selectionSet || u.docChanged) hooks.onCursorLine(u.state.doc.lineAt(u.state.selection.main.head).number);
      }),
    ],
  });
}

/** Shows nnc's diagnostics in the editor: underlined spans, gutter marks, the message and help on hover. */
export function showDiagnostics(view: EditorView, diags: readonly PageDiagnostic[]): void {
  const len = view.state.doc.length;
  const items: Diagnostic[] = diags.map((d) => ({
    from: Math.min(d.from, len),
    to: Math.min(Math.max(d.to, d.from), len),
    severity: d.severity,
    source: d.code,
    message: d.rendered,
  }));
  view.dispatch(setDiagnostics(view.state, items));
}

/** Selects a 1-based line and scrolls to it: a graph node's way back to its source. */
export function revealLine(view: EditorView, line: number): void {
  const l = view.state.doc.line(Math.max(1, Math.min(line, view.state.doc.lines)));
  view.dispatch({ selection: { anchor: l.from, head: l.to }, scrollIntoView: true });
  view.focus();
}

export function replaceText(view: EditorView, text: string): void {
  view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
}
