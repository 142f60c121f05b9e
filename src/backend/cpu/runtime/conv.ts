// NHWC 2-D convolution for the CPU runtime, forward and both gradients, by
// im2col + gemm: the input patches of a run of output pixels are copied into
// the rows of a column matrix, and the convolution becomes one matrix product
// with the kernel, whose [kh, kw, C, F] layout already is the
// (kh·kw·C) × F matrix it needs. The meaning is the interpreter's conv2d,
// conv2d_grad_input and conv2d_grad_kernel (src/interp/kernels-layers.ts):
//
//   out[b, oy, ox, f] = Σ_{dy, dx, c} x[b, oy·s + dy − padTop, ox·s + dx − padLeft, c] · k[dy, dx, c, f]
//
// with taps on the padding reading zeros. The column buffer holds a bounded
// number of rows, so a large batch is done in chunks; 1 × 1 kernels with
// stride 1 need no columns at all (x already is the column matrix).
import { gemm, gemmWorkspace, type GemmWorkspace } from "./gemm.ts";
import { createVectorInstance } from "./vector.ts";
import { type KernelMemory } from "./wasm.ts";

/** vector.wat's `patches`: convPatches on byte addresses of the model's memory (adjoint 0 or 1). */
type PatchesKernel = (img: number, h: number, w: number, c: number, kh: number, kw: number, oh: number, ow: number, stride: number, padTop: number, padLeft: number, r0: number, rows: number, col: number, adjoint: number) => void;

/** The column buffer's size bound, in floats (4 MB): large enough that a chunk's product is efficient. */
export const CONV_COL_FLOATS = 1 << 20;

export interface ConvWorkspace {
  /** Rows of kh·kw·C patch values, one row per output pixel of the chunk in hand. */
  readonly col: Float32Array;
  readonly gemm: GemmWorkspace;
  /** im2col and col2im on WebAssembly SIMD, where the column buffer is in the model's WebAssembly memory; else convPatches in JavaScript. */
  readonly patches: PatchesKernel | null;
}

/** Rows of the column buffer for patches of up to maxPatch values: enough for an efficient product, at most maxPixels. */
function convColumnRows(maxPixels: number, maxPatch: number): number {
  return Math.max(1, Math.min(maxPixels, Math.max(64, Math.floor(CONV_COL_FLOATS / Math.max(maxPatch, 1)))));
}

/** Floats of the column buffer of convolutions with at most maxPixels output pixels and patches of at most maxPatch values. */
export function convColumnFloats(maxPixels: number, maxPatch: number): number {
  return convColumnRows(maxPixels, maxPatch) * Math.max(maxPatch, 1);
}

/**
 * A workspace for convolutions with at most maxPixels output pixels
 * (b·Ho·Wo), patches of at most maxPatch values (kh·kw·C) and at most
 * maxChannels channels (C or F). Pass a GemmWorkspace to share one that
 * already exists (any size works, it only sets the blocking), and the
 * model's memory to take the column buffer from it (memory.col, of
 * convColumnFloats(maxPixels, maxPatch) floats) and use its WebAssembly kernels.
 */
export function convWorkspace(maxPixels: number, maxPatch: number, maxChannels: number, shared: GemmWorkspace | null = null, memory: KernelMemory | null = null): ConvWorkspace {
  const patch = Math.max(maxPatch, 1);
  const rows = convColumnRows(maxPixels, maxPatch);
  const kernels = memory === null ? null : createVectorInstance(memory);
  return {
    patches: kernels === null ? null : (kernels["patches"] as PatchesKernel),
    col: memory?.col ?? new Float32Array(rows * patch),
    gemm: shared ?? gemmWorkspace(Math.max(rows, patch), Math.max(maxChannels, patch), Math.max(rows, patch, maxChannels), memory?.wasm ?? null),
  };
}

/**
 * Output size along one axis: ⌈n/stride⌉ for "same", ⌊(n − kn)/stride⌋ + 1 for
 * "valid". This and convPadBefore are the one definition of conv2d's geometry:
 * the shape rule, the interpreter, this runtime and the WGSL all call them.
 */
export function convOutSize(n: number, kn: number, stride: number, same: boolean): number {
  return same ? Math.ceil(n / stride) : Math.floor((n - kn) / stride) + 1;
}

/**
 * Padding before the first row (or column): the smaller half of the total
 * max((out − 1)·stride + kn − n, 0) for "same", so an odd total puts the extra
 * row at the bottom and the extra column at the right (TensorFlow's rule); 0
 * for "valid".
 */
export function convPadBefore(n: number, kn: number, stride: number, same: boolean): number {
  if (!same) return 0;
  return Math.floor(Math.max((convOutSize(n, kn, stride, true) - 1) * stride + kn - n, 0) / 2);
}

