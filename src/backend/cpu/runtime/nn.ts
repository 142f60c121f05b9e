// The CPU runtime's non-matmul kernels over Float32Array (Int32Array for
// integer ids), each the float32 counterpart of the interpreter kernel of the
// same op (src/interp/kernels-*.ts), which defines its meaning. Every array
// is addressed by an offset so that values can share one arena; nothing
// allocates. Sums, maxima and exponentials are taken in float64 (JS numbers)
// and only stores round to float32.
//
// Ops along one axis view their operand as [outer, len, inner]: element
// (o, j, i) lies at off + (o·len + j)·inner + i, the interpreter's axisView.
// A reduction over every axis is outer = 1, len = size, inner = 1.
import { DROPOUT_STREAM, dropoutKey, uniformAt } from "./rng.ts";

// ---------------------------------------------------------------- softmax

/**
 * max_j x[xb + j·inner] (−Infinity for len 0), for softmax, logSoftmax and
 * reduceMax. Math.max, not a comparison, so that a NaN spreads as in the interpreter.
 */
function maxAlong(x: Float32Array, xb: number, len: number, inner: number): number {
  let m = -Infinity;
  for (let j = 0; j < len; j++) m = Math.max(m, x[xb + j * inner]);
  return m;
}

/**
 * softmax along the middle axis of [outer, len, inner]: exp(x − max) / Σ exp(x − max).
 * out may be x itself (same array and offset).
 */
export function softmax(x: Float32Array, xOff: number, out: Float32Array, outOff: number, outer: number, len: number, inner: number): void {
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const xb = xOff + o * len * inner + i;
      const ob = outOff + o * len * inner + i;
      const m = maxAlong(x, xb, len, inner);
      let s = 0;
      for (let j = 0; j < len; j++) {
        const e = Math.exp(x[xb + j * inner] - m);
        s += e;
        // Keep exp(x − m) in out so it is computed once; x[j] is read before out[j] is written.
        out[ob + j * inner] = e;
      }
      const r = 1 / s;
      for (let j = 0; j < len; j++) out[ob + j * inner] *= r;
    }
  }
}

/** log_softmax along the middle axis: x − max − log Σ exp(x − max). out may be x itself. */
export function logSoftmax(x: Float32Array, xOff: number, out: Float32Array, outOff: number, outer: number, len: number, inner: number): void {
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const xb = xOff + o * len * inner + i;
      const m = maxAlong(x, xb, len, inner);
      let s = 0;
      for (let j = 0; j < len; j++) s += Math.exp(x[xb + j * inner] - m);
      const shift = m + Math.log(s);
      const ob = outOff + o * len * inner + i;
      for (let j = 0; j < len; j++) out[ob + j * inner] = x[xb + j * inner] - shift;
    }
  }
}

// ------------------------------------------------------------- reductions

/** out[o·inner + i] = Σ_j x(o, j, i), summed in float64. */
export function reduceSum(x: Float32Array, xOff: number, out: Float32Array, outOff: number, outer: number, len: number, inner: number): void {
  reduceSumOver(x, xOff, out, outOff, outer, len, inner, 1);
}

/** out[o·inner + i] = (Σ_j x(o, j, i)) / len. */
export function reduceMean(x: Float32Array, xOff: number, out: Float32Array, outOff: number, outer: number, len: number, inner: number): void {
  reduceSumOver(x, xOff, out, outOff, outer, len, inner, len);
}

/** out[o·inner + i] = (Σ_j x(o, j, i)) / divisor: the sum in float64, divided before the one rounding to float32. */
function reduceSumOver(x: Float32Array, xOff: number, out: Float32Array, outOff: number, outer: number, len: number, inner: number, divisor: number): void {
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const xb = xOff + o * len * inner + i;
      let s = 0;
      for (let j = 0; j < len; j++) s += x[xb + j * inner];
      out[outOff + o * inner + i] = s / divisor;
    }
  }
}

