// Diagnostics are collected in a bag, never thrown: each stage reports what it
// finds and the pipeline stops at the end of a stage whose bag holds errors.
import type { Span } from "./source.ts";
import type { DiagCode } from "./codes.ts";

export type Severity = "error" | "warning";

export interface Note {
  readonly message: string;
  readonly span?: Span;
}

export interface Diagnostic {
  readonly severity: Severity;
  readonly code: DiagCode;
  readonly message: string;
  readonly span: Span;
  /** Short text printed under the carets. */
  readonly label?: string;
  readonly notes: readonly Note[];
  readonly hint?: string;
}

export interface DiagOptions {
  label?: string;
  notes?: Note[];
  hint?: string;
}

export class DiagnosticBag {
  readonly items: Diagnostic[] = [];
  /** Guards against a flood of cascading errors from hostile input. */
  static readonly limit = 200;

  error(code: DiagCode, span: Span, message: string, opts: DiagOptions = {}): void {
    this.push("error", code, span, message, opts);
  }

  warning(code: DiagCode, span: Span, message: string, opts: DiagOptions = {}): void {
    this.push("warning", code, span, message, opts);
  }

  private push(severity: Severity, code: DiagCode, span: Span, message: string, opts: DiagOptions): void {
    if (this.items.length >= DiagnosticBag.limit) return;
    // A `fn` expanded twice reports a mistake in its body once.
    if (this.items.some((d) => d.code === code && d.span.start === span.start && d.span.end === span.end && d.span.file === span.file && d.message === message)) return;
    const diag: Diagnostic = {
      severity,
      code,
      message,
      span,
      notes: opts.notes ?? [],
      ...(opts.label !== undefined ? { label: opts.label } : {}),
      ...(opts.hint !== undefined ? { hint: opts.hint } : {}),
    };
    this.items.push(diag);
  }

  get hasErrors(): boolean {
    return this.items.some((d) => d.severity === "error");
  }

  get errorCount(): number {
    return this.items.filter((d) => d.severity === "error").length;
  }

  /** Diagnostics in source order (file, then offset, then code), for deterministic output. */
  sorted(): Diagnostic[] {
    return [...this.items].sort(
      (a, b) =>
        a.span.file.path.localeCompare(b.span.file.path) ||
        a.span.start - b.span.start ||
        a.code.localeCompare(b.code),
    );
  }
}
