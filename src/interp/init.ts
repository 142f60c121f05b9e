// Parameter initialisation for the interpreter: the runtime's initParam
// (src/backend/cpu/runtime/init.ts) into Float64Arrays, so that every backend
// starts training from the same numbers for the same seed. Param i (its index
// in graph.params) draws uniform01(seed, PARAM_STREAM + i, 0, j) for its
// element j.
import type { ShapedGraph } from "../ir/graph.ts";
import type { Init } from "../ops/types.ts";
import { initFans, initParam } from "../backend/cpu/runtime/init.ts";
import { PARAM_STREAM } from "../backend/cpu/runtime/rng.ts";
import { initArguments } from "../backend/param-init.ts";
import { resolveShape, size, type Tensor } from "./tensor.ts";

/** fanIn and fanOut of a weight of this shape, as the initializers count them (see initFans). */
export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  const [fanIn, fanOut] = initFans(shape);
  return { fanIn, fanOut };
}

/** The values of one param of the given (resolved) shape, drawn from one stream by the runtime's initParam, in float64. */
export function initTensor(init: Init, shape: readonly number[], seed: number, stream: number): Tensor {
  const data = new Float64Array(size(shape));
  const { code, a, b } = initArguments(init);
  initParam(code, a, b, shape, seed, stream, data, 0);
  return { shape: [...shape], data };
}

/** Every param of the graph, by name, initialised for this seed. */
export function initParams(graph: Pick<ShapedGraph, "nodes" | "shapes" | "params">, dims: ReadonlyMap<string, number>, seed: number): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  graph.params.forEach((p, i) => {
    const node = byId.get(p.node);
    if (node?.op !== "param") throw new Error(`internal: param \`${p.name}\` has no param node`);
    const shape = resolveShape(graph.shapes[p.node]!, dims);
    out.set(p.name, initTensor(node.attrs.init, shape, seed, PARAM_STREAM + i));
  });
  return out;
}
