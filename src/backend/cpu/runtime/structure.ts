// The CPU runtime's structural kernels: joining and cutting tensors along an
// axis (concat, slice, take and the gradient of the last two), reordering
// axes (permute, through broadcastTo's stride table) and the causal mask.
// Each is the float32 counterpart of the interpreter kernel of the same op
// (src/interp/kernels-structure.ts). An axis is viewed as [outer, len, inner]
// as in nn.ts; nothing allocates per call.
import { MAX_RANK } from "./broadcast.ts";

/**
 * Copies `blocks` runs of `run` consecutive elements: run b is read at
 * xOff + b·xStride and written at outOff + b·outStride. The one loop of
 * concat, slice, take and their gradients; integer ids move as floats do.
 */
export function copyRuns(x: Float32Array | Int32Array, xOff: number, xStride: number, out: Float32Array | Int32Array, outOff: number, outStride: number, blocks: number, run: number): void {
  for (let b = 0; b < blocks; b++) {
    const xs = xOff + b * xStride;
    const os = outOff + b * outStride;
    for (let j = 0; j < run; j++) out[os + j] = x[xs + j];
  }
}

/** Throws unless [start, start + count) lies in an axis of size len (a symbolic size is only known here). */
function checkRange(what: string, start: number, count: number, len: number): void {
  if (!(start >= 0 && count >= 1 && start + count <= len)) {
    throw new RangeError(`${what}: positions ${start} to ${start + count - 1} are outside an axis of size ${len}`);
  }
}

/** slice and take: out [outer, count, inner] = x [outer, start : start + count, inner]. */
export function sliceAxis(x: Float32Array | Int32Array, xOff: number, out: Float32Array | Int32Array, outOff: number, outer: number, len: number, inner: number, start: number, count: number): void {
  checkRange("slice", start, count, len);
  copyRuns(x, xOff + start * inner, len * inner, out, outOff, count * inner, outer, count * inner);
}

/** The gradient of slice and take: out [outer, len, inner] is zero but for g [outer, count, inner] at start. */
export function unsliceAxis(g: Float32Array, gOff: number, out: Float32Array, outOff: number, outer: number, len: number, inner: number, start: number, count: number): void {
  checkRange("slice gradient", start, count, len);
  out.fill(0, outOff, outOff + outer * len * inner);
  copyRuns(g, gOff, count * inner, out, outOff + start * inner, len * inner, outer, count * inner);
}

/**
 * The broadcastTo table that permutes x (of `shape`) by `axes`: one level
 * per output axis k, of size shape[axes[k]], read at x's stride of that axis.
 * Allocates: build it once.
 */
export function permuteTable(shape: readonly number[], axes: readonly number[]): Int32Array {
  const r = shape.length;
  if (r > MAX_RANK) throw new Error(`permute: at most ${MAX_RANK} axes, got ${r}`);
  const xStride = new Array<number>(r);
  let s = 1;
  for (let a = r - 1; a >= 0; a--) {
    xStride[a] = s;
    s *= shape[a]!;
  }
  const t = new Int32Array(3 * MAX_RANK);
  for (let a = 0; a < MAX_RANK - r; a++) t.set([1, 0, 0], 3 * a);
  let outStride = 1;
  for (let k = r - 1; k >= 0; k--) {
    const n = shape[axes[k]!]!;
    t.set([n, outStride, xStride[axes[k]!]!], 3 * (MAX_RANK - r + k));
    outStride *= n;
  }
  return t;
}

/**
 * causal_mask: x [planes, rows, cols] with every element above the diagonal
 * (column > row) replaced by `fill`.
 */
export function causalMask(x: Float32Array, xOff: number, out: Float32Array, outOff: number, planes: number, rows: number, cols: number, fill: number): void {
  for (let p = 0; p < planes; p++) {
    for (let r = 0; r < rows; r++) {
      const base = (p * rows + r) * cols;
      for (let c = 0; c < cols; c++) out[outOff + base + c] = c > r ? fill : x[xOff + base + c];
    }
  }
}
