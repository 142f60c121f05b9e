// The one place the CPU backend turns an op's scalar expression into
// TypeScript: fused loops and matrix-product epilogues both render here.
import type { GradGraph, NodeId } from "../../ir/graph.ts";
import { scalarOf } from "../../ops/scalar-rule.ts";
import { toTypeScript, type Rendered } from "../../ops/scalar/render.ts";

/** Node `id` over its arguments' expressions; `i` is the flat element index. */
export function scalarCode(g: GradGraph, id: NodeId, args: readonly string[], i: string, training: boolean): Rendered {
  const n = g.nodes[id]!;
  const e = scalarOf(n, training);
  if (e === undefined) throw new Error(`internal: ${n.op} is not a scalar op`);
  return toTypeScript(e, args, { id, i });
}
