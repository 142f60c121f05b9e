// Layer kernels (NHWC): conv2d, maxpool2d, embed, and
// the internal gradient ops of conv2d, maxpool2d and embed. Each forward op
// and its gradients share one loop over the same index geometry, so the
// gradients are exact adjoints by construction.
import { convOutSize, convPadBefore } from "../backend/cpu/runtime/conv.ts";
import { poolOutSize } from "../backend/cpu/runtime/nn.ts";
import type { Kernel } from "./kernels.ts";
import { argmaxOf } from "./kernels-shape.ts";
import { checkIndex, formatDims, sameDims, size, tensor, type Tensor } from "./tensor.ts";

type LayerName =
  | "conv2d"
  | "maxpool2d"
  | "embed"
  | "conv2d_grad_input"
  | "conv2d_grad_kernel"
  | "maxpool2d_grad"
  | "embed_grad";

interface ConvGeometry {
  readonly b: number;
  readonly h: number;
  readonly w: number;
  readonly c: number;
  readonly kh: number;
  readonly kw: number;
  readonly f: number;
  readonly oh: number;
  readonly ow: number;
  readonly stride: number;
  readonly padTop: number;
  readonly padLeft: number;
}

/** Output size and padding of a convolution, by the runtime's one definition (convOutSize, convPadBefore). */
export function convGeometry(x: readonly number[], k: readonly number[], stride: number, padding: "valid" | "same"): ConvGeometry {
  if (x.length !== 4 || k.length !== 4) throw new Error(`conv2d: expected x [b, H, W, C] and k [kh, kw, C, F], got ${formatDims(x)} and ${formatDims(k)}`);
  const [b, h, w, c] = x as [number, number, number, number];
  const [kh, kw, kc, f] = k as [number, number, number, number];
  if (kc !== c) throw new Error(`conv2d: the input has ${c} channels but the kernel expects ${kc}`);
  if (!(Number.isInteger(stride) && stride >= 1)) throw new Error(`conv2d: stride must be a positive integer, got ${stride}`);
  const same = padding === "same";
  const oh = convOutSize(h, kh, stride, same);
  const ow = convOutSize(w, kw, stride, same);
  if (oh < 1 || ow < 1) throw new Error(`conv2d: kernel ${kh}×${kw} is larger than the ${h}×${w} input`);
  return { b, h, w, c, kh, kw, f, oh, ow, stride, padTop: convPadBefore(h, kh, stride, same), padLeft: convPadBefore(w, kw, stride, same) };
}

/**
 * Visits every (output position, kernel tap) pair that reads an input pixel
 * inside the image, with the flat offsets of x[b, iy, ix, 0],
 * k[dy, dx, 0, 0] and out[b, oy, ox, 0]. Taps on the padding read zeros and
 * are skipped.
 */
function forEachTap(g: ConvGeometry, visit: (xo: number, ko: number, oo: number) => void): void {
  for (let b = 0; b < g.b; b++) {
    for (let oy = 0; oy < g.oh; oy++) {
      for (let ox = 0; ox < g.ow; ox++) {
        const oo = ((b * g.oh + oy) * g.ow + ox) * g.f;
        for (let dy = 0; dy < g.kh; dy++) {
          const iy = oy * g.stride + dy - g.padTop;
          if (iy < 0 || iy >= g.h) continue;
          for (let dx = 0; dx < g.kw; dx++) {
            const ix = ox * g.stride + dx - g.padLeft;
            if (ix < 0 || ix >= g.w) continue;
            visit(((b * g.h + iy) * g.w + ix) * g.c, (dy * g.kw + dx) * g.c * g.f, oo);
          }
        }
      }
    }
  }
}

function checkGrad(what: string, g: Tensor, geo: ConvGeometry): void {
  const want = [geo.b, geo.oh, geo.ow, geo.f];
  if (!sameDims(g.shape, want)) throw new Error(`internal: ${what}: the output gradient is ${formatDims(g.shape)}, expected ${formatDims(want)}`);
}

/** The flat index of the first maximum of each size×size window, in window order [b, oy, ox, c]. */
function poolArgmax(x: Tensor, s: number): { shape: number[]; at: Int32Array } {
  if (x.shape.length !== 4) throw new Error(`maxpool2d: expected [b, H, W, C], got ${formatDims(x.shape)}`);
  const [b, h, w, c] = x.shape as [number, number, number, number];
  const oh = poolOutSize(h, s);
  const ow = poolOutSize(w, s);
  const at = new Int32Array(b * oh * ow * c);
  let o = 0;
  for (let bi = 0; bi < b; bi++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++)
        for (let ci = 0; ci < c; ci++) {
          // Window element j (row-major over dy, dx) lies at x[b, oy·s + dy, ox·s + dx, c].
          const idx = (j: number) => ((bi * h + oy * s + Math.floor(j / s)) * w + ox * s + (j % s)) * c + ci;
          at[o++] = idx(argmaxOf(s * s, (j) => x.data[idx(j)]!));
        }
  return { shape: [b, oh, ow, c], at };
}

