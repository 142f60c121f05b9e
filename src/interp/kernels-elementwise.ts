// Elementwise kernels: every scalar op (arithmetic with numpy broadcasting,
// the activation functions, dropout and the derived slopes) evaluates the
// op's own scalar expression in float64, so the oracle computes exactly the
// formula the backends render.
import { OPS } from "../ops/registry.ts";
import { isScalarOp, registryScalar } from "../ops/scalar-rule.ts";
import { compile, type EvalEnv } from "../ops/scalar/eval.ts";
import type { OpName, ScalarOpName } from "../ops/types.ts";
import { DROPOUT_STREAM, uniform01 } from "../backend/cpu/runtime/rng.ts";
import type { Kernel } from "./kernels.ts";
import { broadcastIndex, broadcastShapes, sameDims, size } from "./tensor.ts";

/** A scalar op's kernel: its expression, compiled once per call, at each element of the broadcast result. */
const scalarKernel = <K extends ScalarOpName>(op: K): Kernel<K> => (args, attrs, ctx) => {
  const f = compile(registryScalar(op, attrs, ctx.training));
  // Dropout keeps element i iff uniform01(seed, DROPOUT_STREAM + stream, step, i) ≥ p.
  const env: EvalEnv = { keep: (p, stream, i) => uniform01(ctx.seed, DROPOUT_STREAM + stream, ctx.step, i) >= p };
  const shape = args.map((a) => a.shape).reduce(broadcastShapes);
  const n = size(shape);
  const out = new Float64Array(n);
  const at = args.map((a) => (sameDims(a.shape, shape) ? undefined : broadcastIndex(a.shape, shape)));
  const vals = new Array<number>(args.length);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < args.length; k++) vals[k] = args[k]!.data[at[k]?.[i] ?? i]!;
    out[i] = f(vals, i, env);
  }
  return { shape, data: out };
};

export const elementwiseKernels = Object.fromEntries(
  (Object.keys(OPS) as OpName[]).filter(isScalarOp).map((op) => [op, scalarKernel(op)]),
) as { readonly [K in ScalarOpName]: Kernel<K> };
