// Kernels for the matrix product, reshaping, one-hot, and the ops along an
// axis (softmax, reductions, argmax), plus broadcast_to and its adjoint
// sum_to, which the gradient pass inserts around broadcasting ops.
import type { Kernel } from "./kernels.ts";
import { axisView, broadcastIndex, broadcastShapes, checkIndex, formatDims, normAxis, size, tensor, type Tensor } from "./tensor.ts";

type ShapeName = "matmul" | "transpose" | "reshape" | "flatten" | "one_hot" | "one_hot_to" | "sum_to" | "broadcast_to";
type AxisName = "softmax" | "log_softmax" | "sum" | "mean" | "max" | "argmax";

/** numpy matmul: a vector on the left is a row, on the right a column (the added axis is dropped again); batch axes broadcast. */
function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.shape.length === 0 || b.shape.length === 0) throw new Error("matmul: operands must have at least one axis");
  const left = a.shape.length === 1 ? [1, a.shape[0]!] : a.shape;
  const right = b.shape.length === 1 ? [b.shape[0]!, 1] : b.shape;
  const m = left[left.length - 2]!;
  const k = left[left.length - 1]!;
  const n = right[right.length - 1]!;
  if (right[right.length - 2] !== k) throw new Error(`matmul: cannot multiply ${formatDims(a.shape)} by ${formatDims(b.shape)}`);
  const batchA = left.slice(0, -2);
  const batchB = right.slice(0, -2);
  const batch = broadcastShapes(batchA, batchB);
  const ia = broadcastIndex(batchA, batch);
  const ib = broadcastIndex(batchB, batch);
  const nb = size(batch);
  const out = new Float64Array(nb * m * n);
  for (let bi = 0; bi < nb; bi++) {
    const ao = ia[bi]! * m * k;
    const bo = ib[bi]! * k * n;
    const oo = bi * m * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += a.data[ao + i * k + p]! * b.data[bo + p * n + j]!;
        out[oo + i * n + j] = s;
      }
    }
  }
  const shape = [...batch, ...(a.shape.length >= 2 ? [m] : []), ...(b.shape.length >= 2 ? [n] : [])];
  return { shape, data: out };
}

function transpose(x: Tensor): Tensor {
  const r = x.shape.length;
  if (r < 2) return tensor(x.shape, x.data);
  const rows = x.shape[r - 2]!;
  const cols = x.shape[r - 1]!;
  const out = new Float64Array(x.data.length);
  const nb = x.data.length / (rows * cols) || 0;
  for (let b = 0; b < nb; b++) {
    const o = b * rows * cols;
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[o + j * rows + i] = x.data[o + i * cols + j]!;
  }
  return { shape: [...x.shape.slice(0, -2), cols, rows], data: out };
}

/** Same elements in the same order, under the node's (already resolved) shape. */
function reshapeTo(x: Tensor, shape: readonly number[]): Tensor {
  if (size(shape) !== x.data.length) throw new Error(`reshape: cannot view ${formatDims(x.shape)} as ${formatDims(shape)}`);
  return tensor(shape, x.data);
}

/** A reduction along one axis (or over everything for null), keeping or dropping the reduced axis. */
function reduce(x: Tensor, axis: number | null, keepdims: boolean, init: number, f: (acc: number, v: number) => number, finish: (acc: number, n: number) => number): Tensor {
  if (axis === null) {
    let acc = init;
    for (let i = 0; i < x.data.length; i++) acc = f(acc, x.data[i]!);
    return tensor(keepdims ? x.shape.map(() => 1) : [], [finish(acc, x.data.length)]);
  }
  const ax = normAxis(axis, x.shape.length);
  const { outer, len, inner } = axisView(x.shape, ax);
  const out = new Float64Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let acc = init;
      for (let j = 0; j < len; j++) acc = f(acc, x.data[(o * len + j) * inner + i]!);
      out[o * inner + i] = finish(acc, len);
    }
  }
  const shape = keepdims ? x.shape.map((d, i) => (i === ax ? 1 : d)) : x.shape.filter((_, i) => i !== ax);
  return { shape, data: out };
}

