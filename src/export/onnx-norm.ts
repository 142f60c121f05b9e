// ONNX forms of average pooling, its gradient and the integer-label
// cross-entropy: the same formulas as the interpreter's
// (src/interp/kernels-norm.ts). nnc pools NHWC; ONNX's AveragePool is NCHW,
// so it is wrapped in Transposes as MaxPool is (src/export/onnx-layers.ts).
import type { Dim } from "../ops/types.ts";
import type { Rules } from "./onnx-rules.ts";

export type NormOp = "avgpool2d" | "global_avgpool" | "avgpool2d_grad" | "sparse_cross_entropy" | "batch_mean" | "batch_var";

const NCHW = [0, 3, 1, 2];
const NHWC = [0, 2, 3, 1];

export const normRules: Rules<NormOp> = {
  avgpool2d: ({ b, args: [x], attrs, out }) => {
    const y = b.op("AveragePool", [b.op("Transpose", [x!], { perm: { ints: NCHW } })], { kernel_shape: { ints: [attrs.size, attrs.size] }, strides: { ints: [attrs.size, attrs.size] } });
    return b.op("Transpose", [y], { perm: { ints: NHWC } }, out);
  },
  global_avgpool: ({ b, args: [x], out }) => b.op("ReduceMean", [x!, b.ints([1, 2])], { keepdims: { i: 0 } }, out),
  // g [b, oh, ow, C] repeated over each ph × pw window and divided by its size, then padded with
  // zeros to the input's height and width (rows and columns past the last whole window).
  avgpool2d_grad: ({ b, args: [g], attrs, out }) => {
    const [n, h, w, c] = attrs.inputShape as [Dim, number, number, Dim];
    const [ph, pw] = attrs.size === null ? [h, w] : [attrs.size, attrs.size];
    const [oh, ow] = [Math.floor(h / ph), Math.floor(w / pw)];
    const windows = b.op("Expand", [b.op("Reshape", [g!, b.shapeOf([n, oh, 1, ow, 1, c])]), b.shapeOf([n, oh, ph, ow, pw, c])]);
    const spread = b.op("Div", [b.op("Reshape", [windows, b.shapeOf([n, oh * ph, ow * pw, c])]), b.floats([ph * pw])]);
    if (oh * ph === h && ow * pw === w) return b.op("Identity", [spread], {}, out);
    return b.op("Pad", [spread, b.ints([0, 0, 0, 0, 0, h - oh * ph, w - ow * pw, 0])], {}, out);
  },
  // mean over rows of logsumexp(z) − z[label], the row maximum factored out of logsumexp.
  sparse_cross_entropy: ({ b, args: [z, y], out }) => {
    const keep = { keepdims: { i: 1 } };
    const m = b.op("ReduceMax", [z!, b.ints([-1])], keep);
    const lse = b.op("Add", [m, b.op("Log", [b.op("ReduceSum", [b.op("Exp", [b.op("Sub", [z!, m])]), b.ints([-1])], keep)])]);
    const picked = b.op("GatherElements", [z!, b.op("Unsqueeze", [b.op("Cast", [y!], { to: { i: 7 } }), b.ints([-1])])], { axis: { i: -1 } });
    return b.op("ReduceMean", [b.op("Sub", [lse, picked])], { keepdims: { i: 0 } }, out);
  },
  // In a training step, the batch's statistics over every axis but the last; in inference, the running ones.
  batch_mean: ({ b, args: [x, running], argShapes, training, out }) =>
    training ? b.op("ReduceMean", [x!, b.ints(leading(argShapes[0]!.length))], { keepdims: { i: 0 } }, out) : b.op("Identity", [running!], {}, out),
  batch_var: ({ b, args: [x, running], argShapes, attrs, training, out }) => {
    if (!training) return b.op("Identity", [running!], {}, out);
    const axes = b.ints(leading(argShapes[0]!.length));
    const d = b.op("Sub", [x!, b.op("ReduceMean", [x!, axes], { keepdims: { i: 1 } })]);
    const biased = b.op("ReduceMean", [b.op("Mul", [d, d]), axes], { keepdims: { i: 0 } });
    if (!attrs.unbiased) return b.op("Identity", [biased], {}, out);
    // rows / (max(rows, 2) − 1), rows = size / channels, from the runtime shape (the batch may be symbolic).
    const rows = b.op("Div", [b.op("Cast", [b.op("Size", [x!])], { to: { i: 1 } }), b.op("Cast", [b.op("Size", [running!])], { to: { i: 1 } })]);
    const scale = b.op("Div", [rows, b.op("Sub", [b.op("Max", [rows, b.floats([2])]), b.floats([1])])]);
    return b.op("Mul", [biased, scale], {}, out);
  },
};

/** Every axis but the last of a tensor of this rank. */
const leading = (rank: number) => Array.from({ length: rank - 1 }, (_, i) => i);
