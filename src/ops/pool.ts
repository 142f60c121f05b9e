// Average pooling (NHWC): over size × size windows, and over the whole
// image (global_avgpool, [b, H, W, C] → [b, C]). Both are one runtime kernel
// over ph × pw windows; global pooling is the window H × W, whose output
// [b, 1, 1, C] has the memory of [b, C].
import { poolShape } from "./layers.ts";
import { requireRank } from "./shape-rules.ts";
import { coords } from "./wgsl-util.ts";
import { defineOp } from "./types.ts";

declare module "./types.ts" {
  interface OpAttrs {
    avgpool2d: { readonly size: number };
    global_avgpool: {};
    /** Gradient of avgpool2d (size) or global_avgpool (size null): g spread evenly over each window of x's shape. */
    avgpool2d_grad: { readonly size: number | null; readonly inputShape: Shape };
  }
}

/** The window of a pooling over an image of h × w: size × size, or all of it. */
const windowOf = (size: number | null, h: string, w: string): [string, string] => (size === null ? [h, w] : [String(size), String(size)]);

/** The runtime call's size arguments: b, h, w, c, ph, pw. */
const poolArgs = (shape: readonly string[], size: number | null): string => [...shape, ...windowOf(size, shape[1]!, shape[2]!)].join(", ");

export const poolOps = {
  avgpool2d: defineOp({
    name: "avgpool2d",
    kind: "layer",
    callName: "avgpool2d",
    tensors: ["x"],
    attrs: { size: { kind: "int", default: 2 } },
    cpu: { kernel: ({ args: [x], out, attrs, vec }) => [`avgpool2d(${vec}, f32, ${x!.off}, f32, ${out.off}, ${poolArgs(x!.shape, attrs.size)});`] },
    wgsl: { kernel: ({ args: [x], out, attrs }) => wgslAvgpool(x!.ref, out.ref, x!.shape, out.size, attrs.size) },
    // d avgpool(x) = g / size² spread over each window
    vjp: ({ g, args: [x], attrs, b }) => [b.op("avgpool2d_grad", [g], { size: attrs.size, inputShape: b.shape(x!) })],
    shape: ([x], { size }, ctx) => poolShape("avgpool2d", x!, size, ctx),
    doc: "average pooling over non-overlapping size × size windows: `[b, H, W, C]` → `[b, ⌊H/size⌋, ⌊W/size⌋, C]`",
  }),
  global_avgpool: defineOp({
    name: "global_avgpool",
    kind: "layer",
    callName: "global_avgpool",
    tensors: ["x"],
    attrs: {},
    cpu: { kernel: ({ args: [x], out, vec }) => [`avgpool2d(${vec}, f32, ${x!.off}, f32, ${out.off}, ${poolArgs(x!.shape, null)});`] },
    wgsl: { kernel: ({ args: [x], out }) => wgslAvgpool(x!.ref, out.ref, x!.shape, out.size, null) },
    // d global_avgpool(x) = g / (H·W) at every position
    vjp: ({ g, args: [x], b }) => [b.op("avgpool2d_grad", [g], { size: null, inputShape: b.shape(x!) })],
    shape: ([x], _attrs, ctx) => {
      if (!requireRank(x!, 4, ctx, "global_avgpool", "[batch, height, width, channels]")) return undefined;
      return [x!.shape[0]!, x!.shape[3]!];
    },
    doc: "the mean over the whole image of each channel: `[b, H, W, C]` → `[b, C]`",
  }),
  avgpool2d_grad: defineOp({
    name: "avgpool2d_grad",
    kind: "layer",
    tensors: ["g"],
    attrs: { size: { kind: "int?" }, inputShape: { kind: "dims" } },
    vjp: "unsupported",
    cpu: { kernel: ({ args: [g], out, attrs, vec }) => [`avgpool2dGrad(${vec}, f32, ${g!.off}, f32, ${out.off}, ${poolArgs(out.shape, attrs.size)});`] },
    // One invocation per element of x: its window's g over the window's size, or 0 past the last whole window.
    wgsl: {
      kernel: ({ args: [g], out, attrs }) => {
        const [ph, pw] = windowOf(attrs.size, out.shape[1]!, out.shape[2]!);
        return {
          mode: "threads",
          count: out.size,
          body: [
            `let H: u32 = ${out.shape[1]}u; let W: u32 = ${out.shape[2]}u; let C: u32 = ${out.shape[3]}; let PH: u32 = ${ph}u; let PW: u32 = ${pw}u;`,
            "let OH: u32 = H / PH; let OW: u32 = W / PW;",
            ...coords([out.shape[0]!, "H", "W", "C"], "i", "o"),
            "let oy: u32 = o1 / PH;",
            "let ox: u32 = o2 / PW;",
            "var r: f32 = 0.0;",
            `if (oy < OH && ox < OW) { r = ${g!.ref}[((o0 * OH + oy) * OW + ox) * C + o3] / f32(PH * PW); }`,
            `${out.ref}[i] = r;`,
          ],
        };
      },
    },
    shape: (_args, { inputShape }) => inputShape,
    doc: "the gradient of avgpool2d and global_avgpool: g spread evenly over each window",
  }),
};

/** One invocation per output element, summing its ph × pw window. */
function wgslAvgpool(x: string, out: string, shape: readonly string[], count: string, size: number | null) {
  const [ph, pw] = windowOf(size, shape[1]!, shape[2]!);
  return {
    mode: "threads" as const,
    count,
    body: [
      `let H: u32 = ${shape[1]}u; let W: u32 = ${shape[2]}u; let C: u32 = ${shape[3]}; let PH: u32 = ${ph}u; let PW: u32 = ${pw}u;`,
      "let OH: u32 = H / PH; let OW: u32 = W / PW;",
      ...coords([shape[0]!, "OH", "OW", "C"], "i", "o"),
      "var s: f32 = 0.0;",
      "for (var dy: u32 = 0u; dy < PH; dy = dy + 1u) {",
      `  let row: u32 = ((o0 * H + o1 * PH + dy) * W + o2 * PW) * C + o3;`,
      `  for (var dx: u32 = 0u; dx < PW; dx = dx + 1u) { s = s + ${x}[row + dx * C]; }`,
      "}",
      `${out}[i] = s / f32(PH * PW);`,
    ],
  };
}
