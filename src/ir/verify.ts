// Structural checks of the IR, run after every pass in tests: topological
// order, argument counts, and (once shaped) a shape for every node.
import { OPS } from "../ops/registry.ts";
import type { Graph, ShapedGraph } from "./graph.ts";

export function verifyGraph(graph: Graph | ShapedGraph): string[] {
  const problems: string[] = [];
  graph.nodes.forEach((n, i) => {
    if (n.id !== i) problems.push(`node ${i} has id ${n.id}`);
    for (const a of n.args) if (!(a >= 0 && a < i)) problems.push(`node ${i} (${n.op}) uses ${a}, which does not come before it`);
    const want = OPS[n.op].tensors.length;
    const variadic = OPS[n.op].variadic === true;
    if (variadic ? n.args.length < want : n.args.length !== want) problems.push(`node ${i} (${n.op}) has ${n.args.length} arguments, expected ${variadic ? "at least " : ""}${want}`);
    if (n.argSpans.length !== n.args.length) problems.push(`node ${i} (${n.op}) has ${n.argSpans.length} argument spans for ${n.args.length} arguments`);
    if (!n.span) problems.push(`node ${i} has no span`);
  });
  if (graph.stage === "shaped") {
    if (graph.shapes.length !== graph.nodes.length) problems.push(`${graph.shapes.length} shapes for ${graph.nodes.length} nodes`);
    graph.shapes.forEach((s, i) => {
      for (const d of s) if (typeof d !== "number" && typeof d !== "string") problems.push(`node ${i} has an unresolved dimension`);
    });
    if (graph.loss && graph.shapes[graph.loss.node]!.length !== 0) problems.push("the loss is not a scalar");
  }
  for (const d of [...graph.inputs, ...graph.targets, ...graph.params, ...graph.outputs]) {
    if (!graph.nodes[d.node]) problems.push(`${d.name} points at a missing node`);
  }
  return problems;
}
