// The CPU runtime's kernels for average pooling, the integer-label
// cross-entropy and batch normalisation's statistics, each the float32
// counterpart of its interpreter kernel (src/interp/kernels-norm.ts), which
// defines its meaning. Sums are taken in float64 (JS numbers); only stores
// round to float32. Nothing allocates.
import { poolOutSize } from "./nn.ts";
import { columnsOnWasm, inKernelMemory, type VectorKernels } from "./vector.ts";

/**
 * Average pooling on NHWC x [b, h, w, c] over non-overlapping ph × pw
 * windows: out [b, ⌊h/ph⌋, ⌊w/pw⌋, c]; rows and columns past the last whole
 * window are ignored, as in maxpool2d. global_avgpool is the one window
 * ph = h, pw = w.
 */
export function avgpool2d(vec: VectorKernels | null, x: Float32Array, xOff: number, out: Float32Array, outOff: number, b: number, h: number, w: number, c: number, ph: number, pw: number): void {
  const oh = poolOutSize(h, ph);
  const ow = poolOutSize(w, pw);
  const scale = 1 / (ph * pw);
  // vector.wat's pool: the same float64 sums, in the same order (for windows of at least one pixel: it divides by their sides).
  if (ph > 0 && pw > 0 && inKernelMemory(vec, x, out)) {
    vec.pool(x.byteOffset + 4 * xOff, out.byteOffset + 4 * outOff, b, h, w, c, ph, pw, scale, 0);
    return;
  }
  for (let bi = 0; bi < b; bi++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        const o = outOff + ((bi * oh + oy) * ow + ox) * c;
        const corner = xOff + ((bi * h + oy * ph) * w + ox * pw) * c;
        // Four channels a pass over the window (its pixels' channels are consecutive), each summed in float64 in window order.
        let ci = 0;
        for (; ci + 4 <= c; ci += 4) {
          let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
          for (let dy = 0; dy < ph; dy++) {
            for (let dx = 0, at = corner + dy * w * c + ci; dx < pw; dx++, at += c) {
              s0 += x[at];
              s1 += x[at + 1];
              s2 += x[at + 2];
              s3 += x[at + 3];
            }
          }
          out[o + ci] = s0 * scale;
          out[o + ci + 1] = s1 * scale;
          out[o + ci + 2] = s2 * scale;
          out[o + ci + 3] = s3 * scale;
        }
        for (; ci < c; ci++) {
          let s = 0;
          for (let dy = 0; dy < ph; dy++) for (let dx = 0, at = corner + dy * w * c + ci; dx < pw; dx++, at += c) s += x[at];
          out[o + ci] = s * scale;
        }
      }
    }
  }
}

/** The gradient of avgpool2d: each window's g, divided by the window's size, spread over it; zero outside whole windows. */
export function avgpool2dGrad(vec: VectorKernels | null, g: Float32Array, gOff: number, dx: Float32Array, dxOff: number, b: number, h: number, w: number, c: number, ph: number, pw: number): void {
  const oh = poolOutSize(h, ph);
  const ow = poolOutSize(w, pw);
  const scale = 1 / (ph * pw);
  // Zeros only where pixels fall outside whole windows: the windows write every other one.
  if (oh * ph !== h || ow * pw !== w) dx.fill(0, dxOff, dxOff + b * h * w * c);
  // vector.wat's pool: each window's g times scale in float64, rounded once, as below.
  if (ph > 0 && pw > 0 && inKernelMemory(vec, g, dx)) {
    vec.pool(g.byteOffset + 4 * gOff, dx.byteOffset + 4 * dxOff, b, h, w, c, ph, pw, scale, 1);
    return;
  }
  for (let bi = 0; bi < b; bi++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        const o = gOff + ((bi * oh + oy) * ow + ox) * c;
        // Each pixel of the window gets the window's channels, consecutive floats.
        for (let dy = 0; dy < ph; dy++) {
          for (let dx2 = 0, at = dxOff + ((bi * h + oy * ph + dy) * w + ox * pw) * c; dx2 < pw; dx2++, at += c) {
            for (let ci = 0; ci < c; ci++) dx[at + ci] = g[o + ci] * scale;
          }
        }
      }
    }
  }
}

