// The matrix product of the CPU runtime: C = (accumulate ? C : 0) + op(A)·op(B),
// over Float32Array operands addressed by an offset and a leading dimension,
// so that every operand can live in one arena. What follows a product (a
// bias, an activation: its epilogue) is an emitted loop over C, written by
// the compiler from the ops' scalar rules like every fused loop.
//
// Large products are cache-blocked the GotoBLAS way: a kc × nc panel of B and
// an mc × kc block of A are packed (transposes are resolved while packing) into
// thin slivers that a 2 × 4 register-blocked micro-kernel streams through.
// Products with one or two rows or columns (batch-1 inference) and tiny ones
// skip packing and run a direct kernel: a row times a row-major matrix (x·W)
// as row updates of float64 accumulators, anything else as dot products.
// Every sum is accumulated in float64 (JS numbers); only stores round to
// float32.
//
// Where the model's memory is a WebAssembly memory (runtime/wasm.ts), gemm
// hands the packed products and the matrix-vector ones to the SIMD kernels
// of gemm.wat instead, which sum in float32; the tiny and the strided direct
// products stay here.
//
// Nothing here allocates: the packing buffer comes from a GemmWorkspace that
// the caller creates once with gemmWorkspace().
import { type WasmGemm } from "./wasm.ts";

/** Rows of A per micro-kernel sliver (the micro-kernel is written for exactly 2). */
export const GEMM_MR = 2;
/** Columns of B per micro-kernel sliver (the micro-kernel is written for exactly 4). */
export const GEMM_NR = 4;
/** Depth of a packed block: a 4 × 256 sliver of B (8 KB as doubles) stays in L1. */
export const GEMM_KC = 256;
/** Rows of a packed A block: 96 × 256 doubles (192 KB) stay in L2. A multiple of GEMM_MR. */
export const GEMM_MC = 96;
/** Columns of a packed B panel. A multiple of GEMM_NR. */
export const GEMM_NC = 1024;
/**
 * A product with at most this many rows (or columns) runs the direct kernel:
 * with one or two rows each packed value is reused too little to pay for the
 * packing (measured; with three the packed path wins).
 */
export const GEMM_DIRECT_MAX_SIDE = 2;
/** So does a product of at most this many multiply-adds (3 × 3 × 3 and smaller; 4 × 4 × 4 packs faster). */
export const GEMM_DIRECT_MAX_WORK = 32;

/** The transA and transB arguments of gemm, named for the calls a module emits. */
export const AS_STORED = false;
export const TRANSPOSED = true;
/** The accumulate argument of gemm: C is overwritten, or the product is added to it. */
export const OVERWRITE = false;
export const ACCUMULATE = true;

/**
 * The packing buffer of gemm. It is a plain array of numbers, not a typed
 * array, on purpose: V8 keeps an array that only ever holds numbers as
 * unboxed doubles (PACKED_DOUBLE_ELEMENTS) and reads one with a bounds check
 * and a load, where a typed array read also recomputes its data pointer and
 * widens the index. For a whole 512³ product that measured about 4.2
 * (Float32Array panels), 5.2 (Float64Array) and 6.4 GFLOP/s (this). The packed A
 * block and B panel share the one array so the kernel checks a single object.
 */
export interface GemmWorkspace {
  /** Packed A block (mc × kc in GEMM_MR-row slivers) from 0, packed B panel (kc × nc in GEMM_NR-column slivers) from bBase. */
  readonly pack: number[];
  readonly bBase: number;
  /** The accumulators of the matrix-vector kernel (gemvRows): one row of C, up to this many columns at a time. */
  readonly acc: Float64Array;
  /** The block sizes this workspace was sized for; gemm never packs more. */
  readonly mc: number;
  readonly kc: number;
  readonly nc: number;
  /** The WebAssembly kernels on the memory the operands live in, or null (then pack is allocated). */
  readonly wasm: WasmGemm | null;
}

function gemmRoundUp(x: number, to: number): number {
  return Math.ceil(x / to) * to;
}

/**
 * A workspace for products up to maxM × maxN × maxK (at most about 2.4 MB).
 * Larger products are still computed correctly, in more blocks; the sizes
 * only keep a workspace for small models small. With `wasm`, every operand
 * must live in its memory, and the kernels pack into their own space there.
 */
