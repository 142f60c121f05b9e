// The reference interpreter's kernels: one float64 function per op, in a table
// typed by OpName so that an op without a kernel fails to compile. They are
// the oracle the CPU and WebGPU backends and the gradient checks are measured
// against, so each favours plain, obviously-right loops over speed.
import type { OpAttrs, OpName } from "../ops/types.ts";
import { elementwiseKernels } from "./kernels-elementwise.ts";
import { layerKernels } from "./kernels-layers.ts";
import { lossKernels } from "./kernels-losses.ts";
import { batchStatKernels, normKernels } from "./kernels-norm.ts";
import { shapeKernels } from "./kernels-shape.ts";
import { structureKernels } from "./kernels-structure.ts";
import { scalar, type Tensor } from "./tensor.ts";

export interface KernelCtx {
  /** The node's shape with every dim bound: ops whose result shape is an attribute (reshape, sum_to, gradients) read it here. */
  readonly outShape: readonly number[];
  /** Dropout is active only in training. */
  readonly training: boolean;
  readonly seed: number;
  /** The training step: dropout draws a fresh mask at each. */
  readonly step: number;
  readonly dims: ReadonlyMap<string, number>;
}

export type Kernel<K extends OpName> = (args: readonly Tensor[], attrs: OpAttrs[K], ctx: KernelCtx) => Tensor;

type SourceName = "input" | "param" | "const" | "dimval";

const sourceKernels: { readonly [K in SourceName]: Kernel<K> } = {
  // Fed data and parameters come from the environment, which interpret() reads itself.
  input: () => {
    throw new Error("internal: inputs are read by interpret(), not by a kernel");
  },
  param: () => {
    throw new Error("internal: params are read by interpret(), not by a kernel");
  },
  const: (_args, { value }) => scalar(value),
  dimval: (_args, { dim }, ctx) => {
    const v = ctx.dims.get(dim);
    if (v === undefined) throw new Error(`dim \`${dim}\` is not bound to a size`);
    return scalar(v);
  },
};

export const KERNELS: { readonly [K in OpName]: Kernel<K> } = {
  ...sourceKernels,
  ...elementwiseKernels,
  ...shapeKernels,
  ...layerKernels,
  ...lossKernels,
  ...structureKernels,
  ...normKernels,
  ...batchStatKernels,
};
