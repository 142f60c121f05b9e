// ONNX forms of nnc's losses and metrics, the same formulas as the
// interpreter's (src/interp/kernels-losses.ts): the class losses and
// accuracy average over rows (every axis but the last), mse and binary
// cross-entropy over all elements, and the penalties sum.
import type { OnnxBuilder } from "./onnx-builder.ts";
import type { Rules } from "./onnx-rules.ts";

export type LossOp = "mse" | "cross_entropy" | "softmax_cross_entropy" | "binary_cross_entropy" | "sigmoid_binary_cross_entropy" | "hinge" | "sumsq" | "sumabs" | "accuracy";

const all = (b: OnnxBuilder, op: string, x: string, out: string) => b.op(op, [x], { keepdims: { i: 0 } }, out);

/** The mean over rows of each row's sum of v (a tensor of rank `rank`). */
function meanOfRowSums(b: OnnxBuilder, v: string, rank: number, out: string): string {
  const rows = rank === 0 ? v : b.op("ReduceSum", [v, b.ints([-1])], { keepdims: { i: 0 } });
  return all(b, "ReduceMean", rows, out);
}

export const lossRules: Rules<LossOp> = {
  mse: ({ b, args: [p, y], out }) => {
    const d = b.op("Sub", [p!, y!]);
    return all(b, "ReduceMean", b.op("Mul", [d, d]), out);
  },
  // −Σ y·log p per row, with 0·log 0 = 0: a class the target rules out adds nothing.
  cross_entropy: ({ b, args: [p, y], argShapes, out }) => {
    const terms = b.op("Where", [b.op("Equal", [y!, b.floats([0])]), b.floats([0]), b.op("Mul", [y!, b.op("Log", [p!])])]);
    return b.op("Neg", [meanOfRowSums(b, terms, argShapes[0]!.length, b.name("cross_entropy"))], {}, out);
  },
  // Σ y·(logsumexp(z) − z) per row, with the row maximum factored out of logsumexp.
  softmax_cross_entropy: ({ b, args: [z, y], argShapes, out }) => {
    const keep = { keepdims: { i: 1 } };
    const m = b.op("ReduceMax", [z!, b.ints([-1])], keep);
    const lse = b.op("Add", [m, b.op("Log", [b.op("ReduceSum", [b.op("Exp", [b.op("Sub", [z!, m])]), b.ints([-1])], keep)])]);
    return meanOfRowSums(b, b.op("Mul", [y!, b.op("Sub", [lse, z!])]), argShapes[0]!.length, out);
  },
  binary_cross_entropy: ({ b, args: [p, y], out }) => {
    const one = b.floats([1]);
    const pos = b.op("Mul", [y!, b.op("Log", [p!])]);
    const neg = b.op("Mul", [b.op("Sub", [one, y!]), b.op("Log", [b.op("Sub", [one, p!])])]);
    return b.op("Neg", [all(b, "ReduceMean", b.op("Add", [pos, neg]), b.name("bce"))], {}, out);
  },
  // max(z, 0) − z·y + log(1 + e^−|z|), which never overflows.
  sigmoid_binary_cross_entropy: ({ b, args: [z, y], out }) => {
    const soft = b.op("Log", [b.op("Add", [b.floats([1]), b.op("Exp", [b.op("Neg", [b.op("Abs", [z!])])])])]);
    const v = b.op("Add", [b.op("Sub", [b.op("Relu", [z!]), b.op("Mul", [z!, y!])]), soft]);
    return all(b, "ReduceMean", v, out);
  },
  // Σ_{j ≠ label} max(0, s_j − s_label + 1) per row: the sum over every j, less the label's own term (1).
  hinge: ({ b, args: [s, y], out }) => {
    const label = b.op("ArgMax", [y!], { axis: { i: -1 }, keepdims: { i: 1 } });
    const sl = b.op("GatherElements", [s!, label], { axis: { i: -1 } });
    const margins = b.op("Relu", [b.op("Add", [b.op("Sub", [s!, sl]), b.floats([1])])]);
    const rows = b.op("Sub", [b.op("ReduceSum", [margins, b.ints([-1])], { keepdims: { i: 0 } }), b.floats([1])]);
    return all(b, "ReduceMean", rows, out);
  },
  sumsq: ({ b, args: [x], out }) => all(b, "ReduceSum", b.op("Mul", [x!, x!]), out),
  sumabs: ({ b, args: [x], out }) => all(b, "ReduceSum", b.op("Abs", [x!]), out),
  // y: one-hot rows (its own argmax is the class) or integer class ids, one per row (cast to ArgMax's int64).
  accuracy: ({ b, args: [p, y], argShapes, out }) => {
    const arg = (v: string) => b.op("ArgMax", [v], { axis: { i: -1 }, keepdims: { i: 0 } });
    const labels = argShapes[1]!.length === argShapes[0]!.length - 1 ? b.op("Cast", [y!], { to: { i: 7 } }) : arg(y!);
    return all(b, "ReduceMean", b.op("Cast", [b.op("Equal", [arg(p!), labels])], { to: { i: 1 } }), out);
  },
};