/** out[o·inner + i] = max_j x(o, j, i) (−Infinity for len 0; a NaN spreads). */
export function reduceMax(x: Float32Array, xOff: number, out: Float32Array, outOff: number, outer: number, len: number, inner: number): void {
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      out[outOff + o * inner + i] = maxAlong(x, xOff + o * len * inner + i, len, inner);
    }
  }
}

/**
 * out[o·inner + i] = the index j of the first maximum of x(o, ·, i), as an
 * integer in an Int32Array: argmax's result is an i32 value in the IR. A NaN
 * is never chosen after the first element (comparisons with it are false),
 * exactly as the interpreter's argmaxOf.
 */
export function argmax(x: Float32Array, xOff: number, out: Int32Array, outOff: number, outer: number, len: number, inner: number): void {
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const xb = xOff + o * len * inner + i;
      let best = 0;
      let bv = x[xb];
      for (let j = 1; j < len; j++) {
        const v = x[xb + j * inner];
        if (v > bv) {
          best = j;
          bv = v;
        }
      }
      out[outOff + o * inner + i] = best;
    }
  }
}

// -------------------------------------------------------------- transpose

/** out[b, j, i] = x[b, i, j] for batch matrices of rows × cols; in tiles of 16 × 16 so both sides stay in cache. */
export function transposeLast2(x: Float32Array, xOff: number, out: Float32Array, outOff: number, batch: number, rows: number, cols: number): void {
  const T = 16;
  for (let b = 0; b < batch; b++) {
    const xb = xOff + b * rows * cols;
    const ob = outOff + b * rows * cols;
    for (let i0 = 0; i0 < rows; i0 += T) {
      const i1 = Math.min(i0 + T, rows);
      for (let j0 = 0; j0 < cols; j0 += T) {
        const j1 = Math.min(j0 + T, cols);
        for (let i = i0; i < i1; i++) for (let j = j0; j < j1; j++) out[ob + j * rows + i] = x[xb + i * cols + j];
      }
    }
  }
}

// ---------------------------------------------------------------- pooling

/**
 * maxpool2d's output height (or width): whole size × size windows only. The
 * one definition: the shape rule, the interpreter and this runtime call it
 * (the WGSL reads the output shape the shape rule gave).
 */
export function poolOutSize(n: number, size: number): number {
  return Math.floor(n / size);
}

/**
 * maxpool2d on NHWC x [b, h, w, c]: non-overlapping size × size windows,
 * out [b, ⌊h/size⌋, ⌊w/size⌋, c]; rows and columns past the last whole
 * window are ignored. The first maximum in window order (dy, then dx) wins,
 * as in the interpreter, which matters only for NaN.
 */
export function maxpool2d(x: Float32Array, xOff: number, out: Float32Array, outOff: number, b: number, h: number, w: number, c: number, size: number): void {
  const oh = poolOutSize(h, size);
  const ow = poolOutSize(w, size);
  let o = outOff;
  for (let bi = 0; bi < b; bi++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        // Channels innermost: every tap reads c adjacent values.
        const first = xOff + ((bi * h + oy * size) * w + ox * size) * c;
        for (let ci = 0; ci < c; ci++) out[o + ci] = x[first + ci];
        for (let t = 1; t < size * size; t++) {
          const dy = Math.floor(t / size);
          const at = first + (dy * w + (t - dy * size)) * c;
          for (let ci = 0; ci < c; ci++) {
            const v = x[at + ci];
            if (v > out[o + ci]) out[o + ci] = v;
          }
        }
        o += c;
      }
    }
  }
}

/**
 * The gradient of maxpool2d: dx (the shape of x) is zero except that each
 * window's g goes to the first maximum of that window in x.
 */
