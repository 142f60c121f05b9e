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
 * softmax along the middle axis of [outer, len, inner]: exp(x − max) / Σ exp(x − max).
 * out may be x itself (same array and offset).
 */
export function softmax(x: Float32Array, xOff: number, out: Float32Array, outOff: number, outer: number, len: number, inner: number): void {
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const xb = xOff + o * len * inner + i;
      const ob = outOff + o * len * inner + i;
      let m = -Infinity;
      // Math.max, not a comparison, so that a NaN spreads as in the interpreter.
      for (let j = 0; j < len; j++) m = Math.max(m, x[xb + j * inner]);
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
      const ob = outOff + o * len * inner + i;
      let m = -Infinity;
      for (let j = 0; j < len; j++) m = Math.max(m, x[xb + j * inner]);
      let s = 0;
      for (let j = 0; j < len; j++) s += Math.exp(x[xb + j * inner] - m);
      const shift = m + Math.log(s);
      for (let j = 0; j < len; j++) out[ob + j * inner] = x[xb + j * inner] - shift;
    }
  }
}

// ------------------------------------------------------------- reductions

/** out[o·inner + i] = Σ_j x(o, j, i), summed in float64. */
export function reduceSum(x: Float32Array, xOff: number, out: Float32Array, outOff: number, outer: number, len: number, inner: number): void {
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const xb = xOff + o * len * inner + i;
      let s = 0;
      for (let j = 0; j < len; j++) s += x[xb + j * inner];
      out[outOff + o * inner + i] = s;
    }
  }
}

/** out[o·inner + i] = (Σ_j x(o, j, i)) / len. */
export function reduceMean(x: Float32Array, xOff: number, out: Float32Array, outOff: number, outer: number, len: number, inner: number): void {
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const xb = xOff + o * len * inner + i;
      let s = 0;
      for (let j = 0; j < len; j++) s += x[xb + j * inner];
      out[outOff + o * inner + i] = s / len;
    }
  }
}

