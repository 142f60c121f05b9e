// ONNX forms of nnc's layers and their gradients. nnc is NHWC with
// [kh, kw, C, F] kernels; ONNX's Conv, ConvTranspose and MaxPool are NCHW
// with [F, C, kh, kw] weights, so each is wrapped in Transposes (ONNX
// runtimes fold the ones on constant weights). The gradients of conv2d are
// a ConvTranspose (input) and a dilated Conv over the batch (kernel), both
// with explicit pads, from the image sizes (numbers: the front end requires them).
import type { Shape } from "../ops/types.ts";
import type { OnnxBuilder } from "./onnx-builder.ts";
import type { RuleCtx, Rules } from "./onnx-rules.ts";

const NCHW = [0, 3, 1, 2];
const NHWC = [0, 2, 3, 1];
/** [kh, kw, C, F] → [F, C, kh, kw]. */
const OIHW = [3, 2, 0, 1];

const perm = (b: OnnxBuilder, x: string, p: readonly number[], out?: string) => b.op("Transpose", [x], { perm: { ints: p } }, out);

interface Geometry {
  readonly stride: number;
  /** pads as ONNX lists them: [top, left, bottom, right]. */
  readonly pads: readonly number[];
  readonly h: number;
  readonly w: number;
  readonly kh: number;
  readonly kw: number;
  readonly oh: number;
  readonly ow: number;
}

/** The same geometry as the interpreter's convGeometry; the front end has made the image and kernel sizes numbers. */
function geometry(c: RuleCtx<"conv2d_grad_input" | "conv2d_grad_kernel">, x: Shape, k: Shape): Geometry {
  const [h, w, kh, kw] = [x[1]!, x[2]!, k[0]!, k[1]!].map((d) => {
    const v = c.b.dim(d);
    if (typeof v !== "number") throw new Error(`internal: conv2d's spatial size \`${v}\` is symbolic`);
    return v;
  }) as [number, number, number, number];
  const { stride: s, padding } = c.attrs;
  const out = (n: number, kn: number) => (padding === "same" ? Math.ceil(n / s) : Math.floor((n - kn) / s) + 1);
  const oh = out(h, kh);
  const ow = out(w, kw);
  const total = (n: number, kn: number, o: number) => (padding === "same" ? Math.max((o - 1) * s + kn - n, 0) : 0);
  const th = total(h, kh, oh);
  const tw = total(w, kw, ow);
  return { stride: s, pads: [Math.floor(th / 2), Math.floor(tw / 2), th - Math.floor(th / 2), tw - Math.floor(tw / 2)], h, w, kh, kw, oh, ow };
}

export type LayerOp = "dropout" | "dropout_mask" | "conv2d" | "maxpool2d" | "embed" | "conv2d_grad_input" | "conv2d_grad_kernel" | "maxpool2d_grad" | "embed_grad";