export function gemmWorkspace(maxM: number, maxN: number, maxK: number, wasm: WasmGemm | null = null): GemmWorkspace {
  const mc = Math.min(GEMM_MC, gemmRoundUp(Math.max(maxM, 1), GEMM_MR));
  const kc = Math.min(GEMM_KC, Math.max(maxK, 1));
  const nc = Math.min(GEMM_NC, gemmRoundUp(Math.max(maxN, 1), GEMM_NR));
  const length = wasm === null ? mc * kc + kc * nc : 0;
  // Built by pushing a non-integer so that V8 gives it double elements from
  // the start (an array that starts with small integers would change
  // representation, and reallocate, on the first packed float).
  const pack: number[] = [];
  for (let i = 0; i < length; i++) pack.push(0.5);
  for (let i = 0; i < length; i++) pack[i] = 0;
  const acc = new Float64Array(Math.min(GEMM_NC, Math.max(maxM, maxN, 1)));
  return { pack, bBase: mc * kc, acc, mc, kc, nc, wasm };
}

/**
 * Packs rows i0 … i0+mb−1, depths p0 … p0+kb−1 of A into pack[0 …]: sliver s
 * holds rows i0+2s and i0+2s+1 as kb pairs (row 2s, row 2s+1) in depth order;
 * a missing second row of the last sliver is packed as zeros.
 */
function gemmPackA(pk: number[], a: Float32Array, aOff: number, lda: number, transA: boolean, i0: number, mb: number, p0: number, kb: number): void {
  let q = 0;
  for (let ir = 0; ir < mb; ir += GEMM_MR) {
    const two = mb - ir >= 2;
    if (!transA) {
      // A(i, p) = a[aOff + i·lda + p]: two rows read contiguously.
      const r0 = aOff + (i0 + ir) * lda + p0;
      const r1 = r0 + lda;
      if (two) {
        for (let p = 0; p < kb; p++) {
          pk[q] = a[r0 + p];
          pk[q + 1] = a[r1 + p];
          q += 2;
        }
      } else {
        for (let p = 0; p < kb; p++) {
          pk[q] = a[r0 + p];
          pk[q + 1] = 0;
          q += 2;
        }
      }
    } else {
      // A(i, p) = a[aOff + p·lda + i]: the pair is adjacent in memory.
      let s = aOff + p0 * lda + i0 + ir;
      if (two) {
        for (let p = 0; p < kb; p++) {
          pk[q] = a[s];
          pk[q + 1] = a[s + 1];
          q += 2;
          s += lda;
        }
      } else {
        for (let p = 0; p < kb; p++) {
          pk[q] = a[s];
          pk[q + 1] = 0;
          q += 2;
          s += lda;
        }
      }
    }
  }
}

/**
 * Packs depths p0 … p0+kb−1, columns j0 … j0+nb−1 of B into pack[base …]:
 * sliver t holds columns j0+4t … j0+4t+3 as kb quadruples in depth order;
 * missing columns of the last sliver are packed as zeros.
 */
function gemmPackB(pk: number[], base: number, b: Float32Array, bOff: number, ldb: number, transB: boolean, p0: number, kb: number, j0: number, nb: number): void {
  let q = base;
  for (let jr = 0; jr < nb; jr += GEMM_NR) {
    const cols = Math.min(GEMM_NR, nb - jr);
    if (!transB) {
      // B(p, j) = b[bOff + p·ldb + j]: four adjacent values per depth.
      let s = bOff + p0 * ldb + j0 + jr;
      if (cols === 4) {
        for (let p = 0; p < kb; p++) {
          pk[q] = b[s];
          pk[q + 1] = b[s + 1];
          pk[q + 2] = b[s + 2];
          pk[q + 3] = b[s + 3];
          q += 4;
          s += ldb;
        }
      } else {
        for (let p = 0; p < kb; p++) {
          for (let r = 0; r < 4; r++) pk[q + r] = r < cols ? b[s + r] : 0;
          q += 4;
          s += ldb;
        }
      }
    } else {
      // B(p, j) = b[bOff + j·ldb + p]: four rows of the stored matrix read side by side.
      const s0 = bOff + (j0 + jr) * ldb + p0;
      if (cols === 4) {
        const s1 = s0 + ldb;
        const s2 = s1 + ldb;
        const s3 = s2 + ldb;
        for (let p = 0; p < kb; p++) {
          pk[q] = b[s0 + p];
          pk[q + 1] = b[s1 + p];
          pk[q + 2] = b[s2 + p];
          pk[q + 3] = b[s3 + p];
          q += 4;
        }
      } else {
        for (let p = 0; p < kb; p++) {
          for (let r = 0; r < 4; r++) pk[q + r] = r < cols ? b[s0 + r * ldb + p] : 0;
          q += 4;
        }
      }
    }
  }
}

/**
 * The 2 × 4 micro-kernel: the product of an A sliver (at pk[ao]) and a B
 * sliver (at pk[bo]) over kc depths, held in eight local accumulators, then
 * stored to (overwrite) or added into the mr × nr corner of the C tile at
 * c[co] (mr ≤ 2, nr ≤ 4 at the edges). Eight accumulators, two A values and
 * one B value are about as many doubles as V8 keeps in registers; larger
 * tiles spill and measured slower.
 */