/** Index of the first largest of n values read through at(j). */
export function argmaxOf(n: number, at: (j: number) => number): number {
  let best = 0;
  for (let j = 1; j < n; j++) if (at(j) > at(best)) best = j;
  return best;
}

/** softmax (log = false) or log_softmax along an axis, shifted by the maximum so that exp never overflows. */
function softmaxAlong(x: Tensor, axis: number, log: boolean): Tensor {
  const ax = normAxis(axis, x.shape.length);
  const { outer, len, inner } = axisView(x.shape, ax);
  const out = new Float64Array(x.data.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const at = (j: number) => (o * len + j) * inner + i;
      let m = -Infinity;
      for (let j = 0; j < len; j++) m = Math.max(m, x.data[at(j)]!);
      let s = 0;
      for (let j = 0; j < len; j++) s += Math.exp(x.data[at(j)]! - m);
      const logS = Math.log(s);
      for (let j = 0; j < len; j++) {
        const z = x.data[at(j)]! - m;
        out[at(j)] = log ? z - logS : Math.exp(z) / s;
      }
    }
  }
  return { shape: [...x.shape], data: out };
}

export const shapeKernels: { readonly [K in ShapeName | AxisName]: Kernel<K> } = {
  matmul: ([a, b]) => matmul(a!, b!),
  transpose: ([x]) => transpose(x!),
  reshape: ([x], _attrs, ctx) => reshapeTo(x!, ctx.outShape),
  flatten: ([x], _attrs, ctx) => reshapeTo(x!, ctx.outShape),
  one_hot: ([ids], { n }) => {
    const out = new Float64Array(ids!.data.length * n);
    for (let i = 0; i < ids!.data.length; i++) out[i * n + checkIndex(ids!.data[i]!, n, "one_hot", "classes")] = 1;
    return { shape: [...ids!.shape, n], data: out };
  },
  one_hot_to: ([ids], _attrs, ctx) => {
    const n = ctx.outShape[ctx.outShape.length - 1]!;
    const out = new Float64Array(ids!.data.length * n);
    for (let i = 0; i < ids!.data.length; i++) out[i * n + checkIndex(ids!.data[i]!, n, "one_hot", "classes")] = 1;
    return { shape: [...ctx.outShape], data: out };
  },
  softmax: ([x], { axis }) => softmaxAlong(x!, axis, false),
  log_softmax: ([x], { axis }) => softmaxAlong(x!, axis, true),
  sum: ([x], { axis, keepdims }) => reduce(x!, axis, keepdims, 0, (a, v) => a + v, (a) => a),
  mean: ([x], { axis, keepdims }) => reduce(x!, axis, keepdims, 0, (a, v) => a + v, (a, n) => a / n),
  max: ([x], { axis, keepdims }) => reduce(x!, axis, keepdims, -Infinity, Math.max, (a) => a),
  argmax: ([x], { axis }) => {
    const t = x!;
    if (axis === null) return tensor([], [argmaxOf(t.data.length, (j) => t.data[j]!)]);
    const ax = normAxis(axis, t.shape.length);
    const { outer, len, inner } = axisView(t.shape, ax);
    const out = new Float64Array(outer * inner);
    for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) out[o * inner + i] = argmaxOf(len, (j) => t.data[(o * len + j) * inner + i]!);
    return { shape: t.shape.filter((_, i) => i !== ax), data: out };
  },
  // The adjoint of broadcast_to: every element of x is added into the element of the target it was broadcast from.
  sum_to: ([x], _attrs, ctx) => {
    const from = broadcastIndex(ctx.outShape, x!.shape);
    const out = new Float64Array(size(ctx.outShape));
    for (let i = 0; i < from.length; i++) out[from[i]!] += x!.data[i]!;
    return { shape: [...ctx.outShape], data: out };
  },
  broadcast_to: ([x], _attrs, ctx) => {
    const from = broadcastIndex(x!.shape, ctx.outShape);
    const out = new Float64Array(from.length);
    for (let i = 0; i < from.length; i++) out[i] = x!.data[from[i]!]!;
    return { shape: [...ctx.outShape], data: out };
  },
};