export const layerRules: Rules<LayerOp> = {
  // Outside training dropout is the identity; in a training step it multiplies by the mask fed for its stream.
  dropout: (c) => (c.training ? c.b.op("Mul", [c.args[0]!, c.mask(c.attrs.stream, c.shape)], {}, c.out) : c.args[0]!),
  dropout_mask: (c) => (c.training ? c.mask(c.attrs.stream, c.shape) : c.b.op("Expand", [c.b.floats([1]), c.b.op("Shape", [c.args[0]!])], {}, c.out)),
  conv2d: ({ b, args: [x, k], attrs, out }) => {
    // SAME_UPPER puts the odd padding row at the bottom, TensorFlow's convention and nnc's.
    const y = b.op("Conv", [perm(b, x!, NCHW), perm(b, k!, OIHW)], {
      strides: { ints: [attrs.stride, attrs.stride] },
      auto_pad: { s: attrs.padding === "same" ? "SAME_UPPER" : "VALID" },
    });
    return perm(b, y, NHWC, out);
  },
  maxpool2d: ({ b, args: [x], attrs, out }) => {
    const y = b.op("MaxPool", [perm(b, x!, NCHW)], { kernel_shape: { ints: [attrs.size, attrs.size] }, strides: { ints: [attrs.size, attrs.size] } });
    return perm(b, y, NHWC, out);
  },
  embed: ({ b, args: [ids, e], out }) => b.op("Gather", [e!, ids!], { axis: { i: 0 } }, out),
  conv2d_grad_input: (c) => {
    const { b, args: [g, k] } = c;
    const geo = geometry(c, c.attrs.inputShape, c.argShapes[1]!);
    const [pt, pl, pb, pr] = geo.pads as [number, number, number, number];
    // ConvTranspose's output is s·(o − 1) + output_padding + k − pads: output_padding makes it the input's size.
    const outPad = [geo.h - geo.stride * (geo.oh - 1) - geo.kh + pt + pb, geo.w - geo.stride * (geo.ow - 1) - geo.kw + pl + pr];
    const y = b.op("ConvTranspose", [perm(b, g!, NCHW), perm(b, k!, OIHW)], {
      strides: { ints: [geo.stride, geo.stride] },
      pads: { ints: geo.pads },
      output_padding: { ints: outPad },
    });
    return perm(b, y, NHWC, c.out);
  },
  conv2d_grad_kernel: (c) => {
    const { b, args: [x, g] } = c;
    const geo = geometry(c, c.argShapes[0]!, c.attrs.kernelShape);
    // dk[dy, dx, c, f] = Σ_{b, oy, ox} x[b, oy·s + dy − pt, ox·s + dx − pl, c] · g[b, oy, ox, f]: a Conv whose
    // batch is C, whose channels are the images and whose kernel is g, dilated by the stride.
    const toCBHW = [3, 0, 1, 2];
    let y = b.op("Conv", [perm(b, x!, toCBHW), perm(b, g!, toCBHW)], { dilations: { ints: [geo.stride, geo.stride] }, pads: { ints: geo.pads } });
    const fullH = geo.h + geo.pads[0]! + geo.pads[2]! - (geo.oh - 1) * geo.stride;
    const fullW = geo.w + geo.pads[1]! + geo.pads[3]! - (geo.ow - 1) * geo.stride;
    if (fullH !== geo.kh || fullW !== geo.kw) y = b.op("Slice", [y, b.ints([0, 0]), b.ints([geo.kh, geo.kw]), b.ints([2, 3])]);
    return perm(b, y, [2, 3, 0, 1], c.out);
  },
  maxpool2d_grad: ({ b, args: [x, g], attrs, out }) => {
    // MaxPool's indices are flat positions in the NCHW input, of the first maximum of each window
    // (as nnc's); the gradient is g scattered there.
    const xt = perm(b, x!, NCHW);
    const [, at] = b.opMulti("MaxPool", [xt], { kernel_shape: { ints: [attrs.size, attrs.size] }, strides: { ints: [attrs.size, attrs.size] } }, 2);
    const shape = b.op("Shape", [xt]);
    const flat = b.ints([-1]);
    const zeros = b.op("Reshape", [b.op("ConstantOfShape", [shape]), flat]);
    const updates = b.op("Reshape", [perm(b, g!, NCHW), flat]);
    const scattered = b.op("ScatterElements", [zeros, b.op("Reshape", [at!, flat]), updates], { axis: { i: 0 }, reduction: { s: "add" } });
    return perm(b, b.op("Reshape", [scattered, shape]), NHWC, out);
  },
  embed_grad: ({ b, args: [ids, g], attrs, out }) => {
    const zeros = b.op("ConstantOfShape", [b.shapeOf(attrs.tableShape)]);
    const at = b.op("Unsqueeze", [b.op("Cast", [ids!], { to: { i: 7 } }), b.ints([-1])]);
    return b.op("ScatterND", [zeros, at, g!], { reduction: { s: "add" } }, out);
  },
};