function gemmMicroKernel(kc: number, pk: number[], ao: number, bo: number, c: Float32Array, co: number, ldc: number, overwrite: boolean, mr: number, nr: number): void {
  let c00 = 0;
  let c01 = 0;
  let c02 = 0;
  let c03 = 0;
  let c10 = 0;
  let c11 = 0;
  let c12 = 0;
  let c13 = 0;
  for (let p = 0; p < kc; p++) {
    // `| 0` tells V8 the index arithmetic cannot overflow, which drops an overflow check per read.
    const a0 = pk[ao];
    const a1 = pk[(ao + 1) | 0];
    let b = pk[bo];
    c00 += a0 * b;
    c10 += a1 * b;
    b = pk[(bo + 1) | 0];
    c01 += a0 * b;
    c11 += a1 * b;
    b = pk[(bo + 2) | 0];
    c02 += a0 * b;
    c12 += a1 * b;
    b = pk[(bo + 3) | 0];
    c03 += a0 * b;
    c13 += a1 * b;
    ao = (ao + 2) | 0;
    bo = (bo + 4) | 0;
  }
  const co1 = co + ldc;
  if (mr === 2 && nr === 4) {
    if (overwrite) {
      c[co] = c00;
      c[co + 1] = c01;
      c[co + 2] = c02;
      c[co + 3] = c03;
      c[co1] = c10;
      c[co1 + 1] = c11;
      c[co1 + 2] = c12;
      c[co1 + 3] = c13;
    } else {
      c[co] += c00;
      c[co + 1] += c01;
      c[co + 2] += c02;
      c[co + 3] += c03;
      c[co1] += c10;
      c[co1 + 1] += c11;
      c[co1 + 2] += c12;
      c[co1 + 3] += c13;
    }
    return;
  }
  // An edge tile: write only the part inside C.
  gemmPut(c, co, c00, overwrite);
  if (nr > 1) gemmPut(c, co + 1, c01, overwrite);
  if (nr > 2) gemmPut(c, co + 2, c02, overwrite);
  if (nr > 3) gemmPut(c, co + 3, c03, overwrite);
  if (mr > 1) {
    gemmPut(c, co1, c10, overwrite);
    if (nr > 1) gemmPut(c, co1 + 1, c11, overwrite);
    if (nr > 2) gemmPut(c, co1 + 2, c12, overwrite);
    if (nr > 3) gemmPut(c, co1 + 3, c13, overwrite);
  }
}

function gemmPut(c: Float32Array, i: number, v: number, overwrite: boolean): void {
  c[i] = overwrite ? v : c[i] + v;
}

/**
 * The unpacked kernel, for one or two rows or columns and for tiny products
 * (those gemvRows does not take): C(i, j) for i < mm, j < nn, with every
 * operand given by two strides:
 * A(i, p) = a[aOff + i·sai + p·sap], B(p, j) = b[bOff + p·sbp + j·sbj],
 * C(i, j) = c[cOff + i·sci + j·scj].
 * Columns go eight at a time, so each A value is read once per eight
 * products (measured 2.7 GFLOP/s on a 784 × 100 matrix-vector product, 2.2
 * four at a time; packing first halves it, as every value is used once).
 * Each element is summed in float64 and stored once.
 */
