// The WebAssembly SIMD kernels of src/backend/cpu/runtime/gemm.wat: the
// checked-in module is gemm.wat assembled; gemm and gemv agree with a float64
// reference on many shapes, transposes, leading dimensions, offsets and
// accumulate flags, write nothing outside their m × n window of C (nor past
// their packing workspace); and a product split by rows or by columns gives
// the very bits of the whole product (what helper threads rely on).
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { assembleGemm, fusedMultiplyAdds, gemmVariant, GEMM_WASM_TS_PATH, generateGemmWasmSource } from "../scripts/build-wasm.ts";
import { GEMM_WASM_BASE64, GEMM_WASM_PACK_FLOATS, GEMM_WASM_RELAXED_BASE64, GEMM_WASM_RELAXED_SHARED_BASE64, GEMM_WASM_SHARED_BASE64 } from "../src/backend/cpu/runtime/gemm-wasm.ts";
import { seededRandom } from "./helpers.ts";

/** The parts of the WebAssembly API used here, typed by hand (the project's types have no DOM lib). */
interface WasmApi {
  Memory: new (descriptor: { initial: number; maximum: number; shared?: boolean }) => { readonly buffer: ArrayBuffer | SharedArrayBuffer };
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> };
  validate(bytes: Uint8Array): boolean;
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

type GemmFn = (transA: number, transB: number, m: number, n: number, k: number, a: number, lda: number, b: number, ldb: number, c: number, ldc: number, accumulate: number, pack: number, alpha: number) => void;
type GemvFn = (mm: number, nn: number, k: number, a: number, sai: number, sap: number, b: number, sbp: number, c: number, sci: number, scj: number, accumulate: number, alpha: number) => void;

/** One instance of the module on its own memory, with views of that memory. */
interface Kernels {
  gemm: GemmFn;
  gemv: GemvFn;
  f32: Float32Array;
  u32: Uint32Array;
}

/** 32 MiB: room for the largest case below, its guards and the packing workspace. */
const PAGES = 512;

/**
 * Whether this engine has relaxed SIMD: Node.js 20 only with
 * --experimental-wasm-relaxed-simd, which the test "the relaxed SIMD kernels"
 * passes to a second run of this file, so that both variants are always tested.
 */
const relaxedHere = wasmApi.validate(new Uint8Array(Buffer.from(GEMM_WASM_RELAXED_BASE64, "base64")));
const variants = [false, ...(relaxedHere ? [true] : [])];

function instantiate(shared: boolean, relaxed = false): Kernels {
  const base64 = relaxed ? (shared ? GEMM_WASM_RELAXED_SHARED_BASE64 : GEMM_WASM_RELAXED_BASE64) : shared ? GEMM_WASM_SHARED_BASE64 : GEMM_WASM_BASE64;
  const bytes = new Uint8Array(Buffer.from(base64, "base64"));
  const memory = new wasmApi.Memory({ initial: PAGES, maximum: 65536, ...(shared ? { shared: true } : {}) });
  const instance = new wasmApi.Instance(new wasmApi.Module(bytes), { env: { memory } });
  return {
    gemm: instance.exports["gemm"] as GemmFn,
    gemv: instance.exports["gemv"] as GemvFn,
    f32: new Float32Array(memory.buffer),
    u32: new Uint32Array(memory.buffer),
  };
}

const int = (r: () => number, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));

/** Hands out float offsets in the memory, each preceded by a few floats of slack so operands start at odd alignments. */
class Bump {
  private at = 16;
  constructor(private readonly r: () => number) {}
  take(floats: number): number {
    const start = this.at + int(this.r, 0, 3);
    this.at = start + floats;
    if (4 * this.at > PAGES * 65536) throw new Error("test case too large for its memory");
    return start;
  }
}

function randomFill(f32: Float32Array, at: number, count: number, r: () => number): void {
  for (let i = 0; i < count; i++) f32[at + i] = 2 * r() - 1;
}

// ---------------------------------------------------------------- gemm cases

interface GemmCase {
  transA: boolean;
  transB: boolean;
  m: number;
  n: number;
  k: number;
  /** Extra floats of each leading dimension beyond the least it can be. */
  padA: number;
  padB: number;
  padC: number;
  accumulate: boolean;
}

