// Kernels for the structural ops: concat, slice, take and their gradient
// (unslice), permute, squeeze and the causal mask. Plain loops over the
// [outer, len, inner] view of an axis, as in kernels-shape.ts.
import type { Kernel } from "./kernels.ts";
import { axisView, normAxis, size, strides, tensor, type Tensor } from "./tensor.ts";

type StructureName = "causal_mask" | "permute" | "concat" | "slice" | "take" | "unslice" | "squeeze";

/** A position along an axis of size n, a negative one counted from the end; throws outside [0, n). */
function position(p: number, n: number, what: string): number {
  const q = p < 0 ? p + n : p;
  if (!(Number.isInteger(q) && q >= 0 && q < n)) throw new Error(`${what}: position ${p} is out of range for an axis of size ${n}`);
  return q;
}

/** x[..., start : start + count, ...] along axis a (the axis kept, of size count). */
function sliceOf(x: Tensor, a: number, start: number, count: number): Tensor {
  const { outer, len, inner } = axisView(x.shape, a);
  if (start + count > len || count < 1) throw new Error(`slice: ${start}:${start + count} does not fit an axis of size ${len}`);
  const out = new Float64Array(outer * count * inner);
  for (let o = 0; o < outer; o++) for (let j = 0; j < count; j++) for (let i = 0; i < inner; i++) out[(o * count + j) * inner + i] = x.data[(o * len + start + j) * inner + i]!;
  return { shape: x.shape.map((d, k) => (k === a ? count : d)), data: out };
}

export const structureKernels: { readonly [K in StructureName]: Kernel<K> } = {
  causal_mask: ([x], { fill }) => {
    const t = x!;
    const r = t.shape.length;
    const [rows, cols] = [t.shape[r - 2]!, t.shape[r - 1]!];
    const out = Float64Array.from(t.data);
    for (let k = 0; k < out.length; k++) if (k % cols > Math.floor(k / cols) % rows) out[k] = fill;
    return { shape: [...t.shape], data: out };
  },
  permute: ([x], { axes }) => {
    const t = x!;
    const r = t.shape.length;
    const perm = axes.map((a) => normAxis(a, r));
    const shape = perm.map((a) => t.shape[a]!);
    const xs = strides(t.shape);
    const os = strides(shape);
    const out = new Float64Array(t.data.length);
    for (let k = 0; k < out.length; k++) {
      let src = 0;
      for (let d = 0; d < r; d++) src += (Math.floor(k / os[d]!) % shape[d]!) * xs[perm[d]!]!;
      out[k] = t.data[src]!;
    }
    return { shape, data: out };
  },
  concat: (args, { axis }) => {
    const a = normAxis(axis, args[0]!.shape.length);
    const total = args.reduce((n, x) => n + x.shape[a]!, 0);
    const shape = args[0]!.shape.map((d, k) => (k === a ? total : d));
    const { outer, inner } = axisView(shape, a);
    const out = new Float64Array(size(shape));
    let before = 0;
    for (const x of args) {
      const len = x.shape[a]!;
      for (let o = 0; o < outer; o++) for (let j = 0; j < len; j++) for (let i = 0; i < inner; i++) out[(o * total + before + j) * inner + i] = x.data[(o * len + j) * inner + i]!;
      before += len;
    }
    return { shape, data: out };
  },
  slice: ([x], { start, end, axis }) => {
    const a = normAxis(axis, x!.shape.length);
    const n = x!.shape[a]!;
    const s = position(start, n, "slice");
    const e = end === null ? n : end < 0 ? end + n : end;
    return sliceOf(x!, a, s, e - s);
  },
  take: ([x], { index, axis }) => {
    const a = normAxis(axis, x!.shape.length);
    const picked = sliceOf(x!, a, position(index, x!.shape[a]!, "take"), 1);
    return tensor(x!.shape.filter((_, k) => k !== a), picked.data);
  },
  // The adjoint of slice and take: g written at `start` along the axis into zeros of the full shape.
  unslice: ([g], { start, axis }, ctx) => {
    const shape = ctx.outShape;
    const { outer, len, inner } = axisView(shape, axis);
    const count = g!.data.length / (outer * inner);
    const s = position(start, len, "unslice");
    const out = new Float64Array(size(shape));
    for (let o = 0; o < outer; o++) for (let j = 0; j < count; j++) for (let i = 0; i < inner; i++) out[(o * len + s + j) * inner + i] = g!.data[(o * count + j) * inner + i]!;
    return { shape: [...shape], data: out };
  },
  squeeze: ([x], _attrs, ctx) => tensor(ctx.outShape, x!.data),
};