function gemmDirect(
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
      gemmFinish(c, cj, s0, accumulate);
      gemmFinish(c, cj + scj, s1, accumulate);
      gemmFinish(c, cj + 2 * scj, s2, accumulate);
      gemmFinish(c, cj + 3 * scj, s3, accumulate);
      gemmFinish(c, cj + 4 * scj, s4, accumulate);
      gemmFinish(c, cj + 5 * scj, s5, accumulate);
      gemmFinish(c, cj + 6 * scj, s6, accumulate);
      gemmFinish(c, cj + 7 * scj, s7, accumulate);
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
      gemmFinish(c, ci + j * scj, s, accumulate);
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
function gemvRows(
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
): void {
  const wasm = ws.wasm;
  if (wasm !== null) {
    wasm.gemv(mm, nn, k, a.byteOffset + 4 * aOff, sai, sap, b.byteOffset + 4 * bOff, sbp, c.byteOffset + 4 * cOff, sci, scj, accumulate ? 1 : 0);
    return;
  }
  const acc = ws.acc;
  for (let i = 0; i < mm; i++) {
    for (let j0 = 0; j0 < nn; j0 += acc.length) {
      const nb = Math.min(acc.length, nn - j0);
      gemvSum(k, a, aOff + i * sai, sap, b, bOff + j0, sbp, acc, nb);
      const cj = cOff + i * sci + j0 * scj;
      for (let j = 0; j < nb; j++) gemmFinish(c, cj + j * scj, acc[j], accumulate);
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
  for (; p < k; p++) {
    const av = a[ap];
    for (let j = 0; j < nb; j++) acc[j] += av * b[bp + j];
    ap += sap;
    bp += sbp;
  }
}

/** Stores one finished sum of the direct kernels, added to the old value in float64 when accumulating. */
function gemmFinish(c: Float32Array, at: number, s: number, accumulate: boolean): void {
  c[at] = accumulate ? s + c[at] : s;
}

/**
 * C(i, j) = (accumulate ? C(i, j) : 0) + Σ_p A(i, p)·B(p, j)
 * for i < m, j < n, where
 *   A(i, p) = transA ? a[aOff + p·lda + i] : a[aOff + i·lda + p]
 *   B(p, j) = transB ? b[bOff + j·ldb + p] : b[bOff + p·ldb + j]
 *   C(i, j) = c[cOff + i·ldc + j]
 * Only the m × n elements of C are written. C must not overlap A or B.
 * With ws.wasm, A, B and C must be views of its memory.
 */
export function gemm(
  ws: GemmWorkspace,
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  aOff: number,
  lda: number,
  b: Float32Array,
  bOff: number,
  ldb: number,
  c: Float32Array,
  cOff: number,
  ldc: number,
  accumulate: boolean,
): void {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    // An empty sum: C keeps its value (or becomes 0).
    if (!accumulate) for (let i = 0; i < m; i++) c.fill(0, cOff + i * ldc, cOff + i * ldc + n);
    return;
  }
  const wasm = ws.wasm;
  if (wasm !== null && (a.buffer !== wasm.buffer || b.buffer !== wasm.buffer || c.buffer !== wasm.buffer)) {
    throw new Error("gemm: with the WebAssembly kernels, every operand must be in the model's memory");
  }
  const sai = transA ? 1 : lda;
  const sap = transA ? lda : 1;
  const sbp = transB ? 1 : ldb;
  const sbj = transB ? ldb : 1;
  if (Math.min(m, n) <= GEMM_DIRECT_MAX_SIDE || m * n * k <= GEMM_DIRECT_MAX_WORK) {
    // The direct kernels run along the longer side: for n < m they compute
    // Cᵀ = Bᵀ·Aᵀ, the same numbers with the roles swapped. Where the long
    // side's operand is read along that side (x·W with W row-major), rows are
    // added up (gemvRows); otherwise dot products (gemmDirect). The choice
    // depends only on the strides, so every part of a split product makes it alike.
    if (n >= m) {
      if (sbj === 1 && sbp !== 1) gemvRows(ws, m, n, k, a, aOff, sai, sap, b, bOff, sbp, c, cOff, ldc, 1, accumulate);
      else gemmDirect(m, n, k, a, aOff, sai, sap, b, bOff, sbp, sbj, c, cOff, ldc, 1, accumulate);
    } else if (sai === 1 && sap !== 1) gemvRows(ws, n, m, k, b, bOff, sbj, sbp, a, aOff, sap, c, cOff, 1, ldc, accumulate);
    else gemmDirect(n, m, k, b, bOff, sbj, sbp, a, aOff, sap, sai, c, cOff, 1, ldc, accumulate);
    return;
  }
  if (wasm !== null) {
    wasm.gemm(transA ? 1 : 0, transB ? 1 : 0, m, n, k, a.byteOffset + 4 * aOff, lda, b.byteOffset + 4 * bOff, ldb, c.byteOffset + 4 * cOff, ldc, accumulate ? 1 : 0, wasm.pack);
    return;
  }
  const pk = ws.pack;
  const bBase = ws.bBase;
  for (let jc = 0; jc < n; jc += ws.nc) {
    const nb = Math.min(ws.nc, n - jc);
    for (let pc = 0; pc < k; pc += ws.kc) {
      const kb = Math.min(ws.kc, k - pc);
      // The first depth block stores into C unless the caller accumulates; later ones add.
      const overwrite = pc === 0 && !accumulate;
      gemmPackB(pk, bBase, b, bOff, ldb, transB, pc, kb, jc, nb);
      for (let ic = 0; ic < m; ic += ws.mc) {
        const mb = Math.min(ws.mc, m - ic);
        gemmPackA(pk, a, aOff, lda, transA, ic, mb, pc, kb);
        // One B sliver (in L1) against every A sliver of the block (in L2).
        for (let jr = 0; jr < nb; jr += GEMM_NR) {
          const nr = Math.min(GEMM_NR, nb - jr);
          const bo = bBase + jr * kb;
          for (let ir = 0; ir < mb; ir += GEMM_MR) {
            const mr = Math.min(GEMM_MR, mb - ir);
            gemmMicroKernel(kb, pk, ir * kb, bo, c, cOff + (ic + ir) * ldc + jc + jr, ldc, overwrite, mr, nr);
          }
        }
      }
    }
  }
}