/** Where a case lives in the memory (float offsets) and what it read and found. */
interface GemmRun {
  lda: number;
  ldb: number;
  ldc: number;
  /** A, B, and the C block (m rows of ldc, then GUARD floats) as they were before the call, and C's block after. */
  a: Float32Array;
  b: Float32Array;
  cBefore: Float32Array;
  cAfter: Float32Array;
  /** The packing workspace's trailing guard, before and after. */
  packGuardBefore: Float32Array;
  packGuardAfter: Float32Array;
}

/** Floats after C's last row (and after the packing workspace) that must stay untouched. */
const GUARD = 40;

function runGemm(kern: Kernels, t: GemmCase, r: () => number): GemmRun {
  const { transA, transB, m, n, k } = t;
  const lda = (transA ? m : k) + t.padA;
  const ldb = (transB ? k : n) + t.padB;
  const ldc = n + t.padC;
  const aRows = transA ? k : m;
  const bRows = transB ? n : k;
  const bump = new Bump(r);
  const aAt = bump.take(aRows * lda);
  const bAt = bump.take(bRows * ldb);
  const cAt = bump.take(m * ldc + GUARD);
  const packAt = bump.take(GEMM_WASM_PACK_FLOATS + GUARD);
  const { f32 } = kern;
  randomFill(f32, aAt, aRows * lda, r);
  randomFill(f32, bAt, bRows * ldb, r);
  randomFill(f32, cAt, m * ldc + GUARD, r);
  randomFill(f32, packAt, GEMM_WASM_PACK_FLOATS + GUARD, r);
  const a = f32.slice(aAt, aAt + aRows * lda);
  const b = f32.slice(bAt, bAt + bRows * ldb);
  const cBefore = f32.slice(cAt, cAt + m * ldc + GUARD);
  const packEnd = packAt + GEMM_WASM_PACK_FLOATS;
  const packGuardBefore = f32.slice(packEnd, packEnd + GUARD);
  kern.gemm(+transA, +transB, m, n, k, 4 * aAt, lda, 4 * bAt, ldb, 4 * cAt, ldc, +t.accumulate, 4 * packAt, 1);
  expect(sameBits(f32.subarray(aAt, aAt + aRows * lda), a), "A unchanged").toBe(true);
  expect(sameBits(f32.subarray(bAt, bAt + bRows * ldb), b), "B unchanged").toBe(true);
  return { lda, ldb, ldc, a, b, cBefore, cAfter: f32.slice(cAt, cAt + m * ldc + GUARD), packGuardBefore, packGuardAfter: f32.slice(packEnd, packEnd + GUARD) };
}

/**
 * What is wrong with a run (empty when nothing): an element of the m × n
 * window off the float64 reference by more than the worst-case error bound of
 * a float32 sum of k products, (k + 2)·2⁻²³·(Σ_p |A(i,p)·B(p,j)| + |C₀(i,j)|)
 * (a missing or doubled term is far outside it), or a changed float outside
 * the window (padding columns, the guard after C, after the workspace).
 */
function gemmErrors(t: GemmCase, run: GemmRun): string[] {
  const { transA, transB, m, n, k } = t;
  const { lda, ldb, ldc, a, b, cBefore, cAfter } = run;
  const errors: string[] = [];
  const inWindow = new Uint8Array(m * ldc + GUARD);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      let abs = 0;
      for (let p = 0; p < k; p++) {
        const av = transA ? a[p * lda + i]! : a[i * lda + p]!;
        const bv = transB ? b[j * ldb + p]! : b[p * ldb + j]!;
        sum += av * bv;
        abs += Math.abs(av * bv);
      }
      const old = t.accumulate ? cBefore[i * ldc + j]! : 0;
      const want = sum + old;
      const got = cAfter[i * ldc + j]!;
      const bound = (k + 2) * 2 ** -23 * (abs + Math.abs(old));
      if (!(Math.abs(got - want) <= bound) && errors.length < 5) errors.push(`C(${i}, ${j}) = ${got}, want ${want} ± ${bound}`);
      inWindow[i * ldc + j] = 1;
    }
  }
  for (let q = 0; q < inWindow.length; q++) {
    if (!inWindow[q] && !Object.is(cAfter[q], cBefore[q]) && errors.length < 10) errors.push(`float ${q} of C's block (row ${Math.floor(q / ldc)}, column ${q % ldc}) outside the window changed`);
  }
  for (let q = 0; q < GUARD; q++) {
    if (!Object.is(run.packGuardAfter[q], run.packGuardBefore[q])) {
      errors.push(`float ${q} after the packing workspace changed`);
      break;
    }
  }
  return errors;
}

