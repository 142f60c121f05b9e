// From the differentiated graph to programs of steps for the CPU backend:
// which nodes run, in what order, fused how. Elementwise chains become one
// loop; a matrix product absorbs a following bias add and activation (its
// epilogue) and reads transposed operands in place; everything else is one
// runtime kernel.
import type { GradGraph, NodeId } from "../../ir/graph.ts";
import { isScalarOp } from "../../ops/scalar-rule.ts";
import type { OpName } from "../../ops/types.ts";

export type Step =
  /** Scalar ops fused into one loop; only the last node's value is stored. */
  | { readonly kind: "fused"; readonly nodes: readonly NodeId[]; readonly out: NodeId }
  /** A matrix product with its epilogue; `out` is the last absorbed node. */
  | {
      readonly kind: "gemm";
      readonly matmul: NodeId;
      readonly a: NodeId;
      readonly b: NodeId;
      readonly transA: boolean;
      readonly transB: boolean;
      readonly bias?: NodeId;
      readonly act: number;
      readonly out: NodeId;
    }
  /** One op through its runtime kernel. */
  | { readonly kind: "kernel"; readonly node: NodeId; readonly out: NodeId };

export interface Program {
  readonly name: "infer" | "train";
  readonly training: boolean;
  readonly steps: readonly Step[];
  /**
   * Values that are another value's memory under a new name: reshapes, and
   * dropout outside training. No step computes them.
   */
  readonly aliases: ReadonlyMap<NodeId, NodeId>;
  /** Values the caller reads after the program: outputs, the loss, gradients. */
  readonly roots: readonly NodeId[];
}

/** Activation codes of the gemm epilogue (the runtime's `act` argument). */
export const ACTIVATIONS: Partial<Record<OpName, number>> = { relu: 1, tanh: 2, sigmoid: 3 };

const SOURCES = new Set<OpName>(["input", "param", "const", "dimval"]);


function sameShape(g: GradGraph, a: NodeId, b: NodeId): boolean {
  const x = g.shapes[a]!;
  const y = g.shapes[b]!;
  return x.length === y.length && x.every((d, i) => d === y[i]);
}

