// The one place the CPU backend turns an op's scalar rule into TypeScript:
// fused loops and matrix-product epilogues both render their nodes here.
import type { GradGraph, NodeId } from "../../ir/graph.ts";
import { OPS } from "../../ops/registry.ts";
import type { OpDef, OpName } from "../../ops/types.ts";

function scalarRule(g: GradGraph, id: NodeId) {
  const op = g.nodes[id]!.op;
  const rule = (OPS[op] as unknown as OpDef<OpName>).cpu;
  if (typeof rule !== "object" || !("scalar" in rule)) throw new Error(`internal: ${op} is not a scalar op`);
  return rule;
}

/** The expression computing node `id` from its arguments' expressions; `i` is the flat element index. */
export function scalarCode(g: GradGraph, id: NodeId, args: readonly string[], i: string, training: boolean): string {
  return scalarRule(g, id).scalar(args, g.nodes[id]!.attrs as never, i, training, id);
}

/** Lines the node needs once before its loop (a dropout key), if any. */
export function scalarPrelude(g: GradGraph, id: NodeId, training: boolean): readonly string[] {
  const rule = scalarRule(g, id);
  return rule.prelude ? rule.prelude(g.nodes[id]!.attrs as never, training, id) : [];
}
