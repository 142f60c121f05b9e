// Kernels of average pooling, the integer-label cross-entropy and batch
// normalisation's statistics, in float64: the meaning the CPU runtime
// (src/backend/cpu/runtime/norm.ts) and the WGSL kernels are tested against.
import { poolOutSize } from "../backend/cpu/runtime/nn.ts";
import type { Kernel } from "./kernels.ts";
import { checkIndex, formatDims, sameDims, scalar, tensor, type Tensor } from "./tensor.ts";

type NormKernelName = "avgpool2d" | "global_avgpool" | "avgpool2d_grad" | "sparse_cross_entropy";

/** Visits every (window element of x, output element) pair of a ph × pw average pooling of x [b, h, w, c]. */
function forEachWindowTap(shape: readonly number[], ph: number, pw: number, visit: (xi: number, oi: number) => void): number[] {
  if (shape.length !== 4) throw new Error(`avgpool2d: expected [b, H, W, C], got ${formatDims(shape)}`);
  const [b, h, w, c] = shape as [number, number, number, number];
  const oh = poolOutSize(h, ph);
  const ow = poolOutSize(w, pw);
  for (let bi = 0; bi < b; bi++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++)
        for (let ci = 0; ci < c; ci++)
          for (let dy = 0; dy < ph; dy++)
            for (let dx = 0; dx < pw; dx++) visit(((bi * h + oy * ph + dy) * w + ox * pw + dx) * c + ci, ((bi * oh + oy) * ow + ox) * c + ci);
  return [b, oh, ow, c];
}

function avgpool(x: Tensor, ph: number, pw: number, global: boolean): Tensor {
  if (x.shape.length !== 4) throw new Error(`avgpool2d: expected [b, H, W, C], got ${formatDims(x.shape)}`);
  const [b, h, w, c] = x.shape as [number, number, number, number];
  const out = new Float64Array(b * poolOutSize(h, ph) * poolOutSize(w, pw) * c);
  const shape = forEachWindowTap(x.shape, ph, pw, (xi, oi) => (out[oi] += x.data[xi]!));
  for (let i = 0; i < out.length; i++) out[i]! /= ph * pw;
  return { shape: global ? [b, c] : shape, data: out };
}

export const normKernels: { readonly [K in NormKernelName]: Kernel<K> } = {
  avgpool2d: ([x], { size }) => avgpool(x!, size, size, false),
  global_avgpool: ([x]) => avgpool(x!, x!.shape[1]!, x!.shape[2]!, true),
  // Each window's gradient shared evenly by its elements; the windows do not overlap.
  avgpool2d_grad: ([g], { size }, ctx) => {
    const shape = ctx.outShape;
    const [ph, pw] = size === null ? [shape[1]!, shape[2]!] : [size, size];
    const out = tensor([...shape]);
    const pooled = forEachWindowTap(shape, ph, pw, (xi, oi) => (out.data[xi] += g!.data[oi]! / (ph * pw)));
    if (g!.data.length !== pooled.reduce((a, d) => a * d, 1)) throw new Error(`internal: avgpool2d_grad: the output gradient is ${formatDims(g!.shape)}, expected ${formatDims(pooled)}`);
    return out;
  },
  // mean over rows of logsumexp(z_row) − z_row[label]
  sparse_cross_entropy: ([z, y]) => {
    const width = z!.shape[z!.shape.length - 1]!;
    if (!sameDims(y!.shape, z!.shape.slice(0, -1))) throw new Error(`sparse_cross_entropy: labels ${formatDims(y!.shape)} for logits ${formatDims(z!.shape)}`);
    const rows = y!.data.length;
    let s = 0;
    for (let r = 0; r < rows; r++) {
      const row = z!.data.subarray(r * width, (r + 1) * width);
      const m = row.reduce((a, v) => Math.max(a, v), -Infinity);
      const lse = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
      s += lse - row[checkIndex(y!.data[r]!, width, "sparse_cross_entropy", "classes")]!;
    }
    return scalar(s / rows);
  },
};

/** Each channel's mean and the sum of squared deviations from it, over every axis but the last. */
function columnMoments(x: Tensor): { rows: number; mean: Float64Array; squares: Float64Array } {
  if (x.shape.length < 2) throw new Error(`batchnorm: expected rows and channels, got ${formatDims(x.shape)}`);
  const width = x.shape[x.shape.length - 1]!;
  const rows = x.data.length / width;
  const mean = new Float64Array(width);
  const squares = new Float64Array(width);
  for (let i = 0; i < x.data.length; i++) mean[i % width] += x.data[i]! / rows;
  for (let i = 0; i < x.data.length; i++) squares[i % width] += (x.data[i]! - mean[i % width]!) ** 2;
  return { rows, mean, squares };
}

/** In training, the batch's statistic; in inference, the running one, as it is. */
export const batchStatKernels: { readonly [K in "batch_mean" | "batch_var"]: Kernel<K> } = {
  batch_mean: ([x, running], _attrs, ctx) => (ctx.training ? tensor([x!.shape.at(-1)!], columnMoments(x!).mean) : running!),
  batch_var: ([x, running], { unbiased }, ctx) => {
    if (!ctx.training) return running!;
    const { rows, squares } = columnMoments(x!);
    const den = unbiased ? Math.max(rows, 2) - 1 : rows;
    return tensor([x!.shape.at(-1)!], squares.map((q) => q / den));
  },
};