function describeCase(t: GemmCase): string {
  return `${t.transA ? "Aᵀ" : "A"}·${t.transB ? "Bᵀ" : "B"} ${t.m}×${t.n}×${t.k} pads ${t.padA},${t.padB},${t.padC}${t.accumulate ? " accumulate" : ""}`;
}

/** Fixed shapes: 1s, odd sizes, depths around and across the depth block (1, 7, 255–257, 600), rows across the row block, columns across the column panel, edge slivers of 1–4 columns. */
const FIXED_SHAPES: [number, number, number][] = [
  [1, 1, 1], [1, 1, 7], [1, 9, 3], [9, 1, 3], [2, 2, 2], [3, 5, 1], [4, 8, 1], [4, 8, 256], [5, 9, 257],
  [7, 13, 600], [8, 16, 255], [12, 24, 33], [17, 33, 255], [31, 7, 258], [33, 65, 64], [100, 3, 100],
  [127, 129, 19], [131, 37, 513], [61, 530, 45], [257, 263, 300], [300, 300, 300],
  // Last B slivers of 4, 1, 2 and 3 columns against many rows: the 8 × 4 and 12 × 4 edge kernels and the rows they leave.
  [100, 100, 40], [27, 9, 70], [37, 18, 11], [50, 27, 260],
];

function allCases(): GemmCase[] {
  const r = seededRandom(12345);
  const cases: GemmCase[] = [];
  const shapes: [number, number, number][] = [...FIXED_SHAPES];
  for (let s = 0; s < 24; s++) {
    // Mostly small sizes (where the edges are), some up to 300.
    const size = () => (r() < 0.7 ? int(r, 1, 40) : int(r, 41, 300));
    shapes.push([size(), size(), r() < 0.3 ? int(r, 1, 8) : int(r, 9, 700)]);
  }
  shapes.forEach(([m, n, k], s) => {
    for (let tr = 0; tr < 4; tr++) {
      cases.push({
        transA: (tr & 1) !== 0, transB: (tr & 2) !== 0, m, n, k,
        padA: r() < 0.5 ? 0 : int(r, 1, 9), padB: r() < 0.5 ? 0 : int(r, 1, 9), padC: r() < 0.3 ? 0 : int(r, 1, 9),
        accumulate: (s + tr) % 2 === 1,
      });
    }
  });
  return cases;
}

// ---------------------------------------------------------------- gemv cases

interface GemvCase {
  mm: number;
  nn: number;
  k: number;
  /** A(i, p) at a + i·sai + p·sap; B(p, j) at b + p·sbp + j; C(i, j) at c + i·sci + j·scj (floats). */
  sai: number;
  sap: number;
  sbp: number;
  sci: number;
  scj: number;
  accumulate: boolean;
}

interface GemvRun {
  /** The spans of A, B and C (from each one's offset to its last element, plus GUARD for C) before the call, and C's after. */
  a: Float32Array;
  b: Float32Array;
  cBefore: Float32Array;
  cAfter: Float32Array;
}

function span(count1: number, stride1: number, count2: number, stride2: number): number {
  return (count1 - 1) * stride1 + (count2 - 1) * stride2 + 1;
}

