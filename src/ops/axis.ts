// Ops along an axis: softmax, reductions, argmax.
import { normalizeAxis } from "./shape-rules.ts";
import { defineOp, type IShape, type OpDef, type ShapeCtx } from "./types.ts";

function reduced(shape: IShape, axis: number | null, keepdims: boolean, ctx: ShapeCtx): IShape | undefined {
  if (axis === null) return keepdims ? shape.map(() => 1) : [];
  const a = normalizeAxis(axis, shape.length, ctx);
  if (a === undefined) return undefined;
  return keepdims ? shape.map((d, i) => (i === a ? 1 : d)) : shape.filter((_, i) => i !== a);
}

type ReduceName = "sum" | "mean" | "max";
function reduction<K extends ReduceName>(name: K, doc: string): OpDef<K> {
  return defineOp<ReduceName>({
    name,
    kind: "reduce",
    callName: name,
    tensors: ["x"],
    attrs: { axis: { kind: "int?", default: null }, keepdims: { kind: "bool", default: false } },
    differentiable: true,
    shape: ([x], { axis, keepdims }, ctx) => reduced(x!.shape, axis, keepdims, ctx),
    doc,
  }) as OpDef<K>;
}

type SoftmaxName = "softmax" | "log_softmax";
function softmaxLike<K extends SoftmaxName>(name: K, doc: string): OpDef<K> {
  return defineOp<SoftmaxName>({
    name,
    kind: "reduce",
    callName: name,
    tensors: ["x"],
    attrs: { axis: { kind: "int", default: -1 } },
    differentiable: true,
    shape: ([x], { axis }, ctx) => (normalizeAxis(axis, x!.shape.length, ctx) === undefined ? undefined : x!.shape),
    doc,
  }) as OpDef<K>;
}

export const axisOps = {
  softmax: softmaxLike("softmax", "softmax(x, axis = -1): exp(x) normalised to sum 1 along the axis"),
  log_softmax: softmaxLike("log_softmax", "log_softmax(x, axis = -1): x − logsumexp(x) along the axis"),
  sum: reduction("sum", "sum(x, axis?, keepdims = false); no axis: over everything"),
  mean: reduction("mean", "mean(x, axis?, keepdims = false); no axis: over everything"),
  max: reduction("max", "max(x, axis?, keepdims = false); no axis: over everything"),
  argmax: defineOp({
    name: "argmax",
    kind: "reduce",
    callName: "argmax",
    tensors: ["x"],
    attrs: { axis: { kind: "int?", default: null } },
    differentiable: false,
    dtype: "i32",
    shape: ([x], { axis }, ctx) => reduced(x!.shape, axis, false, ctx),
    doc: "index of the largest element along the axis (int; passes no gradient)",
  }),
};
