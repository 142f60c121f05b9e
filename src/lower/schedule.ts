// From the differentiated graph to the steps of one program: which nodes
// run, in what order, fused how. Elementwise chains become one loop; a
// matrix product absorbs the elementwise chain that follows it (its
// epilogue) and reads transposed operands in place; everything else is one
// kernel. Fusion is decided from what both backends can do (an op is fused
// only where both have a scalar rule for it), never from one backend's rule.
import type { GradGraph, NodeId } from "../ir/graph.ts";
import { isScalarOp, needsSetup } from "../ops/scalar-rule.ts";
import type { OpName } from "../ops/types.ts";
import { gemmGeometry } from "./gemm.ts";
import { axisSize, sizeProduct } from "./size.ts";
import type { FusedStep, GemmStep, Step } from "./steps.ts";

const SOURCES = new Set<OpName>(["input", "param", "const", "dimval"]);

/** A scalar op without per-loop setup can follow a matrix product in its epilogue. */
const isEpilogueNode = (n: { readonly op: OpName; readonly attrs: unknown }): boolean => isScalarOp(n.op) && !needsSetup(n);

const sameShape = (g: GradGraph, a: NodeId, b: NodeId): boolean => {
  const x = g.shapes[a]!;
  const y = g.shapes[b]!;
  return x.length === y.length && x.every((d, i) => d === y[i]);
};

export interface Schedule {
  readonly steps: readonly Step[];
  /** Values that are another value's memory under a new name: reshapes, and dropout outside training. */
  readonly aliases: ReadonlyMap<NodeId, NodeId>;
}

/** What the scheduler knows about a program's nodes: which are needed, who uses each. */
class Uses {
  readonly needed = new Set<NodeId>();
  readonly consumers = new Map<NodeId, NodeId[]>();
  readonly roots: ReadonlySet<NodeId>;

  constructor(readonly g: GradGraph, roots: readonly NodeId[]) {
    this.roots = new Set(roots);
    const stack = [...roots];
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (this.needed.has(id)) continue;
      this.needed.add(id);
      stack.push(...g.nodes[id]!.args);
    }
    for (const id of [...this.needed].sort((a, b) => a - b)) {
      for (const a of g.nodes[id]!.args) this.consumers.set(a, [...(this.consumers.get(a) ?? []), id]);
    }
  }

  /** A value used once, by `user`, and by nobody outside the program. */
  onlyFeeds(id: NodeId, user: NodeId): boolean {
    return !this.roots.has(id) && (this.consumers.get(id) ?? []).every((c) => c === user);
  }

  /** The one node that uses `id`, when it is its only use. */
  soleUser(id: NodeId): NodeId | undefined {
    const users = this.consumers.get(id) ?? [];
    return users.length === 1 && this.onlyFeeds(id, users[0]!) ? users[0]! : undefined;
  }

  /** A plain 2-D product: the kind whose operands may be read transposed in place. */
  plain2d(m: NodeId): boolean {
    return this.g.nodes[m]!.args.every((a) => this.g.shapes[a]!.length <= 2);
  }

  /**
   * Whether product m reads its operand i, a 2-D transpose, in place: in a
   * plain 2-D product either operand; as B, also after an A of more axes
   * (its rows folded together, as x·Wᵀ in the backward of x·W).
   */
  readsTransposed(m: NodeId, i: number): boolean {
    const arg = this.g.nodes[m]!.args[i]!;
    const n = this.g.nodes[arg]!;
    return n.op === "transpose" && this.g.shapes[arg]!.length === 2 && !this.roots.has(arg) && (i === 1 || this.plain2d(m));
  }

  /** A transpose that every user (a product) reads in place, so no step computes it. */
  foldedTranspose(id: NodeId): boolean {
    const n = this.g.nodes[id]!;
    const users = this.consumers.get(id) ?? [];
    return (
      n.op === "transpose" &&
      !this.roots.has(id) &&
      users.every((c) => this.g.nodes[c]!.op === "matmul" && this.g.nodes[c]!.args.every((a, i) => a !== id || this.readsTransposed(c, i)))
    );
  }
}

export function schedule(g: GradGraph, roots: readonly NodeId[], training: boolean): Schedule {
  const uses = new Uses(g, roots);
  const steps: Step[] = [];
  const absorbed = new Set<NodeId>();
  const aliases = new Map<NodeId, NodeId>();
  const groups = new FusedGroups(steps);
  const summed = new Map<NodeId, GemmStep>();
  for (const id of uses.needed) {
    const step = summedProduct(uses, id);
    if (step === null) continue;
    summed.set(id, step);
    absorbed.add(g.nodes[id]!.args[0]!).add(g.nodes[g.nodes[id]!.args[0]!]!.args[0]!);
  }
  for (let id = 0; id < g.nodes.length; id++) {
    if (!uses.needed.has(id) || absorbed.has(id)) continue;
    const n = g.nodes[id]!;
    if (SOURCES.has(n.op) || uses.foldedTranspose(id)) continue;
    const product = summed.get(id);
    if (product !== undefined) steps.push(product);
    else if (n.op === "reshape" || n.op === "flatten" || (n.op === "dropout" && !training)) {
      aliases.set(id, aliases.get(n.args[0]!) ?? n.args[0]!);
    } else if (n.op === "matmul") {
      const step = gemmStep(uses, id);
      step.epilogue.forEach((e) => absorbed.add(e));
      steps.push(step);
    } else if (isScalarOp(n.op)) {
      groups.add(uses, id);
    } else steps.push({ kind: "kernel", node: id, out: id });
  }
  return { steps, aliases };
}

