// Internal ops: created by the compiler's own passes (differentiation and
// expansion), never written by users, so they have no call name.
import { trailingStart } from "./cpu-util.ts";
import { broadcast, formatShape, sameShape } from "./shape-rules.ts";
import { conv, dropoutMask, wgslConvSizes } from "./layers.ts";
import { lossKernel, wgslLoss } from "./losses.ts";
import * as S from "./scalar/expr.ts";
import { coords, strides, times } from "./wgsl-util.ts";
import { defineOp, type WgslKernel, type WgslValue } from "./types.ts";

/**
 * sum_to in WGSL: one invocation per element of the small result, looping
 * over the axes of x it was broadcast along. Axes are aligned from the right.
 */
function wgslSumTo(x: WgslValue, out: WgslValue): WgslKernel {
  const lead = x.shape.length - out.shape.length;
  const xs = strides(x.shape);
  const terms: string[] = [];
  const loops: string[] = [];
  x.shape.forEach((d, a) => {
    const small = a < lead ? undefined : out.shape[a - lead]!;
    if (small === d) terms.push(times(`o${a - lead}`, xs[a]!));
    else if (small !== undefined || d !== "1") {
      loops.push(`for (var s${a}: u32 = 0u; s${a} < ${d}; s${a} = s${a} + 1u) {`);
      terms.push(times(`s${a}`, xs[a]!));
    }
    // else: a leading axis of size 1, which the result lacks: index 0 along it.
  });
  return {
    mode: "threads",
    count: out.size,
    body: [
      ...coords(out.shape, "i", "o"),
      "var acc: f32 = 0.0;",
      ...loops.map((l, k) => "  ".repeat(k) + l),
      `${"  ".repeat(loops.length)}acc = acc + ${x.ref}[${terms.join(" + ") || "0u"}];`,
      ...loops.map((_, k) => "  ".repeat(loops.length - 1 - k) + "}"),
      `${out.ref}[i] = acc;`,
    ],
  };
}

/** broadcast_to in WGSL: one invocation per element of the big result, reading x at its own strides (0 where broadcast). */
function wgslBroadcastTo(x: WgslValue, out: WgslValue): WgslKernel {
  const lead = out.shape.length - x.shape.length;
  const xs = strides(x.shape);
  const terms = x.shape.flatMap((d, b) => (d === "1" ? [] : [times(`o${b + lead}`, xs[b]!)]));
  return { mode: "threads", count: out.size, body: [...coords(out.shape, "i", "o"), `${out.ref}[i] = ${x.ref}[${terms.join(" + ") || "0u"}];`] };
}

/** big as [rows, width] rows of small, where small is big's trailing block (trailingStart); null otherwise. */
function trailingBlock(small: readonly string[], big: readonly string[]): { rows: string; width: string } | null {
  const start = trailingStart(small, big, "1");
  const sizes = (ds: readonly string[]) => ds.filter((d) => d !== "1").join(" * ") || "1";
  return start === null ? null : { rows: sizes(big.slice(0, start)), width: sizes(big.slice(start)) };
}

