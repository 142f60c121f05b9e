// Elementwise kernels: binary operators with numpy broadcasting, and the
// one-argument functions. NaN propagates (Math.max, not a comparison) so that
// the oracle shows a NaN rather than hiding it.
import type { Kernel } from "./kernels.ts";
import { broadcastIndex, broadcastShapes, sameDims, size, type Tensor } from "./tensor.ts";

type BinaryName = "add" | "sub" | "mul" | "div" | "pow" | "maximum" | "minimum" | "eq";
type UnaryName = "neg" | "relu" | "sigmoid" | "tanh" | "exp" | "log" | "sqrt" | "abs" | "step" | "sign" | "stop_gradient";

function binary(f: (a: number, b: number) => number): (args: readonly Tensor[]) => Tensor {
  return ([a, b]) => {
    const shape = broadcastShapes(a!.shape, b!.shape);
    const n = size(shape);
    const out = new Float64Array(n);
    const x = a!.data;
    const y = b!.data;
    if (sameDims(a!.shape, shape) && sameDims(b!.shape, shape)) {
      for (let i = 0; i < n; i++) out[i] = f(x[i]!, y[i]!);
    } else {
      const ia = broadcastIndex(a!.shape, shape);
      const ib = broadcastIndex(b!.shape, shape);
      for (let i = 0; i < n; i++) out[i] = f(x[ia[i]!]!, y[ib[i]!]!);
    }
    return { shape, data: out };
  };
}

export function unaryMap(x: Tensor, f: (v: number) => number): Tensor {
  const out = new Float64Array(x.data.length);
  for (let i = 0; i < out.length; i++) out[i] = f(x.data[i]!);
  return { shape: [...x.shape], data: out };
}

function unary(f: (v: number) => number): (args: readonly Tensor[]) => Tensor {
  return ([x]) => unaryMap(x!, f);
}

/** 1 / (1 + e^−x) without overflow: e^−x is only taken for x ≥ 0, e^x only for x < 0. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

export const elementwiseKernels: { readonly [K in BinaryName | UnaryName | "leaky_relu"]: Kernel<K> } = {
  add: binary((a, b) => a + b),
  sub: binary((a, b) => a - b),
  mul: binary((a, b) => a * b),
  div: binary((a, b) => a / b),
  pow: binary(Math.pow),
  maximum: binary(Math.max),
  minimum: binary(Math.min),
  eq: binary((a, b) => (a === b ? 1 : 0)),
  neg: unary((v) => -v),
  relu: unary((v) => Math.max(v, 0)),
  leaky_relu: ([x], { slope }) => unaryMap(x!, (v) => (v > 0 ? v : slope * v)),
  sigmoid: unary(sigmoid),
  tanh: unary(Math.tanh),
  exp: unary(Math.exp),
  log: unary(Math.log),
  sqrt: unary(Math.sqrt),
  abs: unary(Math.abs),
  step: unary((v) => (v > 0 ? 1 : 0)),
  // + 0 turns Math.sign's −0 into 0; NaN stays NaN.
  sign: unary((v) => Math.sign(v) + 0),
  stop_gradient: unary((v) => v),
};