/** A conv2d gradient of the given shape: g checked against the geometry, then `tap` adds each tap's terms into out. */
function convGrad(what: string, geo: ConvGeometry, g: Tensor, shape: readonly number[], tap: (geo: ConvGeometry, out: Float64Array, xo: number, ko: number, oo: number) => void): Tensor {
  checkGrad(what, g, geo);
  const out = new Float64Array(size(shape));
  forEachTap(geo, (xo, ko, oo) => tap(geo, out, xo, ko, oo));
  return { shape: [...shape], data: out };
}

export const layerKernels: { readonly [K in LayerName]: Kernel<K> } = {
  // out[b, oy, ox, f] = Σ_{dy, dx, c} x[b, oy·s + dy − padTop, ox·s + dx − padLeft, c] · k[dy, dx, c, f]
  conv2d: ([x, k], { stride, padding }) => {
    const geo = convGeometry(x!.shape, k!.shape, stride, padding);
    const out = new Float64Array(geo.b * geo.oh * geo.ow * geo.f);
    const xd = x!.data;
    const kd = k!.data;
    forEachTap(geo, (xo, ko, oo) => {
      for (let c = 0; c < geo.c; c++) {
        const v = xd[xo + c]!;
        for (let f = 0; f < geo.f; f++) out[oo + f] += v * kd[ko + c * geo.f + f]!;
      }
    });
    return { shape: [geo.b, geo.oh, geo.ow, geo.f], data: out };
  },
  // dx[b, iy, ix, c] = Σ over the taps that read it of g[b, oy, ox, f] · k[dy, dx, c, f]
  conv2d_grad_input: ([g, k], { stride, padding }, ctx) => {
    const [gd, kd] = [g!.data, k!.data];
    return convGrad("conv2d_grad_input", convGeometry(ctx.outShape, k!.shape, stride, padding), g!, ctx.outShape, (geo, out, xo, ko, oo) => {
      for (let c = 0; c < geo.c; c++) {
        let s = 0;
        for (let f = 0; f < geo.f; f++) s += gd[oo + f]! * kd[ko + c * geo.f + f]!;
        out[xo + c] += s;
      }
    });
  },
  // dk[dy, dx, c, f] = Σ over output positions of x[b, iy, ix, c] · g[b, oy, ox, f]
  conv2d_grad_kernel: ([x, g], { stride, padding }, ctx) => {
    const [xd, gd] = [x!.data, g!.data];
    return convGrad("conv2d_grad_kernel", convGeometry(x!.shape, ctx.outShape, stride, padding), g!, ctx.outShape, (geo, out, xo, ko, oo) => {
      for (let c = 0; c < geo.c; c++) {
        const v = xd[xo + c]!;
        for (let f = 0; f < geo.f; f++) out[ko + c * geo.f + f] += v * gd[oo + f]!;
      }
    });
  },
  maxpool2d: ([x], { size: s }) => {
    const { shape, at } = poolArgmax(x!, s);
    const out = new Float64Array(at.length);
    for (let i = 0; i < at.length; i++) out[i] = x!.data[at[i]!]!;
    return { shape, data: out };
  },
  // Each window's gradient goes to the first position of its maximum; the windows do not overlap.
  maxpool2d_grad: ([x, g], { size: s }) => {
    const { shape, at } = poolArgmax(x!, s);
    if (!sameDims(g!.shape, shape)) throw new Error(`internal: maxpool2d_grad: the output gradient is ${formatDims(g!.shape)}, expected ${formatDims(shape)}`);
    const out = new Float64Array(x!.data.length);
    for (let i = 0; i < at.length; i++) out[at[i]!] += g!.data[i]!;
    return { shape: [...x!.shape], data: out };
  },
  embed: ([ids, e]) => {
    if (e!.shape.length !== 2) throw new Error(`embed: the table must be [vocabulary, width], got ${formatDims(e!.shape)}`);
    const [v, d] = e!.shape as [number, number];
    const out = new Float64Array(ids!.data.length * d);
    for (let i = 0; i < ids!.data.length; i++) {
      const row = checkIndex(ids!.data[i]!, v, "embed", "table rows");
      out.set(e!.data.subarray(row * d, row * d + d), i * d);
    }
    return { shape: [...ids!.shape, d], data: out };
  },
  // The table's gradient: zeros of the table's shape (the node's shape), with row i of g added at ids[i].
  embed_grad: ([ids, g], _attrs, ctx) => {
    const [v, d] = ctx.outShape as [number, number];
    const want = [...ids!.shape, d];
    if (!sameDims(g!.shape, want)) throw new Error(`internal: embed_grad: the gradient is ${formatDims(g!.shape)}, expected ${formatDims(want)}`);
    const out = tensor([v, d]);
    for (let i = 0; i < ids!.data.length; i++) {
      const row = checkIndex(ids!.data[i]!, v, "embed_grad", "table rows");
      for (let j = 0; j < d; j++) out.data[row * d + j] += g!.data[i * d + j]!;
    }
    return out;
  },
};
