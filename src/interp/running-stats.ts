// Running statistics (batchnorm's) in the reference interpreter: a training
// step evaluates their updates with the loss and gradients (in training
// mode), and writes them into the params after the optimizer step, as the
// generated modules do (Lowered.statCopies).
import type { NodeId, ShapedGraph } from "../ir/graph.ts";
import type { Tensor } from "./tensor.ts";

/** The nodes a training step evaluates besides the loss and the gradients. */
export function statUpdateRoots(g: Pick<ShapedGraph, "runningStats">): NodeId[] {
  return (g.runningStats ?? []).map((r) => r.update);
}

/** Writes each running statistic's new value, from a training step's evaluated values, into `params`. */
export function applyStatUpdates(g: Pick<ShapedGraph, "runningStats">, values: readonly Tensor[], params: Map<string, Tensor>): void {
  for (const r of g.runningStats ?? []) {
    const v = values[r.update];
    if (v === undefined) throw new Error(`internal: the update of \`${r.name}\` was not evaluated (add statUpdateRoots to the roots)`);
    params.set(r.name, v);
  }
}