export function maxpool2dGrad(
  x: Float32Array,
  xOff: number,
  g: Float32Array,
  gOff: number,
  dx: Float32Array,
  dxOff: number,
  b: number,
  h: number,
  w: number,
  c: number,
  size: number,
): void {
  const oh = poolOutSize(h, size);
  const ow = poolOutSize(w, size);
  dx.fill(0, dxOff, dxOff + b * h * w * c);
  let o = gOff;
  for (let bi = 0; bi < b; bi++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        const first = ((bi * h + oy * size) * w + ox * size) * c;
        for (let ci = 0; ci < c; ci++) {
          let best = first + ci;
          let bv = x[xOff + best];
          for (let t = 1; t < size * size; t++) {
            const dy = Math.floor(t / size);
            const at = first + (dy * w + (t - dy * size)) * c + ci;
            const v = x[xOff + at];
            if (v > bv) {
              best = at;
              bv = v;
            }
          }
          // Windows do not overlap, so each dx element gets at most one g.
          dx[dxOff + best] = g[o + ci];
        }
        o += c;
      }
    }
  }
}

// ------------------------------------------------------------- embeddings

function nnBadId(what: string, id: number, n: number, of: string): Error {
  return new RangeError(`${what}: id ${id} is out of range for ${n} ${of} (ids run from 0 to ${n - 1})`);
}

/** embed: out row i (width values) = row ids[i] of the [vocab, width] table, for count ids. Throws on an id outside [0, vocab). */
export function embed(
  ids: Int32Array,
  idsOff: number,
  count: number,
  tbl: Float32Array,
  tblOff: number,
  vocab: number,
  width: number,
  out: Float32Array,
  outOff: number,
): void {
  for (let i = 0; i < count; i++) {
    const id = ids[idsOff + i];
    if (!(id >= 0 && id < vocab)) throw nnBadId("embed", id, vocab, "table rows");
    const src = tblOff + id * width;
    const dst = outOff + i * width;
    for (let j = 0; j < width; j++) out[dst + j] = tbl[src + j];
  }
}

/** The gradient of embed's table: dtbl [vocab, width] = zeros, then row i of g added into row ids[i]. */
export function embedGrad(
  ids: Int32Array,
  idsOff: number,
  count: number,
  g: Float32Array,
  gOff: number,
  vocab: number,
  width: number,
  dtbl: Float32Array,
  dtblOff: number,
): void {
  dtbl.fill(0, dtblOff, dtblOff + vocab * width);
  for (let i = 0; i < count; i++) {
    const id = ids[idsOff + i];
    if (!(id >= 0 && id < vocab)) throw nnBadId("embed_grad", id, vocab, "table rows");
    const dst = dtblOff + id * width;
    const src = gOff + i * width;
    for (let j = 0; j < width; j++) dtbl[dst + j] += g[src + j];
  }
}

/** one_hot: out [count, n] = zeros with a 1 at column ids[i] of row i. Throws on an id outside [0, n). */
export function oneHot(ids: Int32Array, idsOff: number, count: number, n: number, out: Float32Array, outOff: number): void {
  out.fill(0, outOff, outOff + count * n);
  for (let i = 0; i < count; i++) {
    const id = ids[idsOff + i];
    if (!(id >= 0 && id < n)) throw nnBadId("one_hot", id, n, "classes");
    out[outOff + i * n + id] = 1;
  }
}

// ---------------------------------------------------------------- dropout

/**
 * The training-time dropout mask of count elements: element i is 1/(1 − p)
 * when uniform01(seed, DROPOUT_STREAM + stream, step, i) ≥ p and 0
 * otherwise; stream is the op's own stream number (attrs.stream), without
 * DROPOUT_STREAM. Outside training the mask is all ones and this is not
 * called. The draws go through dropoutKey/uniformAt, which give uniform01's
 * bits with one hash per element instead of three.
 */
export function dropoutMask(out: Float32Array, outOff: number, count: number, p: number, seed: number, stream: number, step: number): void {
  const keep = 1 / (1 - p);
  const key = dropoutKey(seed, DROPOUT_STREAM + stream, step);
  for (let i = 0; i < count; i++) out[outOff + i] = uniformAt(key, i) >= p ? keep : 0;
}