/** A label as a class index, or an error naming it (as the interpreter's checkIndex). */
function labelAt(labels: Int32Array, at: number, width: number): number {
  const k = labels[at];
  if (!(k >= 0 && k < width)) throw new RangeError(`sparse_cross_entropy: label ${k} is outside the ${width} classes [0, ${width})`);
  return k;
}

/** mean over rows of logsumexp(z_row) − z_row[label], with the row maximum factored out of logsumexp. */
export function sparseCrossEntropy(z: Float32Array, zOff: number, labels: Int32Array, lOff: number, rows: number, width: number): number {
  let s = 0;
  for (let r = 0; r < rows; r++) {
    const zo = zOff + r * width;
    let m = -Infinity;
    for (let j = 0; j < width; j++) m = Math.max(m, z[zo + j]);
    let e = 0;
    for (let j = 0; j < width; j++) e += Math.exp(z[zo + j] - m);
    s += m + Math.log(e) - z[zo + labelAt(labels, lOff + r, width)];
  }
  return s / rows;
}

/**
 * The mean of each column of x [rows, width] (each channel over every other
 * axis), into out [width], as columnStats computes it.
 */
export function batchMean(vec: VectorKernels | null, x: Float32Array, xOff: number, rows: number, width: number, out: Float32Array, outOff: number): void {
  columnStats(vec, x, xOff, rows, width, false, 1, out, outOff);
}

/**
 * The variance of each column of x [rows, width], two-pass (about the
 * column's mean), as columnStats computes it: divided by rows, or by
 * rows − 1 when `unbiased` (the running estimate; one row divides by 1).
 */
export function batchVar(vec: VectorKernels | null, x: Float32Array, xOff: number, rows: number, width: number, unbiased: boolean, out: Float32Array, outOff: number): void {
  columnStats(vec, x, xOff, rows, width, true, unbiased ? Math.max(rows, 2) - 1 : rows, out, outOff);
}

/**
 * batchMean's and batchVar's statistics, what vector.wat's `columns`
 * computes: each column of x [rows, width] summed in float64 in row order,
 * its mean s / rows; with `variance`, the squared deviations from that mean
 * summed the same way and divided by den. Four columns share a pass down the
 * rows (the array read in order, not once per column); with vec (the
 * model's WebAssembly kernels), whole groups of 8 columns run there.
 */
function columnStats(vec: VectorKernels | null, x: Float32Array, xOff: number, rows: number, width: number, variance: boolean, den: number, out: Float32Array, outOff: number): void {
  let j = columnsOnWasm(vec, x, xOff, out, outOff, rows, width, rows, den, variance);
  for (; j + 4 <= width; j += 4) {
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let r = 0, at = xOff + j; r < rows; r++, at += width) {
      s0 += x[at];
      s1 += x[at + 1];
      s2 += x[at + 2];
      s3 += x[at + 3];
    }
    const m0 = s0 / rows;
    const m1 = s1 / rows;
    const m2 = s2 / rows;
    const m3 = s3 / rows;
    if (!variance) {
      out[outOff + j] = m0;
      out[outOff + j + 1] = m1;
      out[outOff + j + 2] = m2;
      out[outOff + j + 3] = m3;
      continue;
    }
    let q0 = 0, q1 = 0, q2 = 0, q3 = 0;
    for (let r = 0, at = xOff + j; r < rows; r++, at += width) {
      const d0 = x[at] - m0;
      const d1 = x[at + 1] - m1;
      const d2 = x[at + 2] - m2;
      const d3 = x[at + 3] - m3;
      q0 += d0 * d0;
      q1 += d1 * d1;
      q2 += d2 * d2;
      q3 += d3 * d3;
    }
    out[outOff + j] = q0 / den;
    out[outOff + j + 1] = q1 / den;
    out[outOff + j + 2] = q2 / den;
    out[outOff + j + 3] = q3 / den;
  }
  for (; j < width; j++) {
    let s = 0;
    for (let r = 0, at = xOff + j; r < rows; r++, at += width) s += x[at];
    const m = s / rows;
    if (!variance) {
      out[outOff + j] = m;
      continue;
    }
    let q = 0;
    for (let r = 0, at = xOff + j; r < rows; r++, at += width) {
      const d = x[at] - m;
      q += d * d;
    }
    out[outOff + j] = q / den;
  }
}
