// Shared helpers for front-end tests.
import { renderDiagnostics } from "../src/diag/render.ts";
import type { Diagnostic } from "../src/diag/diagnostic.ts";
import { runFrontEnd, type FrontEndResult } from "../src/pipeline.ts";

/** Runs the front end on a source text (a model body; `dim batch` etc. as written). */
export function frontEnd(text: string, path = "test.nn"): FrontEndResult {
  return runFrontEnd(path, text);
}

export function codes(result: FrontEndResult): string[] {
  return result.diagnostics.sorted().map((d) => d.code);
}

export function rendered(result: FrontEndResult): string {
  return renderDiagnostics(result.diagnostics.sorted());
}

/** The shapes of named nodes, as text: { l1: "[batch, 100]" }. */
export function namedShapes(result: FrontEndResult): Record<string, string> {
  const g = result.shaped;
  if (!g) throw new Error("no shaped graph:\n" + rendered(result));
  const out: Record<string, string> = {};
  for (const n of g.nodes) if (n.name !== undefined) out[n.name] = `[${g.shapes[n.id]!.join(", ")}]`;
  return out;
}

export function only(result: FrontEndResult, code: string): Diagnostic {
  const all = result.diagnostics.sorted();
  const found = all.filter((d) => d.code === code);
  if (found.length !== 1 || all.length !== 1) throw new Error(`expected exactly one ${code}, got:\n${rendered(result)}`);
  return found[0]!;
}

/** The source text a span covers. */
export function spanText(d: Diagnostic): string {
  return d.span.file.text.slice(d.span.start, d.span.end);
}

/**
 * The largest difference between two arrays, relative to the largest expected
 * magnitude (Infinity for a NaN or a length mismatch). Elements go through
 * Number(), so ONNX Runtime's int64 outputs (BigInt64Array) compare too.
 */
export function relError(actual: ArrayLike<number | bigint>, expected: ArrayLike<number | bigint>): number {
  if (actual.length !== expected.length) return Infinity;
  let scale = 1e-6;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(Number(expected[i]!)));
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(Number(actual[i]!) - Number(expected[i]!)) / scale);
  return Number.isNaN(worst) ? Infinity : worst;
}

/** mulberry32: a small seeded generator for test data, the same numbers on every run. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Examples too slow for ten float64 checks (or SwiftShader's WebGPU) at their
 * own widths: a 28×28 residual convnet needs hundreds of interpreted forward
 * passes per check, the GPT sixteen attention heads of 64 × 64 scores.
 * Narrower layers take the same derivation (the widths are `dim`s).
 */
export const NARROW: Record<string, Record<string, number>> = {
  "mnist_resnet.nn": { width1: 2, width2: 2 },
  "gpt.nn": { block: 4, vocab: 6, width: 8, head: 4, hidden: 8 },
};
