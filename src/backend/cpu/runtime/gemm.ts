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
import { gemmDirect, gemvRows } from "./gemm-direct.ts";
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
/** The accumulate argument of gemm when C is overwritten, and when the product is added to it. */
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
function gemmMicroKernel(kc: number, pk: number[], ao: number, bo: number, c: Float32Array, co: number, ldc: number, overwrite: boolean, mr: number, nr: number, alpha: number): void {
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
  // Times alpha (1 but for a folded SGD step, and exact then).
  c00 *= alpha;
  c01 *= alpha;
  c02 *= alpha;
  c03 *= alpha;
  c10 *= alpha;
  c11 *= alpha;
  c12 *= alpha;
  c13 *= alpha;
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
 * C(i, j) = (accumulate ? C(i, j) : 0) + alpha·Σ_p A(i, p)·B(p, j)
 * for i < m, j < n, where
 *   A(i, p) = transA ? a[aOff + p·lda + i] : a[aOff + i·lda + p]
 *   B(p, j) = transB ? b[bOff + j·ldb + p] : b[bOff + p·ldb + j]
 *   C(i, j) = c[cOff + i·ldc + j]
 * Only the m × n elements of C are written. C must not overlap A or B.
 * alpha is 1 but where a module folds a plain SGD step into the last
 * product of a weight's gradient (C the weight, accumulate, alpha = −lr).
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
  alpha = 1,
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
      if (sbj === 1 && sbp !== 1) gemvRows(ws, m, n, k, a, aOff, sai, sap, b, bOff, sbp, c, cOff, ldc, 1, accumulate, alpha);
      else gemmDirect(m, n, k, a, aOff, sai, sap, b, bOff, sbp, sbj, c, cOff, ldc, 1, accumulate, alpha);
    } else if (sai === 1 && sap !== 1) gemvRows(ws, n, m, k, b, bOff, sbj, sbp, a, aOff, sap, c, cOff, 1, ldc, accumulate, alpha);
    else gemmDirect(n, m, k, b, bOff, sbj, sbp, a, aOff, sap, sai, c, cOff, 1, ldc, accumulate, alpha);
    return;
  }
  if (wasm !== null) {
    wasm.gemm(transA ? 1 : 0, transB ? 1 : 0, m, n, k, a.byteOffset + 4 * aOff, lda, b.byteOffset + 4 * bOff, ldb, c.byteOffset + 4 * cOff, ldc, accumulate ? 1 : 0, wasm.pack, alpha);
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
            gemmMicroKernel(kb, pk, ir * kb, bo, c, cOff + (ic + ir) * ldc + jc + jr, ldc, overwrite, mr, nr, alpha);
          }
        }
      }
    }
  }
}
