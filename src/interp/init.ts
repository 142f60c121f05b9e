// Parameter initialisation from the shared counter-based RNG, so that every
// backend starts training from the same numbers for the same seed. Param i
// (its index in graph.params) draws uniform01(seed, PARAM_STREAM + i, 0, j)
// for its element j.
import type { ShapedGraph } from "../ir/graph.ts";
import type { Init } from "../ops/types.ts";
import { PARAM_STREAM, uniform01 } from "../runtime/rng.ts";
import { resolveShape, size, type Tensor } from "./tensor.ts";

/**
 * fanIn and fanOut of a weight of this shape: for rank ≥ 2 the last two axes
 * are [in, out] and the leading ones a receptive field (a conv kernel
 * [kh, kw, C, F] has fanIn kh·kw·C, fanOut kh·kw·F); a vector has
 * fanIn = fanOut = its length; a scalar 1.
 */
export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  const r = shape.length;
  if (r === 0) return { fanIn: 1, fanOut: 1 };
  if (r === 1) return { fanIn: shape[0]!, fanOut: shape[0]! };
  const receptive = size(shape.slice(0, -2));
  return { fanIn: shape[r - 2]! * receptive, fanOut: shape[r - 1]! * receptive };
}

/**
 * n standard normal numbers by Box–Muller: the pair of elements (2j, 2j+1)
 * takes u1 = draw(2j), u2 = draw(2j+1) and gives
 * r·cos(2π·u2) and r·sin(2π·u2) with r = sqrt(−2·ln(1 − u1)).
 * (1 − u1 lies in (0, 1], so the log is finite.) An odd last element uses
 * the cosine of its pair only.
 */
function standardNormals(n: number, draw: (index: number) => number): Float64Array {
  const out = new Float64Array(n);
  for (let j = 0; 2 * j < n; j++) {
    const r = Math.sqrt(-2 * Math.log(1 - draw(2 * j)));
    const theta = 2 * Math.PI * draw(2 * j + 1);
    out[2 * j] = r * Math.cos(theta);
    if (2 * j + 1 < n) out[2 * j + 1] = r * Math.sin(theta);
  }
  return out;
}

/** The values of one param of the given (resolved) shape, drawn from one stream. */
export function initTensor(init: Init, shape: readonly number[], draw: (index: number) => number): Tensor {
  const n = size(shape);
  const uniform = (low: number, high: number) => Float64Array.from({ length: n }, (_, j) => low + (high - low) * draw(j));
  const normal = (mean: number, std: number) => standardNormals(n, draw).map((z) => mean + std * z);
  const { fanIn, fanOut } = fans(shape);
  let data: Float64Array;
  switch (init.kind) {
    case "zeros":
      data = new Float64Array(n);
      break;
    case "ones":
      data = new Float64Array(n).fill(1);
      break;
    case "uniform":
      data = uniform(init.low, init.high);
      break;
    case "normal":
      data = normal(init.mean, init.std);
      break;
    case "xavier": {
      // Glorot & Bengio: keeps activation variance across a layer for tanh-like units.
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      data = uniform(-limit, limit);
      break;
    }
    case "he":
      // He et al.: variance 2/fanIn suits ReLU layers.
      data = normal(0, Math.sqrt(2 / fanIn));
      break;
    default: {
      const never: never = init;
      throw new Error(`internal: unknown initializer ${JSON.stringify(never)}`);
    }
  }
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
    out.set(p.name, initTensor(node.attrs.init, shape, (j) => uniform01(seed, PARAM_STREAM + i, 0, j)));
  });
  return out;
}
