// Op counts and floating-point operation estimates of a forward graph and its
// backward graph, for `nnc grad --stats`, `nnc summary` and the cheap-gradient bound test.
import type { GradGraph, Node } from "../ir/graph.ts";
import { isScalarOp, scalarOf } from "../ops/scalar-rule.ts";
import { cost } from "../ops/scalar/eval.ts";
import type { OpName, ScalarOpName, Shape } from "../ops/types.ts";

/** Sizes for symbolic dims without a default when counting FLOPs. */
export const STATS_DEFAULT_DIM = 32;

type Cost = (out: number, args: readonly number[], n: Node, shapes: (i: number) => number[]) => number;

const free: Cost = () => 0;
const perOut = (k: number): Cost => (out) => k * out;
const perIn = (k: number): Cost => (_out, args) => k * (args[0] ?? 0);
const perAllIn = (k: number): Cost => (_out, args) => k * args.reduce((a, b) => a + b, 0);

/**
 * Estimated FLOPs of each op: one per add or multiply, a few for
 * transcendental functions. Elementwise ops count their scalar expression
 * (src/ops/scalar/eval.ts `cost`) per output element.
 */
const COSTS: { readonly [K in Exclude<OpName, ScalarOpName>]: Cost } = {
  input: free,
  param: free,
  const: free,
  dimval: free,
  // 2·m·k·n: the inner dimension is the first argument's last
  matmul: (out, _args, n, shapes) => {
    const a = shapes(n.args[0]!);
    return 2 * out * (a[a.length - 1] ?? 1);
  },
  transpose: free,
  reshape: free,
  flatten: free,
  one_hot: perOut(1),
  one_hot_to: perOut(1),
  softmax: perIn(7),
  log_softmax: perIn(7),
  sum: perIn(1),
  mean: perIn(1),
  max: perIn(1),
  argmax: perIn(1),
  // 2·kh·kw·C per output element
  conv2d: (out, _args, n, shapes) => {
    const k = shapes(n.args[1]!);
    return 2 * out * k[0]! * k[1]! * k[2]!;
  },
  maxpool2d: perIn(1),
  embed: perOut(1),
  mse: perAllIn(1.5),
  cross_entropy: perAllIn(3),
  softmax_cross_entropy: perIn(10),
  binary_cross_entropy: perAllIn(5),
  hinge: perIn(4),
  sumsq: perIn(2),
  sumabs: perIn(2),
  accuracy: perIn(2),
  sum_to: perIn(1),
  broadcast_to: free,
  sigmoid_binary_cross_entropy: perIn(8),
  // each input element gathers kh·kw·F products
  conv2d_grad_input: (out, _args, n, shapes) => {
    const k = shapes(n.args[1]!);
    return 2 * out * k[0]! * k[1]! * k[3]!;
  },
  // each kernel element sums over every output position
  conv2d_grad_kernel: (out, args, n, shapes) => (2 * out * (args[1] ?? 0)) / shapes(n.id)[3]!,
  maxpool2d_grad: perIn(1),
  embed_grad: (_out, args) => args[1] ?? 0,
  // Structural ops move data and count no arithmetic.
  causal_mask: free,
  permute: free,
  concat: free,
  slice: free,
  take: free,
  unslice: free,
  squeeze: free,
  avgpool2d: perIn(1),
  global_avgpool: perIn(1),
  avgpool2d_grad: perOut(1),
  sparse_cross_entropy: perIn(7),
  batch_mean: perIn(1),
  batch_var: perIn(4),
};

/** The grad graph is the training graph: dropout counts its draw. */
function flopsOf(n: Node, out: number, args: readonly number[], shapes: (i: number) => number[]): number {
  if (isScalarOp(n.op)) return cost(scalarOf(n, true)!) * out;
  return COSTS[n.op](out, args, n, shapes);
}

export interface PassStats {
  ops: number;
  flops: number;
  byOp: Record<string, number>;
}

export interface GradStats {
  dims: Record<string, number>;
  forward: PassStats;
  backward: PassStats;
  /** backward / forward */
  opRatio: number;
  flopRatio: number;
}

/** Every dim's size for counting: given, else its default, else STATS_DEFAULT_DIM. */
export function statsDims(g: GradGraph, given: Record<string, number> = {}): Record<string, number> {
  // No prototype and own properties only: a dim may be called `constructor`.
  const dims: Record<string, number> = Object.create(null);
  for (const d of g.dims) dims[d.name] = (Object.hasOwn(given, d.name) ? given[d.name] : undefined) ?? d.default ?? STATS_DEFAULT_DIM;
  return dims;
}

const isSource = (n: Node) => n.op === "input" || n.op === "param" || n.op === "const" || n.op === "dimval";

/** Each node's estimated FLOPs at these dims, by node id (0 for inputs, params and constants); `nnc summary` lists them. */
export function nodeFlops(g: GradGraph, dims: Record<string, number>): number[] {
  const resolve = (s: Shape) => s.map((d) => (typeof d === "number" ? d : dims[d]!));
  const size = (s: Shape) => resolve(s).reduce((a, b) => a * b, 1);
  const shapes = (i: number) => resolve(g.shapes[i]!);
  return g.nodes.map((n, i) => (isSource(n) ? 0 : flopsOf(n, size(g.shapes[i]!), n.args.map((a) => size(g.shapes[a]!)), shapes)));
}

export function gradStats(g: GradGraph, given: Record<string, number> = {}): GradStats {
  const dims = statsDims(g, given);
  const flops = nodeFlops(g, dims);
  const pass = (from: number, to: number): PassStats => {
    const byOp: Record<string, number> = {};
    let ops = 0;
    let total = 0;
    for (let i = from; i < to; i++) {
      const n = g.nodes[i]!;
      if (isSource(n)) continue;
      ops++;
      byOp[n.op] = (byOp[n.op] ?? 0) + 1;
      total += flops[i]!;
    }
    return { ops, flops: total, byOp };
  };
  const forward = pass(0, g.forwardCount);
  const backward = pass(g.forwardCount, g.nodes.length);
  return { dims, forward, backward, opRatio: backward.ops / Math.max(1, forward.ops), flopRatio: backward.flops / Math.max(1, forward.flops) };
}

export function formatStats(s: GradStats): string {
  const fmt = (n: number) => (n >= 1e9 ? `${(n / 1e9).toFixed(2)} G` : n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : String(Math.round(n)));
  const dims = Object.entries(s.dims).map(([k, v]) => `${k} = ${v}`).join(", ");
  return [
    `# op counts and FLOPs (${dims || "no dims"})`,
    `            ops     FLOPs`,
    `forward   ${String(s.forward.ops).padStart(5)}  ${fmt(s.forward.flops).padStart(8)}`,
    `backward  ${String(s.backward.ops).padStart(5)}  ${fmt(s.backward.flops).padStart(8)}`,
    `ratio     ${s.opRatio.toFixed(2).padStart(5)}  ${s.flopRatio.toFixed(2).padStart(8)}`,
    "",
  ].join("\n");
}
