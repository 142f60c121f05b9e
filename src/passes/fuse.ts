// Stable fused forms, applied before differentiation: a loss on
// probabilities that directly follows softmax (or sigmoid) is rewritten to
// the loss on logits, which is computed with log-sum-exp and whose gradient
// is the simple (p − y)/N. The softmax itself stays where other values use it.
import type { Node, ShapedGraph } from "../ir/graph.ts";
import { compact, liveFrom } from "../ir/compact.ts";

export function fuseLosses(graph: ShapedGraph): ShapedGraph {
  let changed = false;
  const nodes = graph.nodes.map((n): Node => {
    const p = graph.nodes[n.args[0] ?? -1];
    if (!p) return n;
    if (n.op === "cross_entropy" && p.op === "softmax" && lastAxis(p.attrs.axis, graph.shapes[p.id]!.length)) {
      changed = true;
      return { ...n, op: "softmax_cross_entropy", attrs: {}, args: [p.args[0]!, n.args[1]!] };
    }
    if (n.op === "binary_cross_entropy" && p.op === "sigmoid") {
      changed = true;
      return { ...n, op: "sigmoid_binary_cross_entropy", attrs: {}, args: [p.args[0]!, n.args[1]!] };
    }
    return n;
  });
  if (!changed) return graph;
  const fused = { ...graph, nodes };
  const roots = [...fused.outputs.map((o) => o.node), ...(fused.loss ? [fused.loss.node] : []), ...(fused.runningStats ?? []).map((r) => r.update)];
  return compact(fused, liveFrom(nodes, roots)).graph;
}

function lastAxis(axis: number, rank: number): boolean {
  return axis === -1 || axis === rank - 1;
}
