// The compiler as a straight list of named stages, each reading the previous
// stage's output type. Diagnostics collect in one bag; the front end keeps
// going after errors (see runFrontEnd), code generation never does.
import { lintLosses } from "./check/lint.ts";
import { DiagnosticBag } from "./diag/diagnostic.ts";
import { SourceFile } from "./diag/source.ts";
import { buildGraph } from "./ir/build.ts";
import type { GradGraph, Graph, ShapedGraph } from "./ir/graph.ts";
import { differentiate, type GradOptions } from "./passes/grad.ts";
import { inferShapes } from "./passes/shapes.ts";
import { parseProgram } from "./syntax/parse.ts";
import type { Program } from "./syntax/ast.ts";

export interface FrontEndResult {
  readonly file: SourceFile;
  readonly diagnostics: DiagnosticBag;
  readonly program?: Program;
  readonly graph?: Graph;
  readonly shaped?: ShapedGraph;
}

/** Runs the front end: parse → build the IR → infer shapes. */
export function runFrontEnd(path: string, text: string): FrontEndResult {
  const file = new SourceFile(path, text);
  const diagnostics = new DiagnosticBag();
  // Later stages run even after errors, so one run reports as much as it can:
  // statements that failed are left out, and uses of what they defined stay quiet.
  const program = parseProgram(file, diagnostics);
  const graph = buildGraph(program, file, diagnostics);
  const shaped = inferShapes(graph, diagnostics);
  if (shaped) lintLosses(shaped, diagnostics);
  return { file, diagnostics, program, graph, ...(shaped && !diagnostics.hasErrors ? { shaped } : {}) };
}

export interface GradResult extends FrontEndResult {
  readonly grad?: GradGraph;
}

/** The front end, then differentiation (with loss fusion and simplification). */
export function runGrad(path: string, text: string, opts: GradOptions = {}): GradResult {
  const front = runFrontEnd(path, text);
  if (!front.shaped) return front;
  const grad = differentiate(front.shaped, front.diagnostics, opts);
  return { ...front, ...(grad ? { grad } : {}) };
}
