// Layers: dropout, 2-D convolution and pooling (NHWC), embedding lookup.
import { concrete, formatShape, originNote, requireRank } from "./shape-rules.ts";
import * as S from "./scalar/expr.ts";
import { coords } from "./wgsl-util.ts";
import { convOutSize, convPadBefore } from "../backend/cpu/runtime/conv.ts";
import { poolOutSize } from "../backend/cpu/runtime/nn.ts";
import { defineOp, type ArgInfo, type CpuValue, type IShape, type ShapeCtx, type WgslValue } from "./types.ts";

/** The size arguments of the runtime's convolutions: b, h, w, c, kh, kw, f, stride, same. */
export function conv(x: CpuValue, k: CpuValue, attrs: { stride: number; padding: "valid" | "same" }): string {
  return `${x.shape.join(", ")}, ${k.shape[0]}, ${k.shape[1]}, ${k.shape[3]}, ${attrs.stride}, ${attrs.padding === "same"}`;
}

/**
 * The sizes of a convolution as WGSL `let`s: H, W, C of the input, KH, KW, F
 * of the kernel, OH, OW of the output, S the stride and PT, PL the padding
 * before the first row and column, by the runtime's convOutSize and
 * convPadBefore (TensorFlow's "same" rule).
 * Heights, widths and kernel sizes are numbers by the shape rule.
 */
export function wgslConvSizes(x: WgslValue, k: WgslValue, attrs: { stride: number; padding: "valid" | "same" }): string[] {
  const [h, w] = [Number(x.shape[1]), Number(x.shape[2])];
  const [kh, kw] = [Number(k.shape[0]), Number(k.shape[1])];
  const same = attrs.padding === "same";
  const size = (n: number, kn: number) => convOutSize(n, kn, attrs.stride, same);
  const pad = (n: number, kn: number) => convPadBefore(n, kn, attrs.stride, same);
  return [
    `let B: u32 = ${x.shape[0]}; let H: u32 = ${h}u; let W: u32 = ${w}u; let C: u32 = ${x.shape[3]};`,
    `let KH: u32 = ${kh}u; let KW: u32 = ${kw}u; let F: u32 = ${k.shape[3]};`,
    `let OH: u32 = ${size(h, kh)}u; let OW: u32 = ${size(w, kw)}u; let S: u32 = ${attrs.stride}u; let PT: i32 = ${pad(h, kh)}; let PL: i32 = ${pad(w, kw)};`,
  ];
}

/** The scaled keep-mask of a dropout in training: 1/(1−p) where the element is kept, else 0. */
export const dropoutMask = (p: number, stream: number): S.Scalar => S.select(S.keep(p, stream), 1 / (1 - p), 0);

/** The shape of a pooling op over non-overlapping size × size windows of `[b, H, W, C]`, or its diagnostic. */
export function poolShape(op: string, x: ArgInfo, size: number, ctx: ShapeCtx): IShape | undefined {
  if (!requireRank(x, 4, ctx, op, "[batch, height, width, channels]")) return undefined;
  if (size < 1) {
    ctx.error("NNC214", `pool size must be at least 1, got ${size}`);
    return undefined;
  }
  const h = concrete(x.shape[1]!, ctx, `${op}'s input height`);
  const w = concrete(x.shape[2]!, ctx, `${op}'s input width`);
  if (h === undefined || w === undefined) return undefined;
  if (size > h || size > w) {
    ctx.error("NNC216", `${op}: window ${size}×${size} is larger than the ${h}×${w} input`);
    return undefined;
  }
  return [x.shape[0]!, poolOutSize(h, size), poolOutSize(w, size), x.shape[3]!];
}