/** The open fused groups of a schedule, by the value each one ends in. */
class FusedGroups {
  private readonly at = new Map<NodeId, number>();
  constructor(private readonly steps: Step[]) {}

  /**
   * Adds a scalar node: the groups of its arguments that feed only it and
   * have its shape merge into one group with it, moved to this point (after
   * every other argument of the node).
   */
  add(uses: Uses, id: NodeId): void {
    const g = uses.g;
    const joinable = [...new Set(g.nodes[id]!.args)].filter((a) => this.at.has(a) && uses.onlyFeeds(a, id) && sameShape(g, a, id));
    const nodes: NodeId[] = [];
    for (const index of joinable.map((a) => this.at.get(a)!).sort((a, b) => b - a)) {
      nodes.push(...(this.steps[index] as FusedStep).nodes);
      this.steps.splice(index, 1);
      for (const [k, v] of this.at) if (v > index) this.at.set(k, v - 1);
    }
    for (const a of joinable) this.at.delete(a);
    this.steps.push({ kind: "fused", nodes: [...nodes.sort((a, b) => a - b), id], out: id });
    this.at.set(id, this.steps.length - 1);
  }
}

/**
 * A weight's gradient through a batch: sum_to(xᵀ·g) to [W, H], where x [..., T, W]
 * and g [..., T, H] share their batch axes (the backward of x·W for an x with
 * more than two axes), summed over every batch axis. That is one product over
 * the batch's rows folded together, x as [B·T, W] read transposed times g as
 * [B·T, H]: no transposed copy of x, no product per batch entry, no sum after.
 * Null for anything else.
 */
function summedProduct(uses: Uses, id: NodeId): GemmStep | null {
  const g = uses.g;
  const s = g.nodes[id]!;
  if (s.op !== "sum_to") return null;
  const m = s.args[0]!;
  const mn = g.nodes[m]!;
  if (mn.op !== "matmul" || uses.soleUser(m) !== id) return null;
  const [t, right] = mn.args as [NodeId, NodeId];
  const tn = g.nodes[t]!;
  if (tn.op !== "transpose" || uses.soleUser(t) !== m || right === t) return null;
  const x = tn.args[0]!;
  const [sx, sr, ss, sm] = [g.shapes[x]!, g.shapes[right]!, g.shapes[id]!, g.shapes[m]!];
  if (sx.length < 3 || sr.length !== sx.length || ss.length !== 2) return null;
  const same = (p: readonly unknown[], q: readonly unknown[]) => p.length === q.length && p.every((d, i) => d === q[i]);
  // Both operands' batch axes and rows alike; the result is the product's matrix, every batch axis summed.
  if (!same(sx.slice(0, -1), sr.slice(0, -1)) || !same(ss, sm.slice(-2))) return null;
  const rows = sizeProduct(sx.slice(0, -1).map(axisSize));
  const [w, h] = [axisSize(sx[sx.length - 1]!), axisSize(sr[sr.length - 1]!)];
  return { kind: "gemm", matmul: id, a: x, b: right, transA: true, transB: false, geometry: { m: w, n: h, k: rows, lda: w, ldb: h, batch: null, aBatched: false, broadcast: null }, epilogue: [], out: id };
}

/** A matrix product with its operands' transposes folded in and the elementwise chain after it. */
function gemmStep(uses: Uses, id: NodeId): GemmStep {
  const g = uses.g;
  const folded = (i: number): { src: NodeId; trans: boolean } => {
    const arg = g.nodes[id]!.args[i]!;
    return uses.readsTransposed(id, i) ? { src: g.nodes[arg]!.args[0]!, trans: true } : { src: arg, trans: false };
  };
  const a = folded(0);
  const b = folded(1);
  const epilogue = epilogueOf(uses, id);
  const out = epilogue.length > 0 ? epilogue[epilogue.length - 1]! : id;
  return { kind: "gemm", matmul: id, a: a.src, b: b.src, transA: a.trans, transB: b.trans, geometry: gemmGeometry(g, a.src, b.src, a.trans, b.trans, id), epilogue, out };
}

/**
 * The elementwise chain a 2-D product absorbs: each next node is the only
 * user of the previous value, a scalar op of the product's shape, whose
 * other arguments are constants or one bias along the rows (a vector of the
 * product's columns, computed before it). A chain needs no memory of its
 * own and only one more buffer.
 */
function epilogueOf(uses: Uses, id: NodeId): NodeId[] {
  const g = uses.g;
  const shape = g.shapes[id]!;
  if (shape.length !== 2 || !g.nodes[id]!.args.every((a) => g.shapes[a]!.length === 2)) return [];
  const constant = (a: NodeId) => g.nodes[a]!.op === "const" || g.nodes[a]!.op === "dimval";
  const rowBias = (a: NodeId) => a < id && g.shapes[a]!.length === 1 && g.shapes[a]![0] === shape[1];
  const chain: NodeId[] = [];
  let bias: NodeId | undefined;
  for (let cur = id, next = uses.soleUser(id); next !== undefined; cur = next, next = uses.soleUser(next)) {
    const n = g.nodes[next]!;
    if (!isEpilogueNode(n) || !sameShape(g, next, id)) break;
    const others = n.args.filter((a) => a !== cur && !constant(a));
    if (others.length > 1 || (others.length === 1 && (!rowBias(others[0]!) || (bias !== undefined && bias !== others[0])))) break;
    bias ??= others[0];
    chain.push(next);
  }
  return chain;
}
