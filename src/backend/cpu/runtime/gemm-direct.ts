// The direct kernels of gemm (runtime/gemm.ts), for products with one or
// two rows or columns (batch-1 inference) and tiny ones, which packing would
// not pay for: a row times a row-major matrix as row updates of float64
// accumulators (or, on WebAssembly, gemm.wat's gemv), anything else as dot
// products. Every sum is accumulated in float64 (JS numbers); only stores
// round to float32.
import { type GemmWorkspace } from "./gemm.ts";

/**
 * The unpacked kernel, for one or two rows or columns and for tiny products
 * (those gemvRows does not take): C(i, j) for i < mm, j < nn, with every
 * operand given by two strides:
 * A(i, p) = a[aOff + i·sai + p·sap], B(p, j) = b[bOff + p·sbp + j·sbj],
 * C(i, j) = c[cOff + i·sci + j·scj]; the sums are scaled by alpha as gemm's.
 * Columns go eight at a time, so each A value is read once per eight
 * products (measured 2.7 GFLOP/s on a 784 × 100 matrix-vector product, 2.2
 * four at a time; packing first halves it, as every value is used once).
 * Each element is summed in float64 and stored once.
 */
export function gemmDirect(
  mm: number,
  nn: number,
  k: number,
  a: Float32Array,
  aOff: number,
  sai: number,
  sap: number,
  b: Float32Array,
  bOff: number,
  sbp: number,
  sbj: number,
  c: Float32Array,
  cOff: number,
  sci: number,
  scj: number,
  accumulate: boolean,
  alpha: number,
): void {
  for (let i = 0; i < mm; i++) {
    const ai = aOff + i * sai;
    const ci = cOff + i * sci;
    let j = 0;
    for (; j + 8 <= nn; j += 8) {
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      let s4 = 0;
      let s5 = 0;
      let s6 = 0;
      let s7 = 0;
      let ap = ai;
      let bp = bOff + j * sbj;
      for (let p = 0; p < k; p++) {
        const av = a[ap];
        s0 += av * b[bp];
        s1 += av * b[bp + sbj];
        s2 += av * b[bp + 2 * sbj];
        s3 += av * b[bp + 3 * sbj];
        s4 += av * b[bp + 4 * sbj];
        s5 += av * b[bp + 5 * sbj];
        s6 += av * b[bp + 6 * sbj];
        s7 += av * b[bp + 7 * sbj];
        ap += sap;
        bp += sbp;
      }
      const cj = ci + j * scj;
      gemmFinish(c, cj, s0, accumulate, alpha);
      gemmFinish(c, cj + scj, s1, accumulate, alpha);
      gemmFinish(c, cj + 2 * scj, s2, accumulate, alpha);
      gemmFinish(c, cj + 3 * scj, s3, accumulate, alpha);
      gemmFinish(c, cj + 4 * scj, s4, accumulate, alpha);
      gemmFinish(c, cj + 5 * scj, s5, accumulate, alpha);
      gemmFinish(c, cj + 6 * scj, s6, accumulate, alpha);
      gemmFinish(c, cj + 7 * scj, s7, accumulate, alpha);
    }
    for (; j < nn; j++) {
      let s = 0;
      let ap = ai;
      let bp = bOff + j * sbj;
      for (let p = 0; p < k; p++) {
        s += a[ap] * b[bp];
        ap += sap;
        bp += sbp;
      }
      gemmFinish(c, ci + j * scj, s, accumulate, alpha);
    }
  }
}

/**
 * The matrix-vector kernel, for one or two rows of A against a B whose rows
 * are contiguous (B(p, j) = b[bOff + p·sbp + j]): x·W at batch 1. With
 * WebAssembly kernels, gemm.wat's gemv does the sums (in float32, four
 * columns to a vector). Otherwise, for each row of A, gemvSum sums the
 * products of every column into float64 accumulators (ws.acc; wider
 * products go in slices of its length), reading B in order; then each
 * element is stored once.
 * Operands and C are addressed as in gemmDirect. Every column is
 * summed in the same order whichever columns a call covers, so a product
 * split among threads by columns gives the same numbers.
 */