export const layerOps = {
  dropout: defineOp({
    name: "dropout",
    kind: "layer",
    callName: "dropout",
    tensors: ["x"],
    attrs: { p: { kind: "number" } },
    // d dropout(x) = g · mask, the same mask as the forward pass (regenerated from its counter-based stream)
    vjp: ({ g, args: [x], attrs, b }) => [b.mul(g, b.op("dropout_mask", [x!], { p: attrs.p, stream: attrs.stream }))],
    // x times its mask, so that dropout(x) == x · dropout_mask(x) bit for bit (−0 included); outside training, x.
    scalar: ({ p, stream }, training) => (training ? S.mul(S.arg(0), dropoutMask(p, stream)) : S.arg(0)),
    shape: ([x], { p }, ctx) => {
      if (!(p >= 0 && p < 1)) {
        ctx.error("NNC214", `dropout probability must be in [0, 1), got ${p}`);
        return undefined;
      }
      return x!.shape;
    },
    doc: "inverted dropout: in training, zeroes each element with probability p (0 ≤ p < 1) and scales the rest by 1/(1 − p); outside training, x itself",
  }),
  conv2d: defineOp({
    name: "conv2d",
    kind: "layer",
    callName: "conv2d",
    tensors: ["x", "k"],
    attrs: { stride: { kind: "int", default: 1 }, padding: { kind: "string", default: "valid", oneOf: ["valid", "same"] } },
    cpu: { kernel: ({ args: [x, k], out, attrs }) => [`conv2d(ws.conv, ${conv(x!, k!, attrs)}, f32, ${x!.off}, f32, ${k!.off}, f32, ${out.off});`] },
    // One invocation per output element [b, oy, ox, f], summing its taps.
    wgsl: {
      kernel: ({ args: [x, k], out, attrs }) => ({
        mode: "threads",
        count: out.size,
        body: [
          ...wgslConvSizes(x!, k!, attrs),
          ...coords(["B", "OH", "OW", "F"], "i", "o"),
          "var acc: f32 = 0.0;",
          "for (var ky: u32 = 0u; ky < KH; ky = ky + 1u) {",
          "  let iy: i32 = i32(o1 * S + ky) - PT;",
          "  if (iy < 0 || iy >= i32(H)) { continue; }",
          "  for (var kx: u32 = 0u; kx < KW; kx = kx + 1u) {",
          "    let ix: i32 = i32(o2 * S + kx) - PL;",
          "    if (ix < 0 || ix >= i32(W)) { continue; }",
          "    let xb: u32 = ((o0 * H + u32(iy)) * W + u32(ix)) * C;",
          "    let kb: u32 = (ky * KW + kx) * C * F + o3;",
          `    for (var c: u32 = 0u; c < C; c = c + 1u) { acc = acc + ${x!.ref}[xb + c] * ${k!.ref}[kb + c * F]; }`,
          "  }",
          "}",
          `${out.ref}[i] = acc;`,
        ],
      }),
    },
    // d conv2d(x, k) = (full correlation of g with flipped k, correlation of x with g)
    vjp: ({ g, args: [x, k], attrs, b, needs }) => [
      needs[0] ? b.op("conv2d_grad_input", [g, k!], { stride: attrs.stride, padding: attrs.padding, inputShape: b.shape(x!) }) : null,
      needs[1] ? b.op("conv2d_grad_kernel", [x!, g], { stride: attrs.stride, padding: attrs.padding, kernelShape: b.shape(k!) }) : null,
    ],
    shape: ([x, k], { stride, padding }, ctx) => {
      if (!requireRank(x!, 4, ctx, "conv2d", "[batch, height, width, channels]")) return undefined;
      if (!requireRank(k!, 4, ctx, "conv2d's kernel", "[kh, kw, channels, filters]")) return undefined;
      if (stride < 1) {
        ctx.error("NNC214", `stride must be at least 1, got ${stride}`);
        return undefined;
      }
      const ok = ctx.unify(x!.shape[3]!, k!.shape[2]!, (a, b) => {
        ctx.error("NNC201", `conv2d: the input has ${a} channels but the kernel expects ${b}`, {
          notes: [...originNote(x!, x!.shape, ctx), ...originNote(k!, k!.shape, ctx)],
        });
      });
      if (!ok) return undefined;
      const h = concrete(x!.shape[1]!, ctx, "conv2d's input height");
      const w = concrete(x!.shape[2]!, ctx, "conv2d's input width");
      const kh = concrete(k!.shape[0]!, ctx, "the kernel height");
      const kw = concrete(k!.shape[1]!, ctx, "the kernel width");
      if (h === undefined || w === undefined || kh === undefined || kw === undefined) return undefined;
      if (padding === "valid" && (kh > h || kw > w)) {
        ctx.error("NNC216", `conv2d: kernel ${kh}×${kw} is larger than the ${h}×${w} input`);
        return undefined;
      }
      const same = padding === "same";
      return [x!.shape[0]!, convOutSize(h, kh, stride, same), convOutSize(w, kw, stride, same), k!.shape[3]!];
    },
    doc: "2-D convolution (cross-correlation) of `x: [b, H, W, C]` with the kernel `k: [kh, kw, C, F]` → `[b, H', W', F]`; `padding = \"same\"` pads so that `H' = ceil(H / stride)`",
  }),
  maxpool2d: defineOp({
    name: "maxpool2d",
    kind: "layer",
    callName: "maxpool2d",
    tensors: ["x"],
    attrs: { size: { kind: "int", default: 2 } },
    cpu: { kernel: ({ args: [x], out, attrs }) => [`maxpool2d(f32, ${x!.off}, f32, ${out.off}, ${x!.shape.join(", ")}, ${attrs.size});`] },
    // One invocation per output element; the first maximum in window order.
    wgsl: {
      kernel: ({ args: [x], out, attrs }) => ({
        mode: "threads",
        count: out.size,
        body: [
          `let H: u32 = ${x!.shape[1]}u; let W: u32 = ${x!.shape[2]}u; let C: u32 = ${x!.shape[3]}; let P: u32 = ${attrs.size}u;`,
          ...coords([x!.shape[0]!, out.shape[1]!, out.shape[2]!, "C"], "i", "o"),
          `let first: u32 = ((o0 * H + o1 * P) * W + o2 * P) * C + o3;`,
          `var m: f32 = ${x!.ref}[first];`,
          "for (var t: u32 = 1u; t < P * P; t = t + 1u) {",
          `  let v: f32 = ${x!.ref}[first + ((t / P) * W + t % P) * C];`,
          "  if (v > m) { m = v; }",
          "}",
          `${out.ref}[i] = m;`,
        ],
      }),
    },
    // d maxpool(x) = g routed to each window's maximum
    vjp: ({ g, args: [x], attrs, b }) => [b.op("maxpool2d_grad", [x!, g], { size: attrs.size })],
    shape: ([x], { size }, ctx) => poolShape("maxpool2d", x!, size, ctx),
    doc: "max pooling over non-overlapping size × size windows: `[b, H, W, C]` → `[b, ⌊H/size⌋, ⌊W/size⌋, C]`",
  }),
  embed: defineOp({
    name: "embed",
    kind: "layer",
    callName: "embed",
    tensors: ["ids", "E"],
    argTypes: ["i32", "f32"],
    attrs: {},
    cpu: { kernel: ({ args: [ids, e], out }) => [`embed(i32, ${ids!.off}, ${ids!.size}, f32, ${e!.off}, ${e!.shape[0]}, ${e!.shape[1]}, f32, ${out.off});`] },
    // One invocation per output element; an id outside the table gives zeros here (the CPU module throws).
    wgsl: {
      kernel: ({ args: [ids, e], out }) => ({
        mode: "threads",
        count: out.size,
        body: [
          `let id: i32 = ${ids!.ref}[i / ${e!.shape[1]}];`,
          `if (id >= 0 && u32(id) < ${e!.shape[0]}) { ${out.ref}[i] = ${e!.ref}[u32(id) * ${e!.shape[1]} + i % ${e!.shape[1]}]; } else { ${out.ref}[i] = 0.0; }`,
        ],
      }),
    },
    // d embed(ids, E) = (none, rows of g summed into the rows of E at the ids)
    vjp: ({ g, args: [ids, e], b }) => [null, b.op("embed_grad", [ids!, g], { tableShape: b.shape(e!) })],
    shape: ([ids, e], _attrs, ctx) => {
      if (e!.shape.length !== 2) {
        ctx.error("NNC220", `embed's table must be a matrix [vocabulary, width], got ${formatShape(e!.shape)}`, { span: e!.span });
        return undefined;
      }
      return [...ids!.shape, e!.shape[1]!];
    },
    doc: "the rows of the table `E: [V, D]` picked by the integer `ids`: shape `ids + [D]`",
  }),
};
