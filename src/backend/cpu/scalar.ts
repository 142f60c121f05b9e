// The one place the CPU backend turns an op's scalar rule into TypeScript:
// fused loops and matrix-product epilogues both render their nodes here.
import type { GradGraph, NodeId } from "../../ir/graph.ts";
import { scalarRule } from "../scalar-rule.ts";

/** The expression computing node `id` from its arguments' expressions; `i` is the flat element index. */
export function scalarCode(g: GradGraph, id: NodeId, args: readonly string[], i: string, training: boolean): string {
  return scalarRule(g, id, "cpu").scalar(args, g.nodes[id]!.attrs as never, i, training, id);
}

/** Lines the node needs once before its loop (a dropout key), if any. */
export function scalarPrelude(g: GradGraph, id: NodeId, training: boolean): readonly string[] {
  const rule = scalarRule(g, id, "cpu");
  return rule.prelude ? rule.prelude(g.nodes[id]!.attrs as never, training, id) : [];
}