export function gemvRows(
  ws: GemmWorkspace,
  mm: number,
  nn: number,
  k: number,
  a: Float32Array,
  aOff: number,
  sai: number,
  sap: number,
  b: Float32Array,
  bOff: number,
  sbp: number,
  c: Float32Array,
  cOff: number,
  sci: number,
  scj: number,
  accumulate: boolean,
  alpha: number,
): void {
  const wasm = ws.wasm;
  if (wasm !== null) {
    wasm.gemv(mm, nn, k, a.byteOffset + 4 * aOff, sai, sap, b.byteOffset + 4 * bOff, sbp, c.byteOffset + 4 * cOff, sci, scj, accumulate ? 1 : 0, alpha);
    return;
  }
  const acc = ws.acc;
  for (let i = 0; i < mm; i++) {
    for (let j0 = 0; j0 < nn; j0 += acc.length) {
      const nb = Math.min(acc.length, nn - j0);
      gemvSum(k, a, aOff + i * sai, sap, b, bOff + j0, sbp, acc, nb);
      const cj = cOff + i * sci + j0 * scj;
      for (let j = 0; j < nb; j++) gemmFinish(c, cj + j * scj, acc[j], accumulate, alpha);
    }
  }
}

/**
 * acc[j] = Σ_p a[ap + p·sap]·b[bp + p·sbp + j] for j < nb: the sums of
 * gemvRows. Sixteen depths at a time: their sixteen A values are held in
 * locals while every column j adds up its sixteen products down B (rows
 * sbp apart, all within a few KB, so in L1) into one local, then into
 * acc[j]. V8 checks acc and b once per column and each read of b, so the
 * more multiply-adds per column step the better, until the A values no
 * longer fit in registers (measured on a 784 × 100 product: 4, 8, 16 and 32
 * depths per step took 59, 49, 45 and 46 µs, gemmDirect's dot products 60).
 * Depths left over are added one at a time.
 */
function gemvSum(k: number, a: Float32Array, ap: number, sap: number, b: Float32Array, bp: number, sbp: number, acc: Float64Array, nb: number): void {
  for (let j = 0; j < nb; j++) acc[j] = 0;
  let p = 0;
  for (; p + 16 <= k; p += 16) {
    let t = ap;
    const a0 = a[t];
    t += sap;
    const a1 = a[t];
    t += sap;
    const a2 = a[t];
    t += sap;
    const a3 = a[t];
    t += sap;
    const a4 = a[t];
    t += sap;
    const a5 = a[t];
    t += sap;
    const a6 = a[t];
    t += sap;
    const a7 = a[t];
    t += sap;
    const a8 = a[t];
    t += sap;
    const a9 = a[t];
    t += sap;
    const a10 = a[t];
    t += sap;
    const a11 = a[t];
    t += sap;
    const a12 = a[t];
    t += sap;
    const a13 = a[t];
    t += sap;
    const a14 = a[t];
    t += sap;
    const a15 = a[t];
    for (let j = 0; j < nb; j++) {
      // `| 0`: the indices cannot overflow, which spares V8 a check per step.
      let r = (bp + j) | 0;
      let s = a0 * b[r];
      r = (r + sbp) | 0;
      s += a1 * b[r];
      r = (r + sbp) | 0;
      s += a2 * b[r];
      r = (r + sbp) | 0;
      s += a3 * b[r];
      r = (r + sbp) | 0;
      s += a4 * b[r];
      r = (r + sbp) | 0;
      s += a5 * b[r];
      r = (r + sbp) | 0;
      s += a6 * b[r];
      r = (r + sbp) | 0;
      s += a7 * b[r];
      r = (r + sbp) | 0;
      s += a8 * b[r];
      r = (r + sbp) | 0;
      s += a9 * b[r];
      r = (r + sbp) | 0;
      s += a10 * b[r];
      r = (r + sbp) | 0;
      s += a11 * b[r];
      r = (r + sbp) | 0;
      s += a12 * b[r];
      r = (r + sbp) | 0;
      s += a13 * b[r];
      r = (r + sbp) | 0;
      s += a14 * b[r];
      r = (r + sbp) | 0;
      s += a15 * b[r];
      acc[j] += s;
    }
    ap += 16 * sap;
    bp += 16 * sbp;
  }
  gemvSumRest(k - p, a, ap, sap, b, bp, sbp, acc, nb);
}

/** gemvSum's depths left over (fewer than sixteen), added one at a time. */
function gemvSumRest(k: number, a: Float32Array, ap: number, sap: number, b: Float32Array, bp: number, sbp: number, acc: Float64Array, nb: number): void {
  for (let p = 0; p < k; p++) {
    const av = a[ap];
    for (let j = 0; j < nb; j++) acc[j] += av * b[bp + j];
    ap += sap;
    bp += sbp;
  }
}

/** Stores one finished sum of the direct kernels times alpha, added to the old value in float64 when accumulating. */
function gemmFinish(c: Float32Array, at: number, s: number, accumulate: boolean, alpha: number): void {
  c[at] = accumulate ? alpha * s + c[at] : alpha * s;
}