/**
 * Floats of the column buffer that conv2d and conv2dGradInput fill per chunk
 * (512 KB): the chunk stays in the core's cache between its patches and its
 * product. Their chunks split only the product's rows, which changes no bit;
 * conv2dGradKernel's chunks split the product's depth (dk is summed chunk by
 * chunk), so it keeps the whole buffer and the bits it always had.
 */
const CONV_CACHED_FLOATS = 1 << 17;

/** Pixels per chunk for patches of this size (at most `floats` of the buffer, at least one row), or an error when the workspace cannot hold one row. */
function convChunk(ws: ConvWorkspace, patch: number, floats = ws.col.length): number {
  const rows = Math.floor(ws.col.length / patch);
  if (rows < 1) throw new Error(`conv2d: the workspace holds patches of ${ws.col.length} values, this convolution needs ${patch}`);
  return Math.max(1, Math.min(rows, Math.floor(floats / patch)));
}

/**
 * Moves the patches of output pixels r0 … r0+rows−1 (pixels counted over
 * [b, oy, ox]) between the image and col, where row r of col holds
 * img[b, iy, ix, 0 … C−1] for each tap (ty, tx) in row-major order. Forward
 * (adjoint false, im2col) copies the image into col, zeros where the tap falls
 * on the padding; its adjoint (col2im) adds each column value back into the
 * pixel it was copied from, dropping padding taps. One loop, so that the two
 * can never disagree about which pixel a tap reads.
 */
export function convPatches(
  img: Float32Array,
  imgOff: number,
  h: number,
  w: number,
  c: number,
  kh: number,
  kw: number,
  oh: number,
  ow: number,
  stride: number,
  padTop: number,
  padLeft: number,
  r0: number,
  rows: number,
  col: Float32Array,
  adjoint: boolean,
): void {
  const tapRow = kw * c;
  // The pixel (bi, oy, ox) of row r0, then counted along with r.
  let bi = Math.floor(r0 / (oh * ow));
  let oy = Math.floor((r0 - bi * oh * ow) / ow);
  let ox = r0 - bi * oh * ow - oy * ow;
  let q = 0;
  for (let r = 0; r < rows; r++) {
    // The taps tx in [txLo, txHi) fall inside the image along x: one run of
    // consecutive floats in the image per tap row (the pixels ix … and their channels).
    const ix0 = ox * stride - padLeft;
    const txLo = Math.max(0, -ix0);
    const txHi = Math.min(kw, w - ix0);
    for (let ty = 0; ty < kh; ty++, q += tapRow) {
      const iy = oy * stride + ty - padTop;
      if (iy < 0 || iy >= h || txHi <= txLo) {
        if (!adjoint) col.fill(0, q, q + tapRow);
        continue;
      }
      const from = imgOff + ((bi * h + iy) * w + ix0 + txLo) * c;
      const to = q + txLo * c;
      const n = (txHi - txLo) * c;
      if (adjoint) {
        for (let j = 0; j < n; j++) img[from + j] += col[to + j];
      } else {
        if (txLo > 0) col.fill(0, q, to);
        for (let j = 0; j < n; j++) col[to + j] = img[from + j];
        if (txHi < kw) col.fill(0, to + n, q + tapRow);
      }
    }
    if (++ox === ow) {
      ox = 0;
      if (++oy === oh) {
        oy = 0;
        bi++;
      }
    }
  }
}

/** convPatches into (or from) the start of ws.col: on the WebAssembly kernel where the image is in the same memory, else in JavaScript. */
function patchesOf(ws: ConvWorkspace, img: Float32Array, imgOff: number, h: number, w: number, c: number, kh: number, kw: number, oh: number, ow: number, stride: number, padTop: number, padLeft: number, r0: number, rows: number, adjoint: boolean): void {
  if (ws.patches !== null && img.buffer === ws.col.buffer) {
    ws.patches(img.byteOffset + 4 * imgOff, h, w, c, kh, kw, oh, ow, stride, padTop, padLeft, r0, rows, ws.col.byteOffset, adjoint ? 1 : 0);
  } else {
    convPatches(img, imgOff, h, w, c, kh, kw, oh, ow, stride, padTop, padLeft, r0, rows, ws.col, adjoint);
  }
}

