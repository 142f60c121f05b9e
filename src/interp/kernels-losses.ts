// Loss and metric kernels; each returns a scalar. "Rows" are every axis but
// the last (for a vector or scalar: one row), matching the op docs: the
// class losses and accuracy average over rows, mse and binary cross-entropy
// over all elements, and the penalties sum.
import type { Kernel } from "./kernels.ts";
import { argmaxOf } from "./kernels-shape.ts";
import { checkIndex, formatDims, sameDims, scalar, type Tensor } from "./tensor.ts";

type LossName =
  | "mse"
  | "cross_entropy"
  | "softmax_cross_entropy"
  | "binary_cross_entropy"
  | "sigmoid_binary_cross_entropy"
  | "hinge"
  | "sumsq"
  | "sumabs"
  | "accuracy";

/** The pair a loss compares, checked to have one shape, viewed as rows × width. */
function pair(what: string, a: Tensor, b: Tensor): { rows: number; width: number; p: Float64Array; y: Float64Array } {
  if (!sameDims(a.shape, b.shape)) throw new Error(`${what}: arguments of different shapes ${formatDims(a.shape)} and ${formatDims(b.shape)}`);
  const width = a.shape.length === 0 ? 1 : a.shape[a.shape.length - 1]!;
  return { rows: a.data.length / width, width, p: a.data, y: b.data };
}

/** The mean over all elements of f(p, y). */
function meanOf(what: string, a: Tensor, b: Tensor, f: (p: number, y: number) => number): Tensor {
  const { p, y } = pair(what, a, b);
  let s = 0;
  for (let i = 0; i < p.length; i++) s += f(p[i]!, y[i]!);
  return scalar(s / p.length);
}

/** The mean over rows of f(row of p, row of y), each row given as an offset and a width. */
function meanOfRows(what: string, a: Tensor, b: Tensor, f: (p: Float64Array, y: Float64Array, o: number, width: number) => number): Tensor {
  const { rows, width, p, y } = pair(what, a, b);
  let s = 0;
  for (let r = 0; r < rows; r++) s += f(p, y, r * width, width);
  return scalar(s / rows);
}

/**
 * Cross-entropy's targets are distributions: each row non-negative and
 * summing to 1 (one-hot labels or soft labels). The fused gradient
 * (softmax(z) − y)/rows relies on it, so the oracle refuses anything else.
 */
function checkDistribution(what: string, y: Float64Array, o: number, width: number, oneHot: boolean): void {
  let sum = 0;
  for (let j = 0; j < width; j++) {
    const v = y[o + j]!;
    if (!(v >= 0) || (oneHot && v !== 0 && v !== 1)) throw new Error(`${what}: target row ${o / width} must be ${oneHot ? "one-hot" : "a distribution"}, but holds ${v}`);
    sum += v;
  }
  if (Math.abs(sum - 1) > 1e-6) throw new Error(`${what}: target row ${o / width} must sum to 1, but sums to ${sum}`);
}

function sumOf(x: Tensor, f: (v: number) => number): Tensor {
  let s = 0;
  for (let i = 0; i < x.data.length; i++) s += f(x.data[i]!);
  return scalar(s);
}

export const lossKernels: { readonly [K in LossName]: Kernel<K> } = {
  mse: ([p, y]) => meanOf("mse", p!, y!, (a, b) => (a - b) * (a - b)),
  // −Σ y·log p per row, with 0·log 0 = 0 (a class the target rules out adds nothing).
  cross_entropy: ([p, y]) =>
    meanOfRows("cross_entropy", p!, y!, (pd, yd, o, w) => {
      checkDistribution("cross_entropy", yd, o, w, false);
      let s = 0;
      for (let j = 0; j < w; j++) if (yd[o + j]! !== 0) s -= yd[o + j]! * Math.log(pd[o + j]!);
      return s;
    }),
  // Σ y·(logsumexp(z) − z) per row, with the row maximum factored out of logsumexp.
  softmax_cross_entropy: ([z, y]) =>
    meanOfRows("softmax_cross_entropy", z!, y!, (zd, yd, o, w) => {
      checkDistribution("softmax_cross_entropy", yd, o, w, false);
      let m = -Infinity;
      for (let j = 0; j < w; j++) m = Math.max(m, zd[o + j]!);
      let e = 0;
      for (let j = 0; j < w; j++) e += Math.exp(zd[o + j]! - m);
      const lse = m + Math.log(e);
      let s = 0;
      for (let j = 0; j < w; j++) s += yd[o + j]! * (lse - zd[o + j]!);
      return s;
    }),
  binary_cross_entropy: ([p, y]) => meanOf("binary_cross_entropy", p!, y!, (a, b) => -(b * Math.log(a) + (1 - b) * Math.log(1 - a))),
  // −(y log σ(z) + (1−y) log(1−σ(z))) = max(z, 0) − z·y + log(1 + e^−|z|), which never overflows.
  sigmoid_binary_cross_entropy: ([z, y]) =>
    meanOf("sigmoid_binary_cross_entropy", z!, y!, (a, b) => Math.max(a, 0) - a * b + Math.log1p(Math.exp(-Math.abs(a)))),
  // Σ_{j ≠ label} max(0, s_j − s_label + 1) per row, the label being the (first) argmax of the one-hot row.
  hinge: ([s, y]) =>
    meanOfRows("hinge", s!, y!, (sd, yd, o, w) => {
      checkDistribution("hinge", yd, o, w, true);
      const label = argmaxOf(w, (j) => yd[o + j]!);
      let t = 0;
      for (let j = 0; j < w; j++) if (j !== label) t += Math.max(0, sd[o + j]! - sd[o + label]! + 1);
      return t;
    }),
  sumsq: ([x]) => sumOf(x!, (v) => v * v),
  sumabs: ([x]) => sumOf(x!, Math.abs),
  // The share of rows whose first argmax is y's class: y's own first argmax (one-hot rows), or its id (one integer label per row).
  accuracy: ([p, y]) => {
    if (p!.shape.length > 0 && sameDims(y!.shape, p!.shape.slice(0, -1))) {
      const width = p!.shape[p!.shape.length - 1]!;
      const rows = y!.data.length;
      let hits = 0;
      for (let r = 0; r < rows; r++) if (argmaxOf(width, (j) => p!.data[r * width + j]!) === checkIndex(y!.data[r]!, width, "accuracy", "classes")) hits++;
      return scalar(hits / rows);
    }
    return meanOfRows("accuracy", p!, y!, (pd, yd, o, w) => (argmaxOf(w, (j) => pd[o + j]!) === argmaxOf(w, (j) => yd[o + j]!) ? 1 : 0));
  },
};
