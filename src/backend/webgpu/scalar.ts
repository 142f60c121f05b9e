// The one place the WebGPU backend turns an op's scalar rule into WGSL:
// fused kernels and matrix-product epilogues both render their nodes here.
import type { GradGraph, NodeId } from "../../ir/graph.ts";
import { scalarOf } from "../../ops/scalar-rule.ts";
import { toWgsl, type Rendered } from "../../ops/scalar/render.ts";
import { wnum } from "../../ops/wgsl-util.ts";
import type { Bindings } from "./shader.ts";

/** Node `id` as WGSL (f32) over its arguments' expressions; `i` is the flat element index (u32). */
export function scalarCode(g: GradGraph, id: NodeId, args: readonly string[], i: string, training: boolean): Rendered {
  const n = g.nodes[id]!;
  const e = scalarOf(n, training);
  if (e === undefined) throw new Error(`internal: ${n.op} is not a scalar op`);
  return toWgsl(e, args, { id, i });
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
  const rendered = nodes.map((id) => ({ id, ...scalarCode(g, id, g.nodes[id]!.args.map((a) => refs.get(a)?.text ?? `e${a}`), i, training) }));
  const out: string[] = [];
  for (const r of rendered) {
    out.push(...r.prelude);
    b.uses(r.uses);
  }
  for (const r of rendered) {
    const code = [...r.stmts, r.value].join("\n");
    for (const a of g.nodes[r.id]!.args) {
      const leaf = refs.get(a);
      if (leaf?.use && code.includes(leaf.text)) leaf.use();
    }
    out.push(...r.stmts, r.id === nodes[nodes.length - 1] ? store(r.value) : `let e${r.id}: f32 = ${r.value};`);
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

