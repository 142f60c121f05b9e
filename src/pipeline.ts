// The compiler as a straight list of named stages. Each stage reads the
// previous stage's output type; the pipeline stops after a stage that
// reported errors.
import { DiagnosticBag } from "./diag/diagnostic.ts";
import { SourceFile } from "./diag/source.ts";
import { buildGraph } from "./ir/build.ts";
import type { Graph, ShapedGraph } from "./ir/graph.ts";
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

export const STAGES = ["parse", "build", "shapes"] as const;
export type StageName = (typeof STAGES)[number];

/** Runs the front end: parse → build the IR → infer shapes. */
export function runFrontEnd(path: string, text: string): FrontEndResult {
  const file = new SourceFile(path, text);
  const diagnostics = new DiagnosticBag();
  const program = parseProgram(file, diagnostics);
  if (diagnostics.hasErrors) return { file, diagnostics, program };
  const graph = buildGraph(program, file, diagnostics);
  if (diagnostics.hasErrors) return { file, diagnostics, program, graph };
  const shaped = inferShapes(graph, diagnostics);
  return { file, diagnostics, program, graph, ...(shaped ? { shaped } : {}) };
}
