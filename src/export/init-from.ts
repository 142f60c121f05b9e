// `nnc train --init-from PATH`: the params a training run starts from,
// read from another tool's weights (or nnc's own), instead of the
// initialisers.
import { UsageError } from "../cli-common.ts";
import type { GradGraph } from "../ir/graph.ts";
import { weightsFor } from "./weights.ts";

export function initialParams(g: GradGraph, path: string, resume: boolean | undefined, dims: Readonly<Record<string, number>>): Record<string, Float32Array> {
  if (resume) throw new UsageError("--init-from and --resume both say where training starts: give one");
  return weightsFor(g, path, dims);
}