function runGemv(kern: Kernels, t: GemvCase, r: () => number): GemvRun {
  const bump = new Bump(r);
  const aLen = span(t.mm, t.sai, t.k, t.sap);
  const bLen = span(t.k, t.sbp, t.nn, 1);
  const cLen = span(t.mm, t.sci, t.nn, t.scj) + GUARD;
  const aAt = bump.take(aLen);
  const bAt = bump.take(bLen);
  const cAt = bump.take(cLen);
  const { f32 } = kern;
  randomFill(f32, aAt, aLen, r);
  randomFill(f32, bAt, bLen, r);
  randomFill(f32, cAt, cLen, r);
  const a = f32.slice(aAt, aAt + aLen);
  const b = f32.slice(bAt, bAt + bLen);
  const cBefore = f32.slice(cAt, cAt + cLen);
  kern.gemv(t.mm, t.nn, t.k, 4 * aAt, t.sai, t.sap, 4 * bAt, t.sbp, 4 * cAt, t.sci, t.scj, +t.accumulate, 1);
  expect(sameBits(f32.subarray(aAt, aAt + aLen), a), "A unchanged").toBe(true);
  expect(sameBits(f32.subarray(bAt, bAt + bLen), b), "B unchanged").toBe(true);
  return { a, b, cBefore, cAfter: f32.slice(cAt, cAt + cLen) };
}

/** As gemmErrors, for gemv. */
function gemvErrors(t: GemvCase, run: GemvRun): string[] {
  const errors: string[] = [];
  const inWindow = new Uint8Array(run.cAfter.length);
  for (let i = 0; i < t.mm; i++) {
    for (let j = 0; j < t.nn; j++) {
      let sum = 0;
      let abs = 0;
      for (let p = 0; p < t.k; p++) {
        const prod = run.a[i * t.sai + p * t.sap]! * run.b[p * t.sbp + j]!;
        sum += prod;
        abs += Math.abs(prod);
      }
      const at = i * t.sci + j * t.scj;
      const old = t.accumulate ? run.cBefore[at]! : 0;
      const want = sum + old;
      const bound = (t.k + 2) * 2 ** -23 * (abs + Math.abs(old));
      const got = run.cAfter[at]!;
      if (!(Math.abs(got - want) <= bound) && errors.length < 5) errors.push(`C(${i}, ${j}) = ${got}, want ${want} ± ${bound}`);
      inWindow[at] = 1;
    }
  }
  for (let q = 0; q < inWindow.length; q++) {
    if (!inWindow[q] && !Object.is(run.cAfter[q], run.cBefore[q]) && errors.length < 10) errors.push(`float ${q} of C's span outside the window changed`);
  }
  return errors;
}

function gemvCases(): GemvCase[] {
  const r = seededRandom(777);
  const cases: GemvCase[] = [];
  const widths = [1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 31, 32, 33, 47, 100, 257];
  const depths = [1, 2, 7, 64, 255, 784];
  let s = 0;
  for (const mm of [1, 2, 3]) {
    for (const nn of widths) {
      const k = depths[s % depths.length]!;
      // Row-major or column-major A; row-major C (scj = 1) or column-major (sci = 1, scj = the column stride).
      const aRowMajor = r() < 0.5;
      const lda = (aRowMajor ? k : mm) + int(r, 0, 3);
      const cRowMajor = s % 3 !== 2;
      const ldc = (cRowMajor ? nn : mm) + int(r, 0, 3);
      cases.push({
        mm, nn, k,
        sai: aRowMajor ? lda : 1, sap: aRowMajor ? 1 : lda,
        sbp: nn + (r() < 0.5 ? 0 : int(r, 1, 5)),
        sci: cRowMajor ? ldc : 1, scj: cRowMajor ? 1 : ldc,
        accumulate: s % 2 === 1,
      });
      s++;
    }
  }
  // Strides of 0 (a broadcast row of A, one shared row of B) are allowed too.
  cases.push({ mm: 2, nn: 21, k: 9, sai: 0, sap: 1, sbp: 0, sci: 21, scj: 1, accumulate: false });
  return cases;
}

// --------------------------------------------------------------------- tests

