// Losses (scalar results) and metrics. Each averages over every axis but the
// last (the batch), as their docs say; the penalties sum.
import { sameShape } from "./shape-rules.ts";
import { defineOp, type OpDef } from "./types.ts";

type PairLoss = "mse" | "cross_entropy" | "softmax_cross_entropy" | "binary_cross_entropy" | "hinge" | "accuracy";
function pairLoss<K extends PairLoss>(name: K, doc: string, differentiable = true): OpDef<K> {
  return defineOp<PairLoss>({
    name,
    kind: name === "accuracy" ? "metric" : "loss",
    callName: name,
    tensors: ["p", "y"],
    attrs: {},
    differentiable,
    shape: ([p, y], _attrs, ctx) => (sameShape(p!, y!, ctx, name) ? [] : undefined),
    doc,
  }) as OpDef<K>;
}

type Penalty = "sumsq" | "sumabs";
function penalty<K extends Penalty>(name: K, doc: string): OpDef<K> {
  return defineOp<Penalty>({
    name,
    kind: "loss",
    callName: name,
    tensors: ["x"],
    attrs: {},
    differentiable: true,
    shape: () => [],
    doc,
  }) as OpDef<K>;
}

export const lossOps = {
  mse: pairLoss("mse", "mean((p − y)²) over all elements"),
  cross_entropy: pairLoss("cross_entropy", "−Σ y·log p, averaged over rows; p are probabilities (fused with a preceding softmax)"),
  softmax_cross_entropy: pairLoss("softmax_cross_entropy", "cross-entropy of softmax(logits) and y, computed stably, averaged over rows"),
  binary_cross_entropy: pairLoss("binary_cross_entropy", "−(y·log p + (1−y)·log(1−p)), averaged over all elements"),
  hinge: pairLoss("hinge", "multiclass SVM loss Σⱼ≠y max(0, sⱼ − s_y + 1), averaged over rows; y one-hot"),
  accuracy: pairLoss("accuracy", "share of rows whose argmax matches y's (passes no gradient)", false),
  sumsq: penalty("sumsq", "Σ x²: an L2 penalty"),
  sumabs: penalty("sumabs", "Σ |x|: an L1 penalty"),
};
