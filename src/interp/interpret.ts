// The reference interpreter: evaluates a shaped IR graph (forward nodes and
// any backward nodes appended after them) in float64, node by node in
// topological order. It is the oracle for the backends and gradient checks,
// so it checks everything it is given (fed shapes, bound dims) and every
// kernel's result shape against the shape the compiler inferred.
import type { Node, NodeId, ShapedGraph } from "../ir/graph.ts";
import { OPS } from "../ops/registry.ts";
import type { OpName, Shape } from "../ops/types.ts";
import { KERNELS, type Kernel, type KernelCtx } from "./kernels.ts";
import { formatDims, resolveShape, sameDims, size, type Tensor } from "./tensor.ts";

export interface InterpEnv {
  /** Sizes of the symbolic dims (see bindDims). */
  readonly dims: ReadonlyMap<string, number>;
  /** Inputs and targets by name. A target may be left out when no evaluated node needs it. */
  readonly feeds: ReadonlyMap<string, Tensor>;
  /** Params by name (see initParams). */
  readonly params: ReadonlyMap<string, Tensor>;
  /** Dropout is active only in training. */
  readonly training: boolean;
  readonly seed: number;
  /** The training step, which picks the dropout masks; 0 by default. */
  readonly step?: number;
  /** The nodes wanted; only they and what they depend on are evaluated. Default: every node. */
  readonly roots?: readonly NodeId[];
  /** Values to use instead of computing these nodes (gradcheck holds every stop_gradient at its value). */
  readonly frozen?: ReadonlyMap<NodeId, Tensor>;
}

export type InterpGraph = Pick<ShapedGraph, "nodes" | "shapes" | "params" | "inputs" | "targets">;

/** The sizes of every declared dim: those given, else the declared defaults. Throws naming an unbound or unknown dim. */
export function bindDims(graph: Pick<ShapedGraph, "dims">, given: Record<string, number>): Map<string, number> {
  const declared = new Set(graph.dims.map((d) => d.name));
  for (const name of Object.keys(given)) {
    if (!declared.has(name)) throw new Error(`\`${name}\` is not a dim of this model (its dims: ${[...declared].join(", ") || "none"})`);
  }
  const out = new Map<string, number>();
  const unbound: string[] = [];
  for (const d of graph.dims) {
    const v = Object.hasOwn(given, d.name) ? given[d.name] : d.default;
    if (v === undefined) unbound.push(d.name);
    else if (!Number.isInteger(v) || v < 1) throw new Error(`dim \`${d.name}\` must be a positive integer, got ${v}`);
    else out.set(d.name, v);
  }
  if (unbound.length > 0) {
    throw new Error(`dim${unbound.length > 1 ? "s" : ""} ${unbound.map((n) => `\`${n}\``).join(", ")} ha${unbound.length > 1 ? "ve" : "s"} no size: give ${unbound.length > 1 ? "them" : "it"} a value`);
  }
  return out;
}

/**
 * The value of every evaluated node, indexed by node id. With env.roots, the
 * entries of nodes the roots do not depend on are left empty (undefined).
 */
export function interpret(graph: InterpGraph, env: InterpEnv): Tensor[] {
  // A fed name the model does not declare is most likely a typo; say so rather than report the real name missing.
  const declared = new Set([...graph.inputs, ...graph.targets].map((d) => d.name));
  for (const name of env.feeds.keys()) {
    if (!declared.has(name)) throw new Error(`\`${name}\` is fed but is not an input or target of this model (it declares: ${[...declared].join(", ") || "none"})`);
  }
  const nodes = graph.nodes;
  const position = new Map<NodeId, number>();
  nodes.forEach((n, i) => position.set(n.id, i));

  // Which nodes the roots need: one sweep backwards, since arguments come before their users.
  const needed = new Array<boolean>(nodes.length).fill(env.roots === undefined);
  for (const r of env.roots ?? []) {
    const i = position.get(r);
    if (i === undefined) throw new Error(`root ${r} is not a node of the graph`);
    needed[i] = true;
  }
  for (let i = nodes.length - 1; i >= 0; i--) {
    if (!needed[i]) continue;
    for (const a of nodes[i]!.args) {
      const j = position.get(a);
      if (j === undefined || j >= i) throw new Error(`internal: node ${nodes[i]!.id} (${nodes[i]!.op}) reads node ${a}, which does not come before it`);
      needed[j] = true;
    }
  }

  const values: Tensor[] = [];
  for (let i = 0; i < nodes.length; i++) {
    if (!needed[i]) continue;
    const node = nodes[i]!;
    const shape = graph.shapes[node.id];
    if (shape === undefined) throw new Error(`internal: node ${node.id} (${node.op}) has no shape`);
    const outShape = resolveShape(shape, env.dims);
    const value = env.frozen?.get(node.id) ?? evaluate(node, shape, outShape, values, env);
    if (!sameDims(value.shape, outShape)) {
      throw new Error(`internal: ${node.op} (node ${node.id}${node.name ? `, \`${node.name}\`` : ""}) produced ${formatDims(value.shape)}, but its shape is ${formatDims(shape)} = ${formatDims(outShape)}`);
    }
    values[node.id] = value;
  }
  return values;
}

function evaluate(node: Node, declared: Shape, outShape: readonly number[], values: readonly Tensor[], env: InterpEnv): Tensor {
  switch (node.op) {
    case "input": {
      const { role, name } = node.attrs;
      const t = env.feeds.get(name);
      if (t === undefined) throw new Error(`missing ${role} \`${name}\`: feed a tensor of shape ${formatDims(outShape)}`);
      return checked(t, `${role} \`${name}\``, declared, outShape);
    }
    case "param": {
      const t = env.params.get(node.attrs.name);
      if (t === undefined) throw new Error(`missing param \`${node.attrs.name}\`: give a tensor of shape ${formatDims(outShape)}`);
      return checked(t, `param \`${node.attrs.name}\``, declared, outShape);
    }
    default: {
      const arity = OPS[node.op].tensors.length;
      if (OPS[node.op].variadic === true ? node.args.length < arity : node.args.length !== arity) throw new Error(`internal: ${node.op} (node ${node.id}) has ${node.args.length} arguments, expected ${arity}`);
      const args = node.args.map((a) => values[a]!);
      const ctx: KernelCtx = { outShape, training: env.training, seed: env.seed, step: env.step ?? 0, dims: env.dims };
      // node.attrs matches node.op, a correlation TypeScript cannot follow through the union of kernels.
      const kernel = KERNELS[node.op] as unknown as Kernel<OpName>;
      return kernel(args, node.attrs, ctx);
    }
  }
}

/** A fed tensor, checked against the node's declared shape with its dims bound. */
function checked(t: Tensor, what: string, declared: Shape, want: readonly number[]): Tensor {
  if (!sameDims(t.shape, want)) {
    const decl = declared.some((d) => typeof d === "string") ? `${formatDims(declared)} = ${formatDims(want)}` : formatDims(want);
    throw new Error(`${what} has shape ${formatDims(t.shape)}, but the model declares ${decl}`);
  }
  if (t.data.length !== size(want)) throw new Error(`${what}: ${t.data.length} values do not fill its shape ${formatDims(want)}`);
  return t;
}
