// Renders diagnostics the way rustc and esbuild do: header, location, the
// source line with carets under the span, then notes and a hint. JSON output
// carries the same content for tools.
import type { Diagnostic } from "./diagnostic.ts";
import type { Span } from "./source.ts";
import { maskUnsafe } from "./unsafe-chars.ts";

export interface RenderOptions {
  color?: boolean;
}

const ansi = {
  red: (s: string) => `\x1b[1;31m${s}\x1b[0m`,
  yellow: (s: string) => `\x1b[1;33m${s}\x1b[0m`,
  blue: (s: string) => `\x1b[1;34m${s}\x1b[0m`,
  bold: (s: string) => `\x1b[1m${s}\x1b[0m`,
};
const plain = { red: id, yellow: id, blue: id, bold: id };
function id(s: string): string {
  return s;
}

/**
 * Tabs become single spaces so that carets line up with the printed source;
 * controls, separators and bidi marks become `?`, so that a printed line can
 * neither break nor be reordered on the terminal.
 */
function visible(text: string): string {
  return maskUnsafe(text.replace(/\t/g, " "));
}

function snippet(span: Span, label: string | undefined, paint: typeof plain, caretColor: (s: string) => string): string[] {
  const file = span.file;
  const start = file.lineCol(span.start);
  const end = file.lineCol(Math.max(span.start, span.end - 1));
  const lineText = visible(file.lineText(start.line));
  const gutter = String(start.line).length;
  const pad = " ".repeat(gutter);
  const lastCol = end.line === start.line ? end.col : lineText.length;
  const width = Math.max(1, lastCol - start.col + 1);
  const carets = " ".repeat(start.col - 1) + caretColor("^".repeat(width)) + (label ? " " + caretColor(label) : "");
  return [
    `${pad}${paint.blue("-->")} ${file.path}:${start.line}:${start.col}`,
    `${pad} ${paint.blue("|")}`,
    `${paint.blue(String(start.line))} ${paint.blue("|")} ${lineText}`,
    `${pad} ${paint.blue("|")} ${carets}`,
  ];
}

export function renderDiagnostic(d: Diagnostic, opts: RenderOptions = {}): string {
  const paint = opts.color ? ansi : plain;
  const sev = d.severity === "error" ? paint.red(`error[${d.code}]`) : paint.yellow(`warning[${d.code}]`);
  const lines = [`${sev}${paint.bold(`: ${d.message}`)}`];
  lines.push(...snippet(d.span, d.label, paint, d.severity === "error" ? paint.red : paint.yellow));
  const gutter = " ".repeat(String(d.span.file.lineCol(d.span.start).line).length);
  for (const note of d.notes) {
    if (note.span) {
      lines.push(`${gutter} ${paint.blue("=")} note: ${note.message}`);
      lines.push(...snippet(note.span, undefined, paint, paint.blue).map((l) => l));
    } else {
      lines.push(`${gutter} ${paint.blue("=")} note: ${note.message}`);
    }
  }
  if (d.hint !== undefined) lines.push(`${gutter} ${paint.blue("=")} help: ${d.hint}`);
  return lines.join("\n");
}

export function renderDiagnostics(diags: readonly Diagnostic[], opts: RenderOptions = {}): string {
  return diags.map((d) => renderDiagnostic(d, opts) + "\n").join("\n");
}

export interface JsonSpan {
  file: string;
  start: number;
  end: number;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
}

export interface JsonDiagnostic {
  severity: "error" | "warning";
  code: string;
  message: string;
  span: JsonSpan;
  label?: string;
  notes: { message: string; span?: JsonSpan }[];
  hint?: string;
}

export function spanToJson(span: Span): JsonSpan {
  const s = span.file.lineCol(span.start);
  const e = span.file.lineCol(span.end);
  return { file: span.file.path, start: span.start, end: span.end, line: s.line, column: s.col, endLine: e.line, endColumn: e.col };
}

/** The JSON form of `--format json`: documented in docs/diagnostics.md. */
export function diagnosticToJson(d: Diagnostic): JsonDiagnostic {
  return {
    severity: d.severity,
    code: d.code,
    message: d.message,
    span: spanToJson(d.span),
    ...(d.label !== undefined ? { label: d.label } : {}),
    notes: d.notes.map((n) => (n.span ? { message: n.message, span: spanToJson(n.span) } : { message: n.message })),
    ...(d.hint !== undefined ? { hint: d.hint } : {}),
  };
}
