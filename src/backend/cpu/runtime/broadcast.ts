// Broadcasting for the CPU runtime: a value copied to a larger shape
// (numpy rules) and its adjoint, summing back to the smaller shape, through a
// stride table made once at createModel. Sums are taken in float64 and only
// stores round to float32; nothing allocates per call.
import { columnsOnWasm, type VectorKernels } from "./vector.ts";

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

/**
 * sum_to where the kept axes are the trailing ones: x viewed as [rows,
 * width] summed over its rows (a per-channel sum of [N, H, W, C] to [C]).
 * Each column is summed in float64 in row order, as sumTo does, but eight
 * columns share one pass down the rows, so the array is read in order
 * rather than once per column at a stride of width. With vec (the model's
 * WebAssembly kernels), whole groups of 8 columns run there, the same sums.
 */
export function sumColumns(vec: VectorKernels | null, x: Float32Array, xOff: number, out: Float32Array, outOff: number, rows: number, width: number): void {
  let j = columnsOnWasm(vec, x, xOff, out, outOff, rows, width, 1, 1, false);
  for (; j + 8 <= width; j += 8) {
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
    for (let r = 0, at = xOff + j; r < rows; r++, at += width) {
      s0 += x[at];
      s1 += x[at + 1];
      s2 += x[at + 2];
      s3 += x[at + 3];
      s4 += x[at + 4];
      s5 += x[at + 5];
      s6 += x[at + 6];
      s7 += x[at + 7];
    }
    const o = outOff + j;
    out[o] = s0;
    out[o + 1] = s1;
    out[o + 2] = s2;
    out[o + 3] = s3;
    out[o + 4] = s4;
    out[o + 5] = s5;
    out[o + 6] = s6;
    out[o + 7] = s7;
  }
  for (; j < width; j++) {
    let s = 0;
    for (let r = 0, at = xOff + j; r < rows; r++, at += width) s += x[at];
    out[outOff + j] = s;
  }
}

/**
 * broadcast_to where x is a trailing block of the result: out viewed as
 * [rows, width], every row x. The first row is copied, then the rows
 * already written are copied after themselves (1, 2, 4, … rows), as
 * memmove, when x and out are the same array (the arena); row by row otherwise.
 */
export function broadcastRows(x: Float32Array, xOff: number, out: Float32Array, outOff: number, rows: number, width: number): void {
  if (rows === 0) return;
  if (x !== out) {
    for (let r = 0, o = outOff; r < rows; r++, o += width) for (let j = 0; j < width; j++) out[o + j] = x[xOff + j];
    return;
  }
  out.copyWithin(outOff, xOff, xOff + width);
  const total = rows * width;
  for (let done = width; done < total; done *= 2) out.copyWithin(outOff + done, outOff, outOff + Math.min(done, total - done));
}
