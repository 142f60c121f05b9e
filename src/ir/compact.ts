// Removes unused nodes and renumbers the rest, remapping every reference
// (arguments, declarations, outputs, the loss, shapes). Order is kept, so the
// result is still topological and deterministic.
import type { Declared, Node, NodeId, ShapedGraph } from "./graph.ts";

/** Nodes the given roots depend on, roots included. */
export function liveFrom(nodes: readonly Node[], roots: Iterable<NodeId>): Set<NodeId> {
  const live = new Set<NodeId>();
  const stack = [...roots];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (live.has(id)) continue;
    live.add(id);
    stack.push(...nodes[id]!.args);
  }
  return live;
}

/** Keeps `keep` (and every declared source), dropping the rest; returns the graph and the old → new id map. */
export function compact(graph: ShapedGraph, keep: ReadonlySet<NodeId>): { graph: ShapedGraph; map: Map<NodeId, NodeId> } {
  const map = new Map<NodeId, NodeId>();
  const sources = new Set([...graph.inputs, ...graph.targets, ...graph.params].map((d) => d.node));
  const nodes: Node[] = [];
  const shapes: ShapedGraph["shapes"][number][] = [];
  const dtypes: ShapedGraph["dtypes"][number][] = [];
  for (const n of graph.nodes) {
    if (!keep.has(n.id) && !sources.has(n.id)) continue;
    const id = nodes.length;
    map.set(n.id, id);
    nodes.push({ ...n, id, args: n.args.map((a) => map.get(a)!) } as Node);
    shapes.push(graph.shapes[n.id]!);
    dtypes.push(graph.dtypes[n.id]!);
  }
  const remap = (ds: readonly Declared[]) => ds.filter((d) => map.has(d.node)).map((d) => ({ ...d, node: map.get(d.node)! }));
  const declaredShapes = new Map([...graph.declaredShapes].filter(([id]) => map.has(id)).map(([id, s]) => [map.get(id)!, s] as const));
  return {
    graph: {
      ...graph,
      nodes,
      shapes,
      dtypes,
      inputs: remap(graph.inputs),
      targets: remap(graph.targets),
      params: remap(graph.params),
      ...(graph.runningStats ? { runningStats: graph.runningStats.filter((r) => map.has(r.node) && map.has(r.update)).map((r) => ({ ...r, node: map.get(r.node)!, update: map.get(r.update)! })) } : {}),
      outputs: remap(graph.outputs),
      ...(graph.loss ? { loss: { ...graph.loss, node: map.get(graph.loss.node)! } } : {}),
      declaredShapes,
    },
    map,
  };
}