describe("gemm.wat, assembled", () => {
  it("gemm-wasm.ts is gemm.wat assembled (run npm run build:wasm after editing gemm.wat)", async () => {
    expect(Buffer.from(GEMM_WASM_BASE64, "base64")).toEqual(Buffer.from(await assembleGemm(false)));
    expect(Buffer.from(GEMM_WASM_SHARED_BASE64, "base64")).toEqual(Buffer.from(await assembleGemm(true)));
    expect(readFileSync(GEMM_WASM_TS_PATH, "utf8")).toBe(await generateGemmWasmSource());
  });

  it("stays small: compiled synchronously where createModel runs (Chromium allows up to 8 MB on a page's main thread since version 114, 4 KB before)", () => {
    expect(Buffer.from(GEMM_WASM_BASE64, "base64").length).toBeLessThan(16 * 1024);
    expect(Buffer.from(GEMM_WASM_RELAXED_BASE64, "base64").length).toBeLessThan(16 * 1024);
  });

  it("has a relaxed SIMD variant with every multiply-add of its text fused and nothing else changed", () => {
    const wat = gemmVariant(readFileSync(join(import.meta.dirname, "..", "src", "backend", "cpu", "runtime", "gemm.wat"), "utf8"), true);
    const fused = fusedMultiplyAdds(wat);
    const madds = [...wat.matchAll(/\((f32x4|f32)\.add \(local\.get \$\w+\) \(\1\.mul /g)].length;
    expect(madds).toBeGreaterThan(20);
    expect([...fused.replace(/;;.*$/gm, "").matchAll(/f32x4\.relaxed_madd/g)].length).toBe(madds);
    // The only multiplications left scale a finished sum by alpha (a folded SGD step).
    expect(fused.replace(/;;.*$/gm, "").replaceAll("(f32x4.mul (local.get $alpha)", "")).not.toMatch(/f32x4\.mul|f32\.mul/);
    // Everything but the multiply-adds is the same text.
    const strip = (t: string) => t.replace(/\s+/g, " ");
    expect(strip(fused).length).toBeLessThan(strip(wat).length + 60 * madds);
  });

  it("keeps each variant's section of gemm.wat in that variant only, and refuses unbalanced markers", () => {
    const wat = readFileSync(join(import.meta.dirname, "..", "src", "backend", "cpu", "runtime", "gemm.wat"), "utf8");
    const plain = gemmVariant(wat, false);
    const relaxed = gemmVariant(wat, true);
    // Both keep the line count (markers and the other variant's lines become blank), and each has one MR.
    expect(plain.split("\n").length).toBe(wat.split("\n").length);
    expect(relaxed.split("\n").length).toBe(wat.split("\n").length);
    expect(plain).toContain("(global $MR i32 (i32.const 4))");
    expect(plain).not.toContain("(global $MR i32 (i32.const 6))");
    expect(relaxed).toContain("(global $MR i32 (i32.const 6))");
    expect(relaxed).not.toContain("(global $MR i32 (i32.const 4))");
    expect(plain).not.toMatch(/^\s*;; @variant (plain|relaxed|end)\s*$/m);
    const text = ["a", ";; @variant plain", "p", ";; @variant end", "  ;; @variant relaxed", "r", "  ;; @variant end", "z"].join("\n");
    expect(gemmVariant(text, false)).toBe(["a", "", "p", "", "", "", "", "z"].join("\n"));
    expect(gemmVariant(text, true)).toBe(["a", "", "", "", "", "r", "", "z"].join("\n"));
    expect(() => gemmVariant(";; @variant plain\nx", false)).toThrow(/not closed/);
    expect(() => gemmVariant(";; @variant end", false)).toThrow(/outside a section/);
    expect(() => gemmVariant(";; @variant plain\n;; @variant relaxed", false)).toThrow(/inside a section/);
  });

  it("the relaxed SIMD kernels agree with float64 and split bit for bit (in a child process under --experimental-wasm-relaxed-simd where this engine lacks it)", { timeout: 300_000 }, () => {
    if (relaxedHere) {
      // This engine has relaxed SIMD: the suites below run the relaxed variants too.
      expect(variants).toEqual([false, true]);
      return;
    }
    // A plain node script, not vitest: its workers would not get the flag.
    const run = spawnSync(process.execPath, ["--experimental-wasm-relaxed-simd", "--import", "tsx", "test/relaxed-gemm-check.ts"], {
      cwd: join(import.meta.dirname, ".."),
      encoding: "utf8",
      timeout: 240_000,
    });
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain("relaxed gemm: 30 cases ok");
  });

  it("has a packing workspace that keeps every thread's on a 64-byte boundary", () => {
    expect(GEMM_WASM_PACK_FLOATS % 16).toBe(0);
  });
});

for (const [shared, relaxed] of variants.flatMap((v) => [false, true].map((sh) => [sh, v] as const))) {
  describe(`gemm.wat${relaxed ? " (relaxed SIMD)" : ""} on a ${shared ? "shared" : "plain"} memory`, () => {
    const kern = instantiate(shared, relaxed);

    it("exports gemm(13 × i32, alpha) and gemv(12 × i32, alpha)", () => {
      expect(kern.gemm.length).toBe(14);
      expect(kern.gemv.length).toBe(13);
    });

    // The shared variant is the same code: a sample of the cases is enough there.
    const cases = shared ? allCases().filter((_, i) => i % 7 === 0) : allCases();
    it(`gemm agrees with a float64 reference and writes only its window (${cases.length} cases)`, () => {
      const r = seededRandom(shared ? 2 : 1);
      for (const t of cases) {
        const errors = gemmErrors(t, runGemm(kern, t, r));
        expect(errors, describeCase(t)).toEqual([]);
      }
    });

    it("an empty product (m, n or k = 0) writes nothing, not even into C", () => {
      const { f32 } = kern;
      const r = seededRandom(7);
      randomFill(f32, 0, 4096, r);
      const before = f32.slice(0, 4096);
      // A, B and C overlap the scratch here on purpose: any write at all shows.
      for (const [m, n, k] of [[0, 5, 5], [5, 0, 5], [5, 5, 0], [0, 0, 0]] as const) {
        kern.gemm(0, 0, m, n, k, 0, 8, 0, 8, 0, 8, 0, 4 * 4096, 1);
        kern.gemv(m, n, k, 0, 8, 1, 0, 8, 0, 8, 1, 0, 1);
      }
      expect(sameBits(f32.subarray(0, 4096), before)).toBe(true);
    });

    // A folded SGD step: W = W + alpha·(AᵀB) in one call, each element W + f32(alpha·sum) (one depth block).
    it("alpha scales the sums before they are added: gemm and gemv, every edge", () => {
      const { f32 } = kern;
      const r = seededRandom(9);
      const alpha = Math.fround(-0.02);
      for (const [m, n, k, transA] of [[37, 29, 100, true], [13, 100, 64, false], [1, 23, 40, false], [2, 37, 9, false]] as const) {
        const lda = transA ? m : k;
        const [aAt, bAt, pAt, cAt, packAt] = [0, 20000, 40000, 50000, 60000];
        randomFill(f32, 0, 60000, r);
        const c0 = f32.slice(cAt, cAt + m * n);
        const gemvCase = m <= 2;
        const call = (c: number, accumulate: number, al: number) =>
          gemvCase
            ? kern.gemv(m, n, k, 4 * aAt, lda, 1, 4 * bAt, n, 4 * c, n, 1, accumulate, al)
            : kern.gemm(+transA, 0, m, n, k, 4 * aAt, lda, 4 * bAt, n, 4 * c, n, accumulate, 4 * packAt, al);
        call(pAt, 0, 1);
        call(cAt, 1, alpha);
        for (let i = 0; i < m * n; i++) {
          const want = Math.fround(c0[i]! + Math.fround(alpha * f32[pAt + i]!));
          expect(Object.is(f32[cAt + i], want), `${m}×${n}×${k} element ${i}`).toBe(true);
        }
      }
    });

    it("gemv agrees with a float64 reference and writes only its window", () => {
      const r = seededRandom(shared ? 4 : 3);
      for (const t of gemvCases()) {
        const errors = gemvErrors(t, runGemv(kern, t, r));
        expect(errors, JSON.stringify(t)).toEqual([]);
      }
    });
  });
}

describe("the checks can fail", () => {
  const kern = instantiate(false);

  it("gemmErrors reports a missing depth term, a changed padding column and a write past C", () => {
    const t: GemmCase = { transA: false, transB: true, m: 6, n: 10, k: 300, padA: 1, padB: 2, padC: 3, accumulate: false };
    const run = runGemm(kern, t, seededRandom(5));
    expect(gemmErrors(t, run)).toEqual([]);
    // C(2, 3) without its last term, as an off-by-one in the depth loop would leave it.
    const dropped = { ...run, cAfter: run.cAfter.slice() };
    dropped.cAfter[2 * run.ldc + 3]! -= run.a[2 * run.lda + 299]! * run.b[3 * run.ldb + 299]!;
    expect(gemmErrors(t, dropped).length).toBeGreaterThan(0);
    const padding = { ...run, cAfter: run.cAfter.slice() };
    padding.cAfter[4 * run.ldc + 10] = 0;
    expect(gemmErrors(t, padding).length).toBeGreaterThan(0);
    const past = { ...run, cAfter: run.cAfter.slice() };
    past.cAfter[6 * run.ldc] = 0;
    expect(gemmErrors(t, past).length).toBeGreaterThan(0);
    const accumulated = { ...run, cAfter: run.cAfter.slice() };
    accumulated.cAfter[0]! += run.cBefore[0]!;
    expect(gemmErrors(t, accumulated).length).toBeGreaterThan(0);
  });

  it("gemvErrors reports a missing depth term and a write between strided elements", () => {
    const t: GemvCase = { mm: 2, nn: 5, k: 50, sai: 50, sap: 1, sbp: 5, sci: 1, scj: 3, accumulate: true };
    const run = runGemv(kern, t, seededRandom(6));
    expect(gemvErrors(t, run)).toEqual([]);
    const dropped = { ...run, cAfter: run.cAfter.slice() };
    dropped.cAfter[1 + 4 * 3]! -= run.a[50 + 49]! * run.b[49 * 5 + 4]!;
    expect(gemvErrors(t, dropped).length).toBeGreaterThan(0);
    const between = { ...run, cAfter: run.cAfter.slice() };
    between.cAfter[2] = 0;
    expect(gemvErrors(t, between).length).toBeGreaterThan(0);
  });

  it("a split that differs in one bit is told apart", () => {
    expect(sameBits(new Float32Array([1, 2]), new Float32Array([1, 2]))).toBe(true);
    expect(sameBits(new Float32Array([1, 2]), new Float32Array([1, 2 + 2 ** -22]))).toBe(false);
    expect(sameBits(new Float32Array([0]), new Float32Array([-0]))).toBe(false);
  });
});

function sameBits(x: Float32Array, y: Float32Array): boolean {
  const u = new Uint32Array(x.buffer, x.byteOffset, x.length);
  const v = new Uint32Array(y.buffer, y.byteOffset, y.length);
  return u.length === v.length && u.every((w, i) => w === v[i]);
}

/** Cuts 0 … size into a random number of ranges at random places (some of width 1). */
function cuts(r: () => number, size: number): number[] {
  const points = new Set<number>([0, size]);
  const count = int(r, 1, 6);
  for (let q = 0; q < count; q++) points.add(int(r, 1, size - 1));
  if (size > 2 && r() < 0.5) points.add(size - 1);
  return [...points].filter((x) => x >= 0 && x <= size).sort((x, y) => x - y);
}

describe.each(variants)("a product split by rows or by columns gives the bits of the whole product (relaxed SIMD: %s)", (relaxed) => {
  const kern = instantiate(false, relaxed);
  const { f32 } = kern;

  it("gemm", () => {
    const r = seededRandom(99);
    for (let s = 0; s < 40; s++) {
      const m = s < 4 ? [300, 7, 2, 130][s]! : int(r, 2, 150);
      const n = s < 4 ? [9, 520, 2, 70][s]! : int(r, 2, 150);
      const k = s < 4 ? [300, 40, 1, 513][s]! : int(r, 1, 600);
      const transA = r() < 0.5;
      const transB = r() < 0.5;
      const accumulate = r() < 0.5;
      const lda = (transA ? m : k) + int(r, 0, 2);
      const ldb = (transB ? k : n) + int(r, 0, 2);
      const ldc = n + int(r, 0, 2);
      const bump = new Bump(r);
      const aAt = bump.take((transA ? k : m) * lda);
      const bAt = bump.take((transB ? n : k) * ldb);
      const c0At = bump.take(m * ldc);
      const cAt = bump.take(m * ldc);
      const packAt = bump.take(GEMM_WASM_PACK_FLOATS);
      randomFill(f32, aAt, (transA ? k : m) * lda, r);
      randomFill(f32, bAt, (transB ? n : k) * ldb, r);
      randomFill(f32, c0At, m * ldc, r);
      const call = (i0: number, i1: number, j0: number, j1: number) => {
        const aOff = transA ? i0 : i0 * lda;
        const bOff = transB ? j0 * ldb : j0;
        kern.gemm(+transA, +transB, i1 - i0, j1 - j0, k, 4 * (aAt + aOff), lda, 4 * (bAt + bOff), ldb, 4 * (cAt + i0 * ldc + j0), ldc, +accumulate, 4 * packAt, 1);
      };
      f32.copyWithin(cAt, c0At, c0At + m * ldc);
      call(0, m, 0, n);
      const whole = f32.slice(cAt, cAt + m * ldc);
      const label = `${transA ? "Aᵀ" : "A"}·${transB ? "Bᵀ" : "B"} ${m}×${n}×${k}${accumulate ? " accumulate" : ""}`;
      for (const byRows of [true, false]) {
        f32.copyWithin(cAt, c0At, c0At + m * ldc);
        const points = cuts(r, byRows ? m : n);
        for (let q = 0; q + 1 < points.length; q++) {
          if (byRows) call(points[q]!, points[q + 1]!, 0, n);
          else call(0, m, points[q]!, points[q + 1]!);
        }
        expect(sameBits(f32.slice(cAt, cAt + m * ldc), whole), `${label} split ${byRows ? "rows" : "columns"} at ${points.join(", ")}`).toBe(true);
      }
    }
  });

  it("gemv", () => {
    const r = seededRandom(1001);
    for (let s = 0; s < 40; s++) {
      const mm = int(r, 1, 3);
      const nn = s < 3 ? [100, 1, 37][s]! : int(r, 2, 300);
      const k = s < 3 ? [784, 3, 1][s]! : int(r, 1, 800);
      const accumulate = r() < 0.5;
      const aRowMajor = r() < 0.5;
      const lda = (aRowMajor ? k : mm) + int(r, 0, 2);
      const sai = aRowMajor ? lda : 1;
      const sap = aRowMajor ? 1 : lda;
      const sbp = nn + int(r, 0, 3);
      const cRowMajor = r() < 0.6;
      const ldc = (cRowMajor ? nn : mm) + int(r, 0, 2);
      const sci = cRowMajor ? ldc : 1;
      const scj = cRowMajor ? 1 : ldc;
      const cLen = span(mm, sci, nn, scj);
      const bump = new Bump(r);
      const aAt = bump.take(span(mm, sai, k, sap));
      const bAt = bump.take(span(k, sbp, nn, 1));
      const c0At = bump.take(cLen);
      const cAt = bump.take(cLen);
      randomFill(f32, aAt, span(mm, sai, k, sap), r);
      randomFill(f32, bAt, span(k, sbp, nn, 1), r);
      randomFill(f32, c0At, cLen, r);
      const call = (i0: number, i1: number, j0: number, j1: number) =>
        kern.gemv(i1 - i0, j1 - j0, k, 4 * (aAt + i0 * sai), sai, sap, 4 * (bAt + j0), sbp, 4 * (cAt + i0 * sci + j0 * scj), sci, scj, +accumulate, 1);
      f32.copyWithin(cAt, c0At, c0At + cLen);
      call(0, mm, 0, nn);
      const whole = f32.slice(cAt, cAt + cLen);
      const label = `gemv ${mm}×${nn}×${k} sci ${sci} scj ${scj}${accumulate ? " accumulate" : ""}`;
      for (const byRows of [true, false]) {
        if (byRows && mm === 1) continue;
        f32.copyWithin(cAt, c0At, c0At + cLen);
        const points = byRows ? [0, ...new Set([int(r, 1, mm - 1)]), mm] : cuts(r, nn);
        for (let q = 0; q + 1 < points.length; q++) {
          if (byRows) call(points[q]!, points[q + 1]!, 0, nn);
          else call(0, mm, points[q]!, points[q + 1]!);
        }
        expect(sameBits(f32.slice(cAt, cAt + cLen), whole), `${label} split ${byRows ? "rows" : "columns"} at ${points.join(", ")}`).toBe(true);
      }
    }
  });
});
