// Reverse-mode differentiation: ShapedGraph → GradGraph. Walks the forward
// nodes from the loss back to the params, asking each op's derivative rule
// for its arguments' contributions; sums contributions where a value fans
// out; sums broadcast contributions down to the argument's shape (the one
// place un-broadcasting happens); then drops backward nodes nothing needs.
import type { DiagnosticBag } from "../diag/diagnostic.ts";
import type { GradGraph, Gradient, Node, NodeId, ShapedGraph } from "../ir/graph.ts";
import { OPS } from "../ops/registry.ts";
import type { OpDef, OpName, Ref, VjpArgs, VjpRule } from "../ops/types.ts";
import { fuseLosses } from "./fuse.ts";
import { BackwardBuilder } from "./grad-builder.ts";
import { sameShape } from "./simplify.ts";

export interface GradOptions {
  /** Values to differentiate with respect to, by name; default: every param. */
  readonly wrt?: readonly string[];
}

export function differentiate(input: ShapedGraph, bag: DiagnosticBag, opts: GradOptions = {}): GradGraph | undefined {
  const graph = fuseLosses(input);
  const start = graph.file.span(0, 0);
  if (!graph.loss) {
    bag.error("NNC303", start, "the model has no `loss` to differentiate", { hint: "add a line such as `loss = mse(out, y)`" });
    return undefined;
  }
  // Running statistics are params that training updates by their own rule, not by gradient.
  const stats = new Set((graph.runningStats ?? []).map((r) => r.name));
  const wrt = wrtValues(graph, bag, opts.wrt ?? graph.params.filter((p) => !stats.has(p.name)).map((p) => p.name));
  if (bag.hasErrors) return undefined;

  // Which values depend on a wrt value through ops that pass gradients.
  const needsGrad = new Array<boolean>(graph.nodes.length).fill(false);
  for (const w of wrt) needsGrad[w.node] = true;
  for (const n of graph.nodes) {
    const vjp = OPS[n.op].vjp;
    if (vjp !== "nograd" && n.args.some((a) => needsGrad[a])) needsGrad[n.id] = true;
  }

  const b = new BackwardBuilder(graph.nodes, graph.shapes, graph.dtypes);
  const contributions = new Map<NodeId, Ref[]>();
  const adjoints = new Map<NodeId, NodeId>();
  const lossNode = graph.nodes[graph.loss.node]!;
  b.current = lossNode;
  contributions.set(lossNode.id, [b.c(1)]);

  for (let id = graph.loss.node; id >= 0; id--) {
    const parts = contributions.get(id);
    if (!parts || !needsGrad[id]) continue;
    const node = graph.nodes[id]!;
    b.current = node;
    // Fan-out: a value used several times receives the sum of its uses' contributions.
    const g = parts.reduce((acc, p) => b.add(acc, p));
    adjoints.set(id, g);
    const def = OPS[node.op] as unknown as OpDef<OpName>;
    if (def.kind === "source" || def.vjp === "nograd") continue;
    const needs = node.args.map((a) => needsGrad[a]!);
    if (def.vjp === "unsupported") {
      reportUnsupported(node, bag);
      continue;
    }
    const rule = def.vjp as VjpRule<OpName>;
    const args: VjpArgs<OpName> = { g, args: node.args, out: id, attrs: node.attrs, b, needs };
    const result = rule(args);
    result.forEach((contribution, i) => {
      const arg = node.args[i]!;
      if (!needs[i] || contribution === null) return;
      if (contribution === "unsupported") {
        reportUnsupported(node, bag, i);
        return;
      }
      // Un-broadcasting, once for every rule: sum a broadcast contribution down to the argument's shape.
      const fitted = sameShape(b.shape(contribution), b.shape(arg)) ? contribution : b.op("sum_to", [contribution], { shape: b.shape(arg) });
      const list = contributions.get(arg) ?? [];
      list.push(fitted);
      contributions.set(arg, list);
    });
  }
  if (bag.hasErrors) return undefined;

  const gradients: Gradient[] = [];
  for (const w of wrt) {
    let node = adjoints.get(w.node);
    if (node === undefined) {
      const decl = graph.nodes[w.node]!;
      bag.warning("NNC302", decl.span, `\`${w.name}\` gets no gradient: the loss does not depend on it through differentiable operations`, {
        hint: "its gradient is zero; step, sign, argmax and accuracy pass no gradient",
      });
      b.current = decl;
      node = b.op("broadcast_to", [b.c(0)], { shape: b.shape(w.node) });
    }
    gradients.push({ name: w.name, of: w.node, node });
  }
  return prune(graph, b, gradients, adjoints);
}

/** The values named to differentiate with respect to; an unknown or integer one is an error. */
function wrtValues(graph: ShapedGraph, bag: DiagnosticBag, names: readonly string[]): { name: string; node: NodeId }[] {
  const named = new Map<string, NodeId>();
  for (const n of graph.nodes) if (n.name !== undefined && !named.has(n.name)) named.set(n.name, n.id);
  const wrt: { name: string; node: NodeId }[] = [];
  for (const name of names) {
    const id = named.get(name);
    if (id === undefined) {
      bag.error("NNC304", graph.file.span(0, 0), `there is no value named \`${name}\` to differentiate with respect to`);
      continue;
    }
    if (graph.dtypes[id] !== "f32") {
      bag.error("NNC304", graph.nodes[id]!.span, `\`${name}\` holds integers and has no gradient`);
      continue;
    }
    wrt.push({ name, node: id });
  }
  return wrt;
}

function reportUnsupported(node: Node, bag: DiagnosticBag, arg?: number): void {
  const def = OPS[node.op] as unknown as OpDef<OpName>;
  const which = arg === undefined ? "" : ` with respect to its argument \`${def.tensors[arg] ?? arg}\``;
  bag.error("NNC301", node.span, `cannot differentiate \`${def.callName ?? node.op}\`${which}: nnc has no derivative rule for it`, {
    hint: "the loss needs this gradient; rewrite the expression with differentiable operations",
  });
}

/** Keeps the forward graph whole and the backward nodes the gradients need, renumbered in order. */
function prune(graph: ShapedGraph, b: BackwardBuilder, gradients: Gradient[], adjoints: Map<NodeId, NodeId>): GradGraph {
  const forwardCount = graph.nodes.length;
  const live = new Set<NodeId>();
  const stack = gradients.map((g) => g.node);
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (live.has(id) || id < forwardCount) continue;
    live.add(id);
    stack.push(...b.nodes[id]!.args);
  }
  const map = new Map<NodeId, NodeId>();
  for (let i = 0; i < forwardCount; i++) map.set(i, i);
  const nodes: Node[] = [...graph.nodes];
  const shapes = [...graph.shapes];
  const dtypes = [...graph.dtypes];
  for (let id = forwardCount; id < b.nodes.length; id++) {
    if (!live.has(id)) continue;
    const n = b.nodes[id]!;
    const newId = nodes.length;
    map.set(id, newId);
    nodes.push({ ...n, id: newId, args: n.args.map((a) => map.get(a)!) } as Node);
    shapes.push(b.shapes[id]!);
    dtypes.push(b.dtypes[id]!);
  }
  const keptAdjoints = new Map([...adjoints].filter(([, adj]) => map.has(adj)).map(([fwd, adj]) => [fwd, map.get(adj)!] as const));
  const { stage: _stage, ...rest } = graph;
  return {
    ...rest,
    stage: "grad",
    nodes,
    shapes,
    dtypes,
    forwardCount,
    gradients: gradients.map((g) => ({ ...g, node: map.get(g.node)! })),
    adjoints: keptAdjoints,
  };
}