export const internalOps = {
  sum_to: defineOp({
    name: "sum_to",
    kind: "reduce",
    tensors: ["x"],
    attrs: { shape: { kind: "dims" } },
    cpu: {
      kernel: (c) => {
        // A per-channel sum (kept axes trailing) in one pass down the rows; any other through the stride table.
        const block = trailingBlock(c.out.shape, c.args[0]!.shape);
        if (block !== null) return [`sumColumns(${c.vec}, f32, ${c.args[0]!.off}, f32, ${c.out.off}, ${block.rows}, ${block.width});`];
        return [`sumTo(f32, ${c.args[0]!.off}, f32, ${c.out.off}, ${c.table(`sumToTable([${c.out.shape.join(", ")}], [${c.args[0]!.shape.join(", ")}])`)});`];
      },
    },
    wgsl: { kernel: ({ args: [x], out }) => wgslSumTo(x!, out) },
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
    cpu: {
      kernel: (c) => {
        // A per-channel value repeated over rows as copies of whole rows; any other through the stride table.
        const block = trailingBlock(c.args[0]!.shape, c.out.shape);
        if (block !== null) return [`broadcastRows(f32, ${c.args[0]!.off}, f32, ${c.out.off}, ${block.rows}, ${block.width});`];
        return [`broadcastTo(f32, ${c.args[0]!.off}, f32, ${c.out.off}, ${c.table(`broadcastTable([${c.args[0]!.shape.join(", ")}], [${c.out.shape.join(", ")}])`)});`];
      },
    },
    wgsl: { kernel: ({ args: [x], out }) => wgslBroadcastTo(x!, out) },
    // d broadcast_to(x) = g summed back to x's shape
    vjp: ({ g, args: [x], b }) => [b.op("sum_to", [g], { shape: b.shape(x!) })],
    shape: ([x], { shape }, ctx) => (broadcast(x!, { shape, dtype: "f32", span: ctx.span }, ctx) ? shape : undefined),
    doc: "repeats x up to `shape` by broadcasting",
  }),
  // one_hot for a class count known only as a dim (`vocab`): the gradient of
  // sparse_cross_entropy needs one_hot(y, C) where C is the logits' last axis,
  // and one_hot's n is a number written in the source.
  one_hot_to: defineOp({
    name: "one_hot_to",
    kind: "shape",
    tensors: ["ids"],
    argTypes: ["i32"],
    attrs: { shape: { kind: "dims" } },
    vjp: "nograd", // integer ids have no gradient
    cpu: { kernel: ({ args: [ids], out }) => [`oneHot(${ids!.arr}, ${ids!.off}, ${ids!.size}, ${out.shape[out.shape.length - 1]}, ${out.arr}, ${out.off});`] },
    // An id outside [0, n) gives a row of zeros here (the CPU module throws).
    wgsl: {
      kernel: ({ args: [ids], out }) => {
        const n = out.shape[out.shape.length - 1];
        // n may be a dim's name in WGSL (dim_vocab), not a literal: no `u` suffix
        return { mode: "threads", count: out.size, body: [`let n: u32 = u32(${n});`, `${out.ref}[i] = select(0.0, 1.0, ${ids!.ref}[i / n] == i32(i % n));`] };
      },
    },
    shape: (_args, { shape }) => shape,
    doc: "integer ids → one-hot rows as wide as the last axis of `shape`",
  }),
  eq: defineOp({
    name: "eq",
    kind: "binary",
    tensors: ["a", "b"],
    attrs: {},
    vjp: "nograd", // piecewise constant
    scalar: () => S.select(S.cmp("==", S.arg(0), S.arg(1)), 1, 0),
    shape: ([a, b], _attrs, ctx) => broadcast(a!, b!, ctx),
    doc: "1 where a == b, else 0",
  }),
  dropout_mask: defineOp({
    name: "dropout_mask",
    kind: "layer",
    tensors: ["x"],
    attrs: { p: { kind: "number" }, stream: { kind: "int" } },
    vjp: "nograd", // the mask does not depend on x's values
    scalar: ({ p, stream }, training) => (training ? dropoutMask(p, stream) : S.num(1)),
    shape: ([x]) => x!.shape,
    doc: "the mask dropout multiplied by: 0 or 1/(1−p) per element in training, 1 otherwise",
  }),
  sigmoid_binary_cross_entropy: defineOp({
    name: "sigmoid_binary_cross_entropy",
    kind: "loss",
    tensors: ["z", "y"],
    attrs: {},
    cpu: lossKernel<"sigmoid_binary_cross_entropy">("sigmoid_binary_cross_entropy"),
    wgsl: wgslLoss<"sigmoid_binary_cross_entropy">("sigmoid_binary_cross_entropy"),
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
    // One invocation per input element [b, iy, ix, c], gathering the outputs its taps fed.
    wgsl: {
      kernel: ({ args: [g, k], out, attrs }) => ({
        mode: "threads",
        count: out.size,
        body: [
          ...wgslConvSizes(out, k!, attrs),
          ...coords(["B", "H", "W", "C"], "i", "o"),
          "var acc: f32 = 0.0;",
          "for (var ky: u32 = 0u; ky < KH; ky = ky + 1u) {",
          "  let ty: i32 = i32(o1) + PT - i32(ky);",
          "  if (ty < 0 || ty % i32(S) != 0 || ty / i32(S) >= i32(OH)) { continue; }",
          "  for (var kx: u32 = 0u; kx < KW; kx = kx + 1u) {",
          "    let tx: i32 = i32(o2) + PL - i32(kx);",
          "    if (tx < 0 || tx % i32(S) != 0 || tx / i32(S) >= i32(OW)) { continue; }",
          "    let gb: u32 = ((o0 * OH + u32(ty) / S) * OW + u32(tx) / S) * F;",
          "    let kb: u32 = ((ky * KW + kx) * C + o3) * F;",
          `    for (var f: u32 = 0u; f < F; f = f + 1u) { acc = acc + ${g!.ref}[gb + f] * ${k!.ref}[kb + f]; }`,
          "  }",
          "}",
          `${out.ref}[i] = acc;`,
        ],
      }),
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
    // One invocation per kernel element [ky, kx, c, f], summing over the batch and output pixels.
    wgsl: {
      kernel: ({ args: [x, g], out, attrs }) => ({
        mode: "threads",
        count: out.size,
        body: [
          ...wgslConvSizes(x!, out, attrs),
          ...coords(["KH", "KW", "C", "F"], "i", "o"),
          "var acc: f32 = 0.0;",
          "for (var b: u32 = 0u; b < B; b = b + 1u) {",
          "  for (var oy: u32 = 0u; oy < OH; oy = oy + 1u) {",
          "    let iy: i32 = i32(oy * S + o0) - PT;",
          "    if (iy < 0 || iy >= i32(H)) { continue; }",
          "    for (var ox: u32 = 0u; ox < OW; ox = ox + 1u) {",
          "      let ix: i32 = i32(ox * S + o1) - PL;",
          "      if (ix < 0 || ix >= i32(W)) { continue; }",
          `      acc = acc + ${x!.ref}[((b * H + u32(iy)) * W + u32(ix)) * C + o2] * ${g!.ref}[((b * OH + oy) * OW + ox) * F + o3];`,
          "    }",
          "  }",
          "}",
          `${out.ref}[i] = acc;`,
        ],
      }),
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
    // One invocation per element of x: g of its window if it is that window's first maximum, else 0.
    wgsl: {
      kernel: ({ args: [x, g], out, attrs }) => ({
        mode: "threads",
        count: out.size,
        body: [
          `let H: u32 = ${x!.shape[1]}u; let W: u32 = ${x!.shape[2]}u; let C: u32 = ${x!.shape[3]}; let P: u32 = ${attrs.size}u;`,
          `let OH: u32 = ${Math.floor(Number(x!.shape[1]) / attrs.size)}u; let OW: u32 = ${Math.floor(Number(x!.shape[2]) / attrs.size)}u;`,
          ...coords([x!.shape[0]!, "H", "W", "C"], "i", "o"),
          "let oy: u32 = o1 / P;",
          "let ox: u32 = o2 / P;",
          "var r: f32 = 0.0;",
          "if (oy < OH && ox < OW) {",
          "  let first: u32 = ((o0 * H + oy * P) * W + ox * P) * C + o3;",
          "  var best: u32 = first;",
          `  var bv: f32 = ${x!.ref}[first];`,
          "  for (var t: u32 = 1u; t < P * P; t = t + 1u) {",
          "    let at: u32 = first + ((t / P) * W + t % P) * C;",
          `    if (${x!.ref}[at] > bv) { best = at; bv = ${x!.ref}[at]; }`,
          "  }",
          `  if (best == i) { r = ${g!.ref}[((o0 * OH + oy) * OW + ox) * C + o3]; }`,
          "}",
          `${out.ref}[i] = r;`,
        ],
      }),
    },
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
    // One invocation per table element, summing the rows of g whose id is its row (WGSL has no float atomics).
    wgsl: {
      kernel: ({ args: [ids, g], out }) => ({
        mode: "threads",
        count: out.size,
        body: [
          `let v: i32 = i32(i / ${out.shape[1]});`,
          `let col: u32 = i % ${out.shape[1]};`,
          "var acc: f32 = 0.0;",
          `for (var r: u32 = 0u; r < ${ids!.size}; r = r + 1u) { if (${ids!.ref}[r] == v) { acc = acc + ${g!.ref}[r * ${out.shape[1]} + col]; } }`,
          `${out.ref}[i] = acc;`,
        ],
      }),
    },
    shape: (_args, { tableShape }) => tableShape,
    doc: "the gradient of embed with respect to its table: rows of g summed at the ids",
  }),
};
