// The one place the WebGPU backend turns an op's scalar rule into WGSL:
// fused kernels and matrix-product epilogues both render their nodes here.
import type { GradGraph, NodeId } from "../../ir/graph.ts";
import { scalarRule } from "../scalar-rule.ts";
import { wnum } from "../../ops/wgsl-util.ts";
import type { Bindings } from "./shader.ts";

/** The f32 expression computing node `id` from its arguments' expressions; `i` is the flat element index (u32). */
export function scalarCode(g: GradGraph, id: NodeId, args: readonly string[], i: string, training: boolean): string {
  return scalarRule(g, id, "wgsl").scalar(args, g.nodes[id]!.attrs as never, i, training, id);
}

/** Statements the node needs before its expression (a dropout key), and the library functions it calls. */
export function scalarSetup(g: GradGraph, id: NodeId, training: boolean): { prelude: readonly string[]; uses: readonly string[] } {
  const rule = scalarRule(g, id, "wgsl");
  return { prelude: rule.prelude ? rule.prelude(g.nodes[id]!.attrs as never, training, id) : [], uses: rule.uses ?? [] };
}

/** A value a chain reads from outside: its expression, and what to record when an expression uses it. */
export interface Leaf {
  readonly text: string;
  use?(): void;
}

/**
 * The scalar nodes of a chain as WGSL statements: each a `let`, the last
 * stored by `store`. `refs` gives every value read from outside the chain;
 * a stored one counts as used once an expression contains it.
 */
export function scalarStatements(g: GradGraph, b: Bindings, nodes: readonly NodeId[], refs: ReadonlyMap<NodeId, Leaf>, i: string, training: boolean, store: (expr: string) => string): string[] {
  const out: string[] = [];
  for (const id of nodes) {
    const { prelude, uses } = scalarSetup(g, id, training);
    out.push(...prelude);
    b.uses(uses);
  }
  for (const id of nodes) {
    const args = g.nodes[id]!.args.map((a) => refs.get(a)?.text ?? `e${a}`);
    const expr = scalarCode(g, id, args, i, training);
    for (const a of g.nodes[id]!.args) {
      const leaf = refs.get(a);
      if (leaf?.use && expr.includes(leaf.text)) leaf.use();
    }
    out.push(id === nodes[nodes.length - 1] ? store(expr) : `let e${id}: f32 = ${expr};`);
  }
  return out;
}

/** The expression of a constant leaf, or undefined for a stored value. */
export function constantRef(g: GradGraph, b: Bindings, id: NodeId): string | undefined {
  const n = g.nodes[id]!;
  if (n.op === "const") return wnum(n.attrs.value);
  if (n.op === "dimval") return `f32(${b.dim(n.attrs.dim)})`;
  return undefined;
}

