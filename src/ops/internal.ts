// Internal ops: created by the compiler's own passes (differentiation and
// expansion), never written by users, so they have no call name.
import { broadcast, formatShape, sameShape } from "./shape-rules.ts";
import { conv } from "./layers.ts";
import { lossKernel } from "./losses.ts";
import { defineOp } from "./types.ts";

export const internalOps = {
  sum_to: defineOp({
    name: "sum_to",
    kind: "reduce",
    tensors: ["x"],
    attrs: { shape: { kind: "dims" } },
    cpu: { kernel: (c) => [`sumTo(f32, ${c.args[0]!.off}, f32, ${c.out.off}, ${c.table(`sumToTable([${c.out.shape.join(", ")}], [${c.args[0]!.shape.join(", ")}])`)});`] },
    // d sum_to(x) = g broadcast back to x's shape
    vjp: ({ g, args: [x], b }) => [b.op("broadcast_to", [g], { shape: b.shape(x!) })],
    shape: ([x], { shape }, ctx) => {
      // The target must broadcast to x's shape: that is what sum_to undoes.
      const ok = broadcast({ shape, dtype: "f32", span: ctx.span }, x!, ctx);
      if (!ok || formatShape(ok) !== formatShape(x!.shape.map(ctx.resolve))) {
        ctx.error("NNC216", `internal: cannot sum ${formatShape(x!.shape)} down to ${formatShape(shape)}`);
        return undefined;
      }
      return shape;
    },
    doc: "sums x over its broadcast axes down to `shape`",
  }),
  broadcast_to: defineOp({
    name: "broadcast_to",
    kind: "shape",
    tensors: ["x"],
    attrs: { shape: { kind: "dims" } },
    cpu: { kernel: (c) => [`broadcastTo(f32, ${c.args[0]!.off}, f32, ${c.out.off}, ${c.table(`broadcastTable([${c.args[0]!.shape.join(", ")}], [${c.out.shape.join(", ")}])`)});`] },
    // d broadcast_to(x) = g summed back to x's shape
    vjp: ({ g, args: [x], b }) => [b.op("sum_to", [g], { shape: b.shape(x!) })],
    shape: ([x], { shape }, ctx) => (broadcast(x!, { shape, dtype: "f32", span: ctx.span }, ctx) ? shape : undefined),
    doc: "repeats x up to `shape` by broadcasting",
  }),
  eq: defineOp({
    name: "eq",
    kind: "binary",
    tensors: ["a", "b"],
    attrs: {},
    vjp: "nograd", // piecewise constant
    cpu: { scalar: ([a, b]) => `(${a} === ${b} ? 1 : 0)` },
    shape: ([a, b], _attrs, ctx) => broadcast(a!, b!, ctx),
    doc: "1 where a == b, else 0",
  }),
  dropout_mask: defineOp({
    name: "dropout_mask",
    kind: "layer",
    tensors: ["x"],
    attrs: { p: { kind: "number" }, stream: { kind: "int" } },
    vjp: "nograd", // the mask does not depend on x's values
    cpu: {
      prelude: (attrs, training, id) => (training ? [`const key${id} = dropoutKey(seed, ${0x20000 + attrs.stream}, step);`] : []),
      scalar: (_args, attrs, i, training, id) => (training ? `(uniformAt(key${id}, ${i}) >= ${attrs.p} ? ${1 / (1 - attrs.p)} : 0)` : "1"),
    },
    shape: ([x]) => x!.shape,
    doc: "the mask dropout multiplied by: 0 or 1/(1−p) per element in training, 1 otherwise",
  }),
  sigmoid_binary_cross_entropy: defineOp({
    name: "sigmoid_binary_cross_entropy",
    kind: "loss",
    tensors: ["z", "y"],
    attrs: {},
    cpu: lossKernel<"sigmoid_binary_cross_entropy">("sigmoid_binary_cross_entropy"),
    // d sbce(z, y) = (g(sigmoid(z) − y)/N, −g·z/N)
    vjp: ({ g, args: [z, y], b, needs }) => {
      const scale = b.div(g, b.count(b.shape(z!)));
      return [needs[0] ? b.mul(scale, b.sub(b.op("sigmoid", [z!], {}), y!)) : null, needs[1] ? b.neg(b.mul(scale, z!)) : null];
    },
    shape: ([z, y], _attrs, ctx) => (sameShape(z!, y!, ctx, "sigmoid_binary_cross_entropy") ? [] : undefined),
    doc: "binary cross-entropy of sigmoid(z) and y, from logits, computed stably",
  }),
  conv2d_grad_input: defineOp({
    name: "conv2d_grad_input",
    kind: "layer",
    tensors: ["g", "k"],
    attrs: { stride: { kind: "int" }, padding: { kind: "string", oneOf: ["valid", "same"] }, inputShape: { kind: "dims" } },
    vjp: "unsupported", // second derivatives of conv2d are not implemented
    cpu: {
      kernel: ({ args: [g, k], out, attrs }) => [`conv2dGradInput(ws.conv, ${conv(out, k!, attrs)}, f32, ${g!.off}, f32, ${k!.off}, f32, ${out.off});`],
    },
    shape: (_args, { inputShape }) => inputShape,
    doc: "the gradient of conv2d with respect to its input",
  }),
  conv2d_grad_kernel: defineOp({
    name: "conv2d_grad_kernel",
    kind: "layer",
    tensors: ["x", "g"],
    attrs: { stride: { kind: "int" }, padding: { kind: "string", oneOf: ["valid", "same"] }, kernelShape: { kind: "dims" } },
    vjp: "unsupported",
    cpu: {
      kernel: ({ args: [x, g], out, attrs }) => [`conv2dGradKernel(ws.conv, ${conv(x!, out, attrs)}, f32, ${x!.off}, f32, ${g!.off}, f32, ${out.off});`],
    },
    shape: (_args, { kernelShape }) => kernelShape,
    doc: "the gradient of conv2d with respect to its kernel",
  }),
  maxpool2d_grad: defineOp({
    name: "maxpool2d_grad",
    kind: "layer",
    tensors: ["x", "g"],
    attrs: { size: { kind: "int" } },
    vjp: "unsupported",
    cpu: { kernel: ({ args: [x, g], out, attrs }) => [`maxpool2dGrad(f32, ${x!.off}, f32, ${g!.off}, f32, ${out.off}, ${x!.shape.join(", ")}, ${attrs.size});`] },
    shape: ([x]) => x!.shape,
    doc: "the gradient of maxpool2d: g routed to each window's maximum",
  }),
  embed_grad: defineOp({
    name: "embed_grad",
    kind: "layer",
    tensors: ["ids", "g"],
    argTypes: ["i32", "f32"],
    attrs: { tableShape: { kind: "dims" } },
    vjp: "unsupported",
    cpu: { kernel: ({ args: [ids, g], out }) => [`embedGrad(i32, ${ids!.off}, ${ids!.size}, f32, ${g!.off}, ${out.shape[0]}, ${out.shape[1]}, f32, ${out.off});`] },
    shape: (_args, { tableShape }) => tableShape,
    doc: "the gradient of embed with respect to its table: rows of g summed at the ids",
  }),
};