export function buildProgram(g: GradGraph, name: Program["name"], roots: readonly NodeId[], training: boolean): Program {
  // Nodes the roots need, and how many steps use each.
  const needed = new Set<NodeId>();
  const stack = [...roots];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (needed.has(id)) continue;
    needed.add(id);
    stack.push(...g.nodes[id]!.args);
  }
  const consumers = new Map<NodeId, NodeId[]>();
  for (const id of [...needed].sort((a, b) => a - b)) {
    for (const a of g.nodes[id]!.args) consumers.set(a, [...(consumers.get(a) ?? []), id]);
  }
  const rootSet = new Set(roots);
  /** A value used once, by `user`, and by nobody outside the program. */
  const onlyFeeds = (id: NodeId, user: NodeId) => !rootSet.has(id) && (consumers.get(id) ?? []).every((c) => c === user);

  // Transposes read in place by the (plain, 2-D) matrix products that use them.
  const plain2d = (m: NodeId) => g.nodes[m]!.args.every((a) => g.shapes[a]!.length <= 2);
  const folded = (m: NodeId, i: number): { src: NodeId; trans: boolean } => {
    const arg = g.nodes[m]!.args[i]!;
    const n = g.nodes[arg]!;
    if (n.op === "transpose" && g.shapes[arg]!.length === 2 && !rootSet.has(arg) && plain2d(m)) return { src: n.args[0]!, trans: true };
    return { src: arg, trans: false };
  };

  const steps: Step[] = [];
  const absorbed = new Set<NodeId>();
  const aliases = new Map<NodeId, NodeId>();
  const resolve = (id: NodeId): NodeId => aliases.get(id) ?? id;
  /** The open fused group each node's value belongs to, by its current output. */
  const groupOf = new Map<NodeId, number>();

  for (let id = 0; id < g.nodes.length; id++) {
    if (!needed.has(id) || absorbed.has(id)) continue;
    const n = g.nodes[id]!;
    if (SOURCES.has(n.op)) continue;
    if (n.op === "reshape" || n.op === "flatten" || (n.op === "dropout" && !training)) {
      aliases.set(id, resolve(n.args[0]!));
      continue;
    }
    if (n.op === "transpose" && g.shapes[id]!.length === 2 && (consumers.get(id) ?? []).every((c) => g.nodes[c]!.op === "matmul" && plain2d(c)) && !rootSet.has(id)) {
      continue; // read in place by every user
    }
    if (n.op === "matmul") {
      const a = folded(id, 0);
      const b = folded(id, 1);
      let out = id;
      let bias: NodeId | undefined;
      let act = 0;
      const rank2 = g.shapes[id]!.length === 2 && g.shapes[n.args[0]!]!.length === 2 && g.shapes[n.args[1]!]!.length === 2;
      const next = (from: NodeId) => {
        const users = consumers.get(from) ?? [];
        return users.length === 1 && onlyFeeds(from, users[0]!) ? users[0]! : undefined;
      };
      const add = rank2 ? next(out) : undefined;
      if (add !== undefined && g.nodes[add]!.op === "add" && g.nodes[add]!.args[0] === out) {
        const other = g.nodes[add]!.args[1]!;
        const cols = g.shapes[id]![1];
        if (g.shapes[other]!.length === 1 && g.shapes[other]![0] === cols && sameShape(g, add, id)) {
          bias = other;
          absorbed.add(add);
          out = add;
        }
      }
      const actNode = rank2 ? next(out) : undefined;
      if (actNode !== undefined && ACTIVATIONS[g.nodes[actNode]!.op] !== undefined) {
        act = ACTIVATIONS[g.nodes[actNode]!.op]!;
        absorbed.add(actNode);
        out = actNode;
      }
      steps.push({ kind: "gemm", matmul: id, a: a.src, b: b.src, transA: a.trans, transB: b.trans, ...(bias !== undefined ? { bias } : {}), act, out });
      continue;
    }
    if (isScalarOp(n.op)) {
      // Merge the groups of the arguments that feed only this node and have its shape.
      const joinable = [...new Set(n.args)].filter((a) => groupOf.has(a) && onlyFeeds(a, id) && sameShape(g, a, id));
      const nodes: NodeId[] = [];
      for (const index of joinable.map((a) => groupOf.get(a)!).sort((a, b) => b - a)) {
        // Each group moves to this point, after every other argument of this node.
        nodes.push(...(steps[index] as Extract<Step, { kind: "fused" }>).nodes);
        steps.splice(index, 1);
        for (const [k, v] of groupOf) if (v > index) groupOf.set(k, v - 1);
      }
      for (const a of joinable) groupOf.delete(a);
      steps.push({ kind: "fused", nodes: [...nodes.sort((a, b) => a - b), id], out: id });
      groupOf.set(id, steps.length - 1);
      continue;
    }
    steps.push({ kind: "kernel", node: id, out: id });
  }
  return { name, training, steps, aliases, roots };
}

/** Every value a step reads from memory (not the nodes fused inside it), aliases resolved. */
export function stepReads(g: GradGraph, p: Program, s: Step): NodeId[] {
  const r = (id: NodeId) => p.aliases.get(id) ?? id;
  switch (s.kind) {
    case "fused": {
      const inside = new Set(s.nodes);
      return [...new Set(s.nodes.flatMap((n) => g.nodes[n]!.args).filter((a) => !inside.has(a)).map(r))];
    }
    case "gemm":
      return [s.a, s.b, ...(s.bias !== undefined ? [s.bias] : [])].map(r);
    case "kernel":
      return g.nodes[s.node]!.args.map(r);
  }
}