/** out[o·inner + i] = max_j x(o, j, i) (−Infinity for len 0; a NaN spreads). */
export function reduceMax(x: Float32Array, xOff: number, out: Float32Array, outOff: number, outer: number, len: number, inner: number): void {
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const xb = xOff + o * len * inner + i;
      let m = -Infinity;
      for (let j = 0; j < len; j++) m = Math.max(m, x[xb + j * inner]);
      out[outOff + o * inner + i] = m;
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

// ------------------------------------------------------------ broadcasting

/** The most axes a broadcast table describes. */
export const MAX_RANK = 6;

/**
 * A broadcast table describes a loop over a "big" shape and how it reads or
 * writes a "small" shape that broadcasts to it (numpy rules: aligned from
 * the right, each small dim equal to the big one or 1). It is an Int32Array
 * of 3·MAX_RANK entries, one triple per loop level, outermost first:
 *
 *   t[3a] = the dim, t[3a + 1] = its stride in the big (row-major) array,
 *   t[3a + 2] = its stride in the small array (0 where it is broadcast).
 *
 * Unused levels are (1, 0, 0). Levels may be in any order, which is why the
 * big strides are explicit: sumTo needs the kept axes outside the summed ones
 * (sumToTable), broadcastTo prefers the natural order (broadcastTable).
 * A generator may equally write these numbers as constants.
 */
function nnTable(small: readonly number[], big: readonly number[], keptFirst: boolean): Int32Array {
  const r = big.length;
  const lead = r - small.length;
  if (lead < 0 || r > MAX_RANK) throw new Error(`broadcast table: cannot broadcast [${small.join(", ")}] to [${big.join(", ")}] (at most ${MAX_RANK} axes)`);
  const levels: number[][] = [];
  let bigStride = 1;
  let smallStride = 1;
  for (let a = r - 1; a >= 0; a--) {
    const d = big[a]!;
    const s = a < lead ? 1 : small[a - lead]!;
    if (s !== d && s !== 1) throw new Error(`broadcast table: cannot broadcast [${small.join(", ")}] to [${big.join(", ")}]`);
    // Axes of size 1 need no loop level.
    if (d !== 1) levels.unshift([d, bigStride, s === 1 ? 0 : smallStride]);
    bigStride *= d;
    smallStride *= s;
  }
  const ordered = keptFirst ? [...levels.filter((l) => l[2] !== 0), ...levels.filter((l) => l[2] === 0)] : levels;
  const t = new Int32Array(3 * MAX_RANK);
  const pad = MAX_RANK - ordered.length;
  for (let a = 0; a < MAX_RANK; a++) {
    const l = a < pad ? [1, 0, 0] : ordered[a - pad]!;
    t.set(l, 3 * a);
  }
  return t;
}

/** The table for broadcastTo(small → big): big's axes in their natural order. Allocates: build it once. */
export function broadcastTable(small: readonly number[], big: readonly number[]): Int32Array {
  return nnTable(small, big, false);
}

/** The table for sumTo(big → small): small's axes outermost, the summed ones innermost. Allocates: build it once. */
export function sumToTable(small: readonly number[], big: readonly number[]): Int32Array {
  return nnTable(small, big, true);
}

/** broadcast_to: out (the big shape) = x (the small shape) repeated along the broadcast axes. */
export function broadcastTo(x: Float32Array, xOff: number, out: Float32Array, outOff: number, t: Int32Array): void {
  const n0 = t[0];
  const b0 = t[1];
  const s0 = t[2];
  const n1 = t[3];
  const b1 = t[4];
  const s1 = t[5];
  const n2 = t[6];
  const b2 = t[7];
  const s2 = t[8];
  const n3 = t[9];
  const b3 = t[10];
  const s3 = t[11];
  const n4 = t[12];
  const b4 = t[13];
  const s4 = t[14];
  const n5 = t[15];
  const b5 = t[16];
  const s5 = t[17];
  for (let i0 = 0, o0 = outOff, x0 = xOff; i0 < n0; i0++, o0 += b0, x0 += s0)
    for (let i1 = 0, o1 = o0, x1 = x0; i1 < n1; i1++, o1 += b1, x1 += s1)
      for (let i2 = 0, o2 = o1, x2 = x1; i2 < n2; i2++, o2 += b2, x2 += s2)
        for (let i3 = 0, o3 = o2, x3 = x2; i3 < n3; i3++, o3 += b3, x3 += s3)
          for (let i4 = 0, o4 = o3, x4 = x3; i4 < n4; i4++, o4 += b4, x4 += s4)
            for (let i5 = 0, o5 = o4, x5 = x4; i5 < n5; i5++, o5 += b5, x5 += s5) out[o5] = x[x5];
}

/**
 * sum_to, the adjoint of broadcast_to: out (the small shape) = x (the big
 * shape) summed over the broadcast axes. The table must put every kept axis
 * outside every summed one (sumToTable does), so that the elements summed
 * into one output are visited consecutively: each is summed in float64 and
 * stored once, and out needs no zeroing first. Every output element receives
 * at least one term when all dims are at least 1.
 */
export function sumTo(x: Float32Array, xOff: number, out: Float32Array, outOff: number, t: Int32Array): void {
  const n0 = t[0];
  const b0 = t[1];
  const s0 = t[2];
  const n1 = t[3];
  const b1 = t[4];
  const s1 = t[5];
  const n2 = t[6];
  const b2 = t[7];
  const s2 = t[8];
  const n3 = t[9];
  const b3 = t[10];
  const s3 = t[11];
  const n4 = t[12];
  const b4 = t[13];
  const s4 = t[14];
  const n5 = t[15];
  const b5 = t[16];
  const s5 = t[17];
  let cur = -1;
  let acc = 0;
  for (let i0 = 0, x0 = xOff, o0 = outOff; i0 < n0; i0++, x0 += b0, o0 += s0)
    for (let i1 = 0, x1 = x0, o1 = o0; i1 < n1; i1++, x1 += b1, o1 += s1)
      for (let i2 = 0, x2 = x1, o2 = o1; i2 < n2; i2++, x2 += b2, o2 += s2)
        for (let i3 = 0, x3 = x2, o3 = o2; i3 < n3; i3++, x3 += b3, o3 += s3)
          for (let i4 = 0, x4 = x3, o4 = o3; i4 < n4; i4++, x4 += b4, o4 += s4)
            for (let i5 = 0, x5 = x4, o5 = o4; i5 < n5; i5++, x5 += b5, o5 += s5) {
              if (o5 !== cur) {
                if (cur >= 0) out[cur] = acc;
                cur = o5;
                acc = 0;
              }
              acc += x[x5];
            }
  if (cur >= 0) out[cur] = acc;
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
 * maxpool2d on NHWC x [b, h, w, c]: non-overlapping size × size windows,
 * out [b, ⌊h/size⌋, ⌊w/size⌋, c]; rows and columns past the last whole
 * window are ignored. The first maximum in window order (dy, then dx) wins,
 * as in the interpreter, which matters only for NaN.
 */
export function maxpool2d(x: Float32Array, xOff: number, out: Float32Array, outOff: number, b: number, h: number, w: number, c: number, size: number): void {
  const oh = Math.floor(h / size);
  const ow = Math.floor(w / size);
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
  const oh = Math.floor(h / size);
  const ow = Math.floor(w / size);
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