/** conv2d: out [b, Ho, Wo, f] from x [b, h, w, c] and k [kh, kw, c, f], stride `stride`, padding "same" when `same`, else "valid". */
export function conv2d(
  ws: ConvWorkspace,
  b: number,
  h: number,
  w: number,
  c: number,
  kh: number,
  kw: number,
  f: number,
  stride: number,
  same: boolean,
  x: Float32Array,
  xOff: number,
  k: Float32Array,
  kOff: number,
  out: Float32Array,
  outOff: number,
): void {
  const oh = convOutSize(h, kh, stride, same);
  const ow = convOutSize(w, kw, stride, same);
  const pixels = b * oh * ow;
  const patch = kh * kw * c;
  if (kh === 1 && kw === 1 && stride === 1) {
    gemm(ws.gemm, false, false, pixels, f, c, x, xOff, c, k, kOff, f, out, outOff, f, false);
    return;
  }
  const padTop = convPadBefore(h, kh, stride, same);
  const padLeft = convPadBefore(w, kw, stride, same);
  const chunk = convChunk(ws, patch, CONV_CACHED_FLOATS);
  for (let r0 = 0; r0 < pixels; r0 += chunk) {
    const rows = Math.min(chunk, pixels - r0);
    patchesOf(ws, x, xOff, h, w, c, kh, kw, oh, ow, stride, padTop, padLeft, r0, rows, false);
    // out rows r0 … = col · K, K being k viewed as (kh·kw·c) × f.
    gemm(ws.gemm, false, false, rows, f, patch, ws.col, 0, patch, k, kOff, f, out, outOff + r0 * f, f, false);
  }
}

/** conv2d_grad_input: dx [b, h, w, c] from the output gradient dout [b, Ho, Wo, f] and k; dx is overwritten. */
export function conv2dGradInput(
  ws: ConvWorkspace,
  b: number,
  h: number,
  w: number,
  c: number,
  kh: number,
  kw: number,
  f: number,
  stride: number,
  same: boolean,
  dout: Float32Array,
  doutOff: number,
  k: Float32Array,
  kOff: number,
  dx: Float32Array,
  dxOff: number,
): void {
  const oh = convOutSize(h, kh, stride, same);
  const ow = convOutSize(w, kw, stride, same);
  const pixels = b * oh * ow;
  const patch = kh * kw * c;
  if (kh === 1 && kw === 1 && stride === 1) {
    // dx = dout · Kᵀ.
    gemm(ws.gemm, false, true, pixels, c, f, dout, doutOff, f, k, kOff, f, dx, dxOff, c, false);
    return;
  }
  const padTop = convPadBefore(h, kh, stride, same);
  const padLeft = convPadBefore(w, kw, stride, same);
  const chunk = convChunk(ws, patch, CONV_CACHED_FLOATS);
  dx.fill(0, dxOff, dxOff + b * h * w * c);
  for (let r0 = 0; r0 < pixels; r0 += chunk) {
    const rows = Math.min(chunk, pixels - r0);
    // The gradient of the chunk's columns, dcol = dout · Kᵀ, then back to the pixels they came from.
    gemm(ws.gemm, false, true, rows, patch, f, dout, doutOff + r0 * f, f, k, kOff, f, ws.col, 0, patch, false);
    patchesOf(ws, dx, dxOff, h, w, c, kh, kw, oh, ow, stride, padTop, padLeft, r0, rows, true);
  }
}

/** conv2d_grad_kernel: dk [kh, kw, c, f] from x [b, h, w, c] and the output gradient dout [b, Ho, Wo, f]; dk is overwritten. */
export function conv2dGradKernel(
  ws: ConvWorkspace,
  b: number,
  h: number,
  w: number,
  c: number,
  kh: number,
  kw: number,
  f: number,
  stride: number,
  same: boolean,
  x: Float32Array,
  xOff: number,
  dout: Float32Array,
  doutOff: number,
  dk: Float32Array,
  dkOff: number,
): void {
  const oh = convOutSize(h, kh, stride, same);
  const ow = convOutSize(w, kw, stride, same);
  const pixels = b * oh * ow;
  const patch = kh * kw * c;
  if (kh === 1 && kw === 1 && stride === 1) {
    // dk = xᵀ · dout.
    gemm(ws.gemm, true, false, c, f, pixels, x, xOff, c, dout, doutOff, f, dk, dkOff, f, false);
    return;
  }
  const padTop = convPadBefore(h, kh, stride, same);
  const padLeft = convPadBefore(w, kw, stride, same);
  const chunk = convChunk(ws, patch);
  if (pixels === 0) dk.fill(0, dkOff, dkOff + patch * f);
  for (let r0 = 0; r0 < pixels; r0 += chunk) {
    const rows = Math.min(chunk, pixels - r0);
    patchesOf(ws, x, xOff, h, w, c, kh, kw, oh, ow, stride, padTop, padLeft, r0, rows, false);
    // dk (+)= colᵀ · dout over the chunk's pixels; the first chunk overwrites.
    gemm(ws.gemm, true, false, patch, f, rows, ws.col, 0, patch, dout, doutOff + r0 * f, f, dk, dkOff, f, r0 > 0);
  }
}
