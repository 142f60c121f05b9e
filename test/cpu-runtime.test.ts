// The CPU backend's runtime kernels (src/backend/cpu/runtime/) against the
// float64 reference interpreter: every kernel on random float32 data over
// several shapes, with operands placed at offsets inside larger arenas whose
// other elements are NaN, so that a read outside an operand poisons the
// result and a write outside the output is seen. Results are float32 and the
// reference float64, so a kernel passes at a relative error of 1e-5, taken
// against the largest reference value of the output (a normwise error: an
// element that cancels to near 0 cannot have a small error of its own).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { conv2d, conv2dGradInput, conv2dGradKernel, convOutSize, convWorkspace, type ConvWorkspace } from "../src/backend/cpu/runtime/conv.ts";
import { gemm, gemmWorkspace, type GemmWorkspace } from "../src/backend/cpu/runtime/gemm.ts";
import { createKernelMemory } from "../src/backend/cpu/runtime/wasm.ts";
import { initParam } from "../src/backend/cpu/runtime/init.ts";
import * as loss from "../src/backend/cpu/runtime/loss.ts";
import * as broadcast from "../src/backend/cpu/runtime/broadcast.ts";
import * as norm from "../src/backend/cpu/runtime/norm.ts";
import * as kernelsNn from "../src/backend/cpu/runtime/nn.ts";
import * as optim from "../src/backend/cpu/runtime/optim.ts";
import * as rtRng from "../src/backend/cpu/runtime/rng.ts";
import { initParams, initTensor } from "../src/interp/init.ts";
import { initArguments } from "../src/backend/param-init.ts";
import { KERNELS, type KernelCtx } from "../src/interp/kernels.ts";
import { size, type Tensor } from "../src/interp/tensor.ts";
import type { Init, OpAttrs, OpName } from "../src/ops/types.ts";
import { runFrontEnd } from "../src/pipeline.ts";
import { seededRandom } from "./helpers.ts";

/** The runtime kernels by name, wherever their file. */
const nn = { ...kernelsNn, ...broadcast };

const TOL = 1e-5;

// ------------------------------------------------------------------ helpers


/** An interpreter kernel on float64 tensors. */
function run<K extends OpName>(op: K, args: readonly Tensor[], attrs: OpAttrs[K], outShape: readonly number[] = [], extra: Partial<KernelCtx> = {}): Tensor {
  const ctx: KernelCtx = { outShape, training: true, seed: 0, step: 0, dims: new Map(), ...extra };
  return KERNELS[op](args, attrs, ctx);
}

/** A Float32Array of `before + n + after` NaNs with n values from `value(i)` at offset `before`. */
function placed(n: number, value: (i: number) => number, before = 11, after = 7): { arr: Float32Array; off: number } {
  const arr = new Float32Array(before + n + after).fill(NaN);
  for (let i = 0; i < n; i++) arr[before + i] = value(i);
  return { arr, off: before };
}

function uniformIn(r: () => number, lo: number, hi: number): (i: number) => number {
  return () => lo + (hi - lo) * r();
}

/** The float64 tensor of n float32 values at arr[off …]. */
function tensorOf(shape: readonly number[], arr: ArrayLike<number>, off: number): Tensor {
  const n = size(shape);
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = arr[off + i]!;
  return { shape: [...shape], data };
}

/** max |got − want| / max |want| (NaN, and so a failure, if got holds a NaN). */
function relErr(got: ArrayLike<number>, off: number, want: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[off + i]! - want[i]!);
    num = Number.isNaN(d) || Number.isNaN(num) ? NaN : Math.max(num, d);
    den = Math.max(den, Math.abs(want[i]!));
  }
  return den === 0 ? num : num / den;
}

function expectClose(got: ArrayLike<number>, off: number, want: ArrayLike<number>, what: string, tol = TOL): void {
  const e = relErr(got, off, want);
  expect(e, `${what}: relative error ${e}`).toBeLessThanOrEqual(tol);
}

/** Every element of arr outside [off, off + n) is still NaN. */
function expectUntouchedOutside(arr: Float32Array, off: number, n: number, what: string): void {
  for (let i = 0; i < arr.length; i++) {
    if (i >= off && i < off + n) continue;
    if (!Number.isNaN(arr[i])) throw new Error(`${what}: element ${i} outside [${off}, ${off + n}) was written (${arr[i]})`);
  }
}

/** The [outer, len, inner] view of a shape around an axis (null: all of it). */
function view(shape: readonly number[], axis: number | null): { outer: number; len: number; inner: number } {
  if (axis === null) return { outer: 1, len: size(shape), inner: 1 };
  const a = axis < 0 ? axis + shape.length : axis;
  return { outer: size(shape.slice(0, a)), len: shape[a]!, inner: size(shape.slice(a + 1)) };
}

// ------------------------------------------------------------------ gemm

/** Where a gemm test puts its operands, and the workspace it multiplies them with. */
interface GemmKernels {
  readonly kernels: string;
  workspace(maxM: number, maxN: number, maxK: number): GemmWorkspace;
  /** A fresh set of operands begins (the WebAssembly memory is reused from its start). */
  reset(): void;
  place(n: number, value: (i: number) => number, before: number, after: number): { arr: Float32Array; off: number };
}

/** Operands in arrays of their own, for the JavaScript kernels. */
const JS_KERNELS: GemmKernels = { kernels: "JavaScript", workspace: (m, n, k) => gemmWorkspace(m, n, k), reset: () => {}, place: placed };

/** Operands carved out of one WebAssembly memory, as a model's arena holds them, for the SIMD kernels. */
function wasmKernels(): GemmKernels {
  const memory = createKernelMemory(1 << 22, 0, 1, true);
  if (memory.wasm === null) throw new Error(`no WebAssembly kernels: ${memory.note}`);
  let top = 0;
  return {
    kernels: "WebAssembly",
    workspace: (m, n, k) => gemmWorkspace(m, n, k, memory.wasm),
    reset: () => {
      top = 0;
    },
    place(n, value, before, after) {
      const arr = memory.arena.subarray(top, top + before + n + after).fill(NaN);
      top += before + n + after;
      for (let i = 0; i < n; i++) arr[before + i] = value(i);
      return { arr, off: before };
    },
  };
}

describe.each([JS_KERNELS, wasmKernels()])("gemm, $kernels kernels", (kernels) => {
  // Shapes chosen to hit every path: the direct kernel (one or two rows or
  // columns, tiny products), edge tiles (sizes not multiples of 2 and 4),
  // several depth blocks (k > 256), several row blocks (m > 96) and several
  // column panels (n > 1024).
  const shapes: [number, number, number][] = [
    [1, 1, 1],
    [1, 7, 5],
    [1, 100, 784],
    [7, 1, 33],
    [100, 1, 784],
    [2, 9, 4],
    [9, 2, 4],
    [3, 3, 3],
    [4, 4, 4],
    [5, 6, 7],
    [13, 17, 19],
    [96, 4, 256],
    [97, 5, 257],
    [33, 1030, 9],
    [130, 70, 300],
    [64, 64, 64],
    [3, 50, 0],
  ];
  function check(ws: GemmWorkspace, m: number, n: number, k: number, transA: boolean, transB: boolean, accumulate: boolean, seed: number): void {
    const r = seededRandom(seed);
    // Leading dimensions with spare columns: the spare elements stay NaN and must never be read.
    const lda = (transA ? m : k) + Math.floor(r() * 3);
    const ldb = (transB ? k : n) + Math.floor(r() * 3);
    const ldc = n + Math.floor(r() * 3);
    const aRows = transA ? k : m;
    const bRows = transB ? n : k;
    const spare = (ld: number, cols: number) => (i: number) => (i % ld < cols ? r() * 2 - 1 : NaN);
    kernels.reset();
    const A = kernels.place(Math.max(0, aRows * lda), spare(lda, transA ? m : k), 5, 3);
    const B = kernels.place(Math.max(0, bRows * ldb), spare(ldb, transB ? k : n), 9, 2);
    const C = kernels.place(m * ldc, (i) => (accumulate && i % ldc < n ? r() * 2 - 1 : NaN), 3, 6);
    const a0 = Float32Array.from(A.arr);
    const b0 = Float32Array.from(B.arr);
    // The reference, through the interpreter: op(A) and op(B) written out, then matmul (and add, accumulating).
    const opA = tensorOf([m, k], Array.from({ length: m * k }, (_, q) => {
      const i = Math.floor(q / k);
      const p = q % k;
      return A.arr[A.off + (transA ? p * lda + i : i * lda + p)]!;
    }), 0);
    const opB = tensorOf([k, n], Array.from({ length: k * n }, (_, q) => {
      const p = Math.floor(q / n);
      const j = q % n;
      return B.arr[B.off + (transB ? j * ldb + p : p * ldb + j)]!;
    }), 0);
    let want = k === 0 ? tensorOf([m, n], new Float64Array(m * n), 0) : run("matmul", [opA, opB], {});
    if (accumulate) want = run("add", [tensorOf([m, n], Array.from({ length: m * n }, (_, q) => C.arr[C.off + Math.floor(q / n) * ldc + (q % n)]!), 0), want], {});

    gemm(ws, transA, transB, m, n, k, A.arr, A.off, lda, B.arr, B.off, ldb, C.arr, C.off, ldc, accumulate);

    const what = `${m}×${n}×${k} ${transA ? "T" : "N"}${transB ? "T" : "N"} acc=${accumulate}`;
    const got = new Float64Array(m * n);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) got[i * n + j] = C.arr[C.off + i * ldc + j]!;
    expectClose(got, 0, want.data, what);
    // Only the m × n window of C is written: its spare columns and the arena around it keep their NaNs.
    for (let q = 0; q < C.arr.length; q++) {
      const inWindow = q >= C.off && q < C.off + m * ldc && (q - C.off) % ldc < n;
      if (!inWindow && !Number.isNaN(C.arr[q])) throw new Error(`${what}: C[${q}] outside the window was written`);
    }
    expect(Object.is(A.arr.join(), a0.join()) && Object.is(B.arr.join(), b0.join()), `${what}: operands changed`).toBe(true);
    // Packing read only inside the operands (a NaN from the arena, or undefined from past an array's end, would show here).
    expect(ws.pack.every(Number.isFinite), `${what}: packed a value from outside an operand`).toBe(true);
  }

  it("matches the interpreter's matmul on every path, operand layout and epilogue", () => {
    const ws = kernels.workspace(1100, 1100, 1100);
    let seed = 1;
    for (const [m, n, k] of shapes) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          seed++;
          check(ws, m, n, k, transA, transB, seed % 3 === 0, seed);
        }
      }
    }
  });

  it("covers overwriting and accumulating on a packed and a direct shape", () => {
    const ws = kernels.workspace(64, 64, 64);
    let seed = 100;
    for (const [m, n, k] of [
      [37, 29, 41],
      [1, 29, 41],
    ] as const) {
      for (const accumulate of [false, true]) check(ws, m, n, k, seed % 2 === 0, seed % 3 === 0, accumulate, seed++);
    }
  });

  it("is exact for any workspace size: a tiny workspace only means more, smaller blocks", () => {
    const tiny = kernels.workspace(3, 5, 2);
    expect(tiny.pack.length).toBeLessThan(64);
    let seed = 200;
    for (const [m, n, k] of [
      [13, 17, 19],
      [40, 9, 33],
      [6, 30, 5],
      // The direct kernels, with more columns than the workspace has accumulators (5).
      [1, 17, 37],
      [23, 2, 35],
    ] as const) {
      for (const transA of [false, true]) for (const transB of [false, true]) check(tiny, m, n, k, transA, transB, seed % 2 === 1, seed++);
    }
  });

});

describe("gemm's sums", () => {
  it("sums in float64 within a depth block: a single-block product is correctly rounded", () => {
    // Values whose float32 partial sums would lose the small terms.
    const k = 200;
    const a = new Float32Array(2 * k);
    const b = new Float32Array(k * 4);
    for (let p = 0; p < k; p++) {
      a[p] = p === 0 ? 1e8 : 1;
      a[k + p] = 1;
      for (let j = 0; j < 4; j++) b[p * 4 + j] = p === k - 1 && j === 0 ? -1e8 : 1;
    }
    const c = new Float32Array(8);
    gemm(gemmWorkspace(8, 8, k), false, false, 2, 4, k, a, 0, k, b, 0, 4, c, 0, 4, false);
    // Row 0, column 0: 1e8 + 198 − 1e8 = 198 exactly in float64.
    expect(c[0]).toBe(198);
  });

  it("are float32 sums on the WebAssembly kernels, held in float32 accumulators", () => {
    // The same product: in float32, 1e8 + 1 + 1 + … stays 1e8, so row 0, column 0 comes out 0.
    const k = 200;
    const memory = createKernelMemory(2 * k + 4 * k + 8, 0, 1, true);
    const f = memory.arena;
    for (let p = 0; p < k; p++) {
      f[p] = p === 0 ? 1e8 : 1;
      f[k + p] = 1;
      for (let j = 0; j < 4; j++) f[2 * k + p * 4 + j] = p === k - 1 && j === 0 ? -1e8 : 1;
    }
    gemm(gemmWorkspace(8, 8, k, memory.wasm), false, false, 2, 4, k, f, 0, k, f, 2 * k, 4, f, 6 * k, 4, false);
    expect(f[6 * k]).toBe(0);
    expect(f[6 * k + 5]).toBe(200); // row 1, column 1: exact
  });
});

// ------------------------------------------------------------------ conv

describe("conv2d", () => {
  interface Case {
    b: number;
    h: number;
    w: number;
    c: number;
    kh: number;
    kw: number;
    f: number;
    stride: number;
    padding: "valid" | "same";
  }
  const cases: Case[] = [
    { b: 2, h: 7, w: 6, c: 3, kh: 3, kw: 2, f: 4, stride: 1, padding: "valid" },
    { b: 2, h: 7, w: 6, c: 3, kh: 3, kw: 3, f: 5, stride: 1, padding: "same" },
    { b: 1, h: 8, w: 9, c: 2, kh: 3, kw: 3, f: 3, stride: 2, padding: "same" },
    { b: 3, h: 9, w: 7, c: 4, kh: 2, kw: 3, f: 6, stride: 2, padding: "valid" },
    { b: 2, h: 5, w: 5, c: 3, kh: 1, kw: 1, f: 4, stride: 1, padding: "same" },
    { b: 2, h: 6, w: 6, c: 3, kh: 1, kw: 1, f: 2, stride: 2, padding: "valid" },
    { b: 1, h: 4, w: 4, c: 2, kh: 4, kw: 4, f: 3, stride: 1, padding: "valid" },
    { b: 2, h: 5, w: 4, c: 1, kh: 5, kw: 3, f: 2, stride: 3, padding: "same" },
    { b: 2, h: 6, w: 8, c: 3, kh: 4, kw: 2, f: 5, stride: 2, padding: "same" },
    { b: 4, h: 10, w: 10, c: 3, kh: 3, kw: 3, f: 8, stride: 1, padding: "same" },
  ];

  for (const g of cases) {
    const name = `b${g.b} ${g.h}×${g.w}×${g.c}, kernel ${g.kh}×${g.kw}→${g.f}, stride ${g.stride}, ${g.padding}`;
    it(`forward and both gradients match the interpreter: ${name}`, () => {
      const r = seededRandom(g.h * 31 + g.kh * 7 + g.stride);
      const same = g.padding === "same";
      const oh = convOutSize(g.h, g.kh, g.stride, same);
      const ow = convOutSize(g.w, g.kw, g.stride, same);
      const xShape = [g.b, g.h, g.w, g.c];
      const kShape = [g.kh, g.kw, g.c, g.f];
      const oShape = [g.b, oh, ow, g.f];
      const x = placed(size(xShape), uniformIn(r, -1, 1));
      const k = placed(size(kShape), uniformIn(r, -1, 1));
      const dout = placed(size(oShape), uniformIn(r, -1, 1));
      const attrs = { stride: g.stride, padding: g.padding };
      const X = tensorOf(xShape, x.arr, x.off);
      const K = tensorOf(kShape, k.arr, k.off);
      const G = tensorOf(oShape, dout.arr, dout.off);
      const wantOut = run("conv2d", [X, K], attrs);
      expect(wantOut.shape).toEqual(oShape);
      const wantDx = run("conv2d_grad_input", [G, K], { ...attrs, inputShape: xShape }, xShape);
      const wantDk = run("conv2d_grad_kernel", [X, G], { ...attrs, kernelShape: kShape }, kShape);
      const patch = g.kh * g.kw * g.c;
      const workspaces: [string, ConvWorkspace][] = [
        ["sized", convWorkspace(g.b * oh * ow, patch, Math.max(g.c, g.f))],
        // Room for 7 patches: many chunks, and a gemm workspace with small blocks.
        ["chunked", { col: new Float32Array(patch * 7 + 3), gemm: gemmWorkspace(4, 4, 4), patches: null }],
      ];
      for (const [label, ws] of workspaces) {
        const out = placed(size(oShape), () => NaN);
        conv2d(ws, g.b, g.h, g.w, g.c, g.kh, g.kw, g.f, g.stride, same, x.arr, x.off, k.arr, k.off, out.arr, out.off);
        expectClose(out.arr, out.off, wantOut.data, `conv2d (${label})`);
        expectUntouchedOutside(out.arr, out.off, size(oShape), `conv2d (${label})`);
        const dx = placed(size(xShape), () => NaN);
        conv2dGradInput(ws, g.b, g.h, g.w, g.c, g.kh, g.kw, g.f, g.stride, same, dout.arr, dout.off, k.arr, k.off, dx.arr, dx.off);
        expectClose(dx.arr, dx.off, wantDx.data, `conv2d_grad_input (${label})`);
        expectUntouchedOutside(dx.arr, dx.off, size(xShape), `conv2d_grad_input (${label})`);
        const dk = placed(size(kShape), () => NaN);
        conv2dGradKernel(ws, g.b, g.h, g.w, g.c, g.kh, g.kw, g.f, g.stride, same, x.arr, x.off, dout.arr, dout.off, dk.arr, dk.off);
        expectClose(dk.arr, dk.off, wantDk.data, `conv2d_grad_kernel (${label})`);
        expectUntouchedOutside(dk.arr, dk.off, size(kShape), `conv2d_grad_kernel (${label})`);
      }
    });
  }

  // vector.wat's patches (im2col and col2im on WebAssembly SIMD) where the
  // image and the column buffer are in the model's memory: channels that fill
  // whole vectors, and ones that leave 1-3 floats over, in chunks of 7 rows.
  const wasmCases: Case[] = [...cases, { b: 2, h: 6, w: 5, c: 16, kh: 3, kw: 3, f: 4, stride: 1, padding: "same" }, { b: 2, h: 7, w: 7, c: 5, kh: 3, kw: 3, f: 3, stride: 2, padding: "same" }];
  for (const g of wasmCases) {
    it(`on the WebAssembly memory (vector.wat's patches) as in the interpreter: b${g.b} ${g.h}×${g.w}×${g.c}, kernel ${g.kh}×${g.kw}→${g.f}, stride ${g.stride}, ${g.padding}`, () => {
      const r = seededRandom(g.h * 17 + g.c * 5 + g.stride);
      const same = g.padding === "same";
      const [oh, ow] = [convOutSize(g.h, g.kh, g.stride, same), convOutSize(g.w, g.kw, g.stride, same)];
      const xShape = [g.b, g.h, g.w, g.c];
      const kShape = [g.kh, g.kw, g.c, g.f];
      const oShape = [g.b, oh, ow, g.f];
      const [nx, nk, no] = [size(xShape), size(kShape), size(oShape)];
      const patch = g.kh * g.kw * g.c;
      // The arena: x, k, dout, then out, dx, dk, each with a NaN guard after it.
      const at = [0, nx + 5, nx + nk + 10, nx + nk + no + 15, nx + nk + 2 * no + 20, 2 * nx + nk + 2 * no + 25];
      const memory = createKernelMemory(2 * nx + 2 * nk + 2 * no + 30, patch * 7 + 3, 1, true);
      const ws = convWorkspace(g.b * oh * ow, patch, Math.max(g.c, g.f), gemmWorkspace(4, 4, 4, memory.wasm), memory);
      expect(ws.patches, memory.note ?? "").not.toBeNull();
      const a = memory.arena.fill(NaN);
      for (let i = 0; i < nx; i++) a[at[0]! + i] = uniformIn(r, -1, 1)(i);
      for (let i = 0; i < nk; i++) a[at[1]! + i] = uniformIn(r, -1, 1)(i);
      for (let i = 0; i < no; i++) a[at[2]! + i] = uniformIn(r, -1, 1)(i);
      const attrs = { stride: g.stride, padding: g.padding };
      const [X, K, G] = [tensorOf(xShape, a, at[0]!), tensorOf(kShape, a, at[1]!), tensorOf(oShape, a, at[2]!)];
      const wantOut = run("conv2d", [X, K], attrs);
      const wantDx = run("conv2d_grad_input", [G, K], { ...attrs, inputShape: xShape }, xShape);
      const wantDk = run("conv2d_grad_kernel", [X, G], { ...attrs, kernelShape: kShape }, kShape);
      conv2d(ws, g.b, g.h, g.w, g.c, g.kh, g.kw, g.f, g.stride, same, a, at[0]!, a, at[1]!, a, at[3]!);
      conv2dGradInput(ws, g.b, g.h, g.w, g.c, g.kh, g.kw, g.f, g.stride, same, a, at[2]!, a, at[1]!, a, at[4]!);
      conv2dGradKernel(ws, g.b, g.h, g.w, g.c, g.kh, g.kw, g.f, g.stride, same, a, at[0]!, a, at[2]!, a, at[5]!);
      expectClose(a, at[3]!, wantOut.data, "conv2d");
      expectClose(a, at[4]!, wantDx.data, "conv2d_grad_input");
      expectClose(a, at[5]!, wantDk.data, "conv2d_grad_kernel");
      // The guards after each output are still NaN.
      for (const [off, n] of [[at[3]!, no], [at[4]!, nx], [at[5]!, nk]] as const) expect(Array.from(a.subarray(off + n, off + n + 5)).every(Number.isNaN)).toBe(true);
    });
  }

  // conv2d and conv2dGradInput take chunks of at most 512 KB of columns (to
  // stay in the cache), which split only their products' rows: any chunk
  // gives the bits of one chunk, on the WebAssembly kernels as in the models.
  it("conv2d and conv2dGradInput: the same bits in chunks of 7 rows as in one chunk (WebAssembly memory)", () => {
    const [b, h, w, c, f, stride] = [3, 9, 8, 5, 6, 1];
    const [oh, ow] = [convOutSize(h, 3, stride, true), convOutSize(w, 3, stride, true)];
    const patch = 9 * c;
    const [nx, nk, no] = [b * h * w * c, 9 * c * f, b * oh * ow * f];
    const outputs = [7, b * oh * ow].map((rows) => {
      const memory = createKernelMemory(2 * nx + nk + 2 * no, patch * rows, 1, true);
      const ws = convWorkspace(b * oh * ow, patch, Math.max(c, f), gemmWorkspace(16, 16, 16, memory.wasm), memory);
      expect(ws.patches, memory.note ?? "").not.toBeNull();
      const a = memory.arena;
      const r = seededRandom(11);
      for (let i = 0; i < nx + nk + no; i++) a[i] = r() * 2 - 1;
      conv2d(ws, b, h, w, c, 3, 3, f, stride, true, a, 0, a, nx, a, nx + nk + no);
      conv2dGradInput(ws, b, h, w, c, 3, 3, f, stride, true, a, nx + nk, a, nx, a, nx + nk + 2 * no);
      return new Uint32Array(a.buffer, a.byteOffset + 4 * (nx + nk + no), no + nx);
    });
    expect(outputs[0]!.some((v) => v !== 0)).toBe(true);
    expect(Array.from(outputs[0]!)).toEqual(Array.from(outputs[1]!));
  });

  it("refuses a workspace too small for one patch", () => {
    const ws: ConvWorkspace = { col: new Float32Array(5), gemm: gemmWorkspace(4, 4, 4), patches: null };
    const x = new Float32Array(2 * 5 * 5 * 2);
    expect(() => conv2d(ws, 2, 5, 5, 2, 3, 3, 2, 1, false, x, 0, new Float32Array(36), 0, new Float32Array(2 * 9 * 2), 0)).toThrow(/workspace/);
  });
});

// ------------------------------------------------------------------ nn

describe("softmax, log_softmax and reductions", () => {
  const cases: [number[], number][] = [
    [[5], 0],
    [[4, 7], 1],
    [[4, 7], 0],
    [[3, 4, 5], 1],
    [[3, 4, 5], -1],
    [[2, 3, 4, 2], 2],
  ];
  for (const [shape, axis] of cases) {
    it(`match the interpreter on [${shape.join(", ")}] along axis ${axis}`, () => {
      const r = seededRandom(shape.length * 10 + axis + 3);
      const n = size(shape);
      // Large logits test the max shift: exp(80) overflows float32.
      const x = placed(n, (i) => (i % 5 === 0 ? 80 : 0) + r() * 8 - 4);
      const X = tensorOf(shape, x.arr, x.off);
      const { outer, len, inner } = view(shape, axis);
      for (const [op, fn] of [
        ["softmax", nn.softmax],
        ["log_softmax", nn.logSoftmax],
      ] as const) {
        const want = run(op, [X], { axis });
        const out = placed(n, () => NaN);
        fn(x.arr, x.off, out.arr, out.off, outer, len, inner);
        expectClose(out.arr, out.off, want.data, op);
        expectUntouchedOutside(out.arr, out.off, n, op);
        // In place, on a copy of x.
        const copy = Float32Array.from(x.arr);
        fn(copy, x.off, copy, x.off, outer, len, inner);
        expectClose(copy, x.off, want.data, `${op} in place`);
      }
    });
  }

  const reductions: [number[], number | null][] = [
    [[7], null],
    [[4, 7], null],
    [[4, 7], 0],
    [[4, 7], 1],
    [[3, 4, 5], 1],
    [[3, 4, 5], -1],
    [[2, 3, 1, 4], 2],
    [[1000], 0],
  ];
  for (const [shape, axis] of reductions) {
    it(`sum, mean, max and argmax match on [${shape.join(", ")}] over axis ${axis}`, () => {
      const r = seededRandom(size(shape) + (axis ?? 9));
      const n = size(shape);
      // Few distinct values, so argmax meets ties and must pick the first.
      const x = placed(n, () => Math.round(r() * 6) / 2 - 1.5);
      const X = tensorOf(shape, x.arr, x.off);
      const { outer, len, inner } = view(shape, axis);
      const m = outer * inner;
      for (const [op, fn] of [
        ["sum", nn.reduceSum],
        ["mean", nn.reduceMean],
        ["max", nn.reduceMax],
      ] as const) {
        const want = run(op, [X], { axis, keepdims: false });
        const out = placed(m, () => NaN);
        fn(x.arr, x.off, out.arr, out.off, outer, len, inner);
        expectClose(out.arr, out.off, want.data, op);
        expectUntouchedOutside(out.arr, out.off, m, op);
      }
      const want = run("argmax", [X], { axis });
      const ids = new Int32Array(m + 4).fill(-1);
      nn.argmax(x.arr, x.off, ids, 2, outer, len, inner);
      expect([...ids.subarray(2, 2 + m)]).toEqual([...want.data]);
      expect([ids[0], ids[1], ids[m + 2], ids[m + 3]]).toEqual([-1, -1, -1, -1]);
    });
  }

  it("sums in float64", () => {
    const x = new Float32Array(1001).fill(1);
    x[0] = 1e8;
    const out = new Float32Array(1);
    nn.reduceSum(x, 0, out, 0, 1, 1001, 1);
    expect(out[0]).toBe(Math.fround(1e8 + 1000));
  });
});

describe("broadcast_to and sum_to", () => {
  const pairs: [number[], number[]][] = [
    [[3], [4, 3]],
    [[4, 1], [4, 3]],
    [[1, 3], [2, 4, 3]],
    [[], [2, 3]],
    [[2, 1, 3], [2, 5, 3]],
    [[5, 1, 1, 2], [5, 3, 4, 2]],
    [[1], [6]],
    [[2, 3], [2, 3]],
    [[1, 2, 1, 3, 1, 2], [2, 2, 3, 3, 2, 2]],
    [[7, 1], [3, 7, 500]],
  ];
  for (const [small, big] of pairs) {
    it(`[${small.join(", ")}] ↔ [${big.join(", ")}]`, () => {
      const r = seededRandom(size(big) + small.length);
      const ns = size(small);
      const nb = size(big);
      const xs = placed(ns, uniformIn(r, -1, 1));
      const xb = placed(nb, uniformIn(r, -1, 1));
      const wantB = run("broadcast_to", [tensorOf(small, xs.arr, xs.off)], { shape: big }, big);
      const outB = placed(nb, () => NaN);
      nn.broadcastTo(xs.arr, xs.off, outB.arr, outB.off, nn.broadcastTable(small, big));
      expect([...outB.arr.subarray(outB.off, outB.off + nb)]).toEqual([...wantB.data]);
      expectUntouchedOutside(outB.arr, outB.off, nb, "broadcastTo");
      const wantS = run("sum_to", [tensorOf(big, xb.arr, xb.off)], { shape: small }, small);
      const outS = placed(ns, () => NaN);
      nn.sumTo(xb.arr, xb.off, outS.arr, outS.off, nn.sumToTable(small, big));
      expectClose(outS.arr, outS.off, wantS.data, "sumTo");
      expectUntouchedOutside(outS.arr, outS.off, ns, "sumTo");
    });
  }

  // The trailing-block forms (small is big's last axes): what the CPU emitter calls for per-channel sums and their broadcasts.
  const trailing: [number[], number[]][] = [
    [[3], [4, 3]],
    [[1, 3], [2, 4, 3]],
    [[], [2, 3]],
    [[1], [6]],
    [[2, 3], [2, 3]],
    [[16], [5, 3, 16]],
    [[13], [9, 13]],
    [[4, 5], [3, 4, 5]],
  ];
  for (const [small, big] of trailing) {
    it(`sumColumns and broadcastRows: [${small.join(", ")}] ↔ [${big.join(", ")}], as the interpreter`, () => {
      const r = seededRandom(size(big) * 3 + small.length);
      const [ns, nb] = [size(small), size(big)];
      const [rows, width] = [nb / ns, ns];
      const xs = placed(ns, uniformIn(r, -1, 1));
      const xb = placed(nb, uniformIn(r, -1, 1));
      const wantB = run("broadcast_to", [tensorOf(small, xs.arr, xs.off)], { shape: big }, big);
      // Into another array (row by row), and within one array (copies of the rows written).
      const outB = placed(nb, () => NaN);
      nn.broadcastRows(xs.arr, xs.off, outB.arr, outB.off, rows, width);
      expect([...outB.arr.subarray(outB.off, outB.off + nb)]).toEqual([...wantB.data]);
      expectUntouchedOutside(outB.arr, outB.off, nb, "broadcastRows");
      const arena = new Float32Array(ns + nb + 10).fill(NaN);
      arena.set(xs.arr.subarray(xs.off, xs.off + ns), 1);
      nn.broadcastRows(arena, 1, arena, ns + 4, rows, width);
      expect([...arena.subarray(ns + 4, ns + 4 + nb)]).toEqual([...wantB.data]);
      expect([arena[0], ...arena.subarray(ns + 1, ns + 4), ...arena.subarray(ns + 4 + nb)].every(Number.isNaN)).toBe(true);
      const wantS = run("sum_to", [tensorOf(big, xb.arr, xb.off)], { shape: small }, small);
      const outS = placed(ns, () => NaN);
      nn.sumColumns(null, xb.arr, xb.off, outS.arr, outS.off, rows, width);
      expectClose(outS.arr, outS.off, wantS.data, "sumColumns");
      expectUntouchedOutside(outS.arr, outS.off, ns, "sumColumns");
      // The same sums, in the same order, as sumTo's.
      const viaTable = placed(ns, () => NaN);
      nn.sumTo(xb.arr, xb.off, viaTable.arr, viaTable.off, nn.sumToTable(small, big));
      expect([...outS.arr]).toEqual([...viaTable.arr]);
    });
  }

  it("batchMean and batchVar: each column's mean and variance (biased and unbiased) in float64, for widths with and without a remainder of 4", () => {
    for (const [rows, width] of [[7, 1], [5, 4], [9, 6], [3, 11], [1, 5]] as const) {
      const r = seededRandom(rows * 13 + width);
      const x = placed(rows * width, uniformIn(r, -2, 3));
      const col = (j: number) => Array.from({ length: rows }, (_, k) => x.arr[x.off + k * width + j]!);
      const mean = placed(width, () => NaN);
      norm.batchMean(null, x.arr, x.off, rows, width, mean.arr, mean.off);
      expectClose(mean.arr, mean.off, Array.from({ length: width }, (_, j) => col(j).reduce((a, b) => a + b, 0) / rows), `batchMean ${rows}x${width}`);
      expectUntouchedOutside(mean.arr, mean.off, width, "batchMean");
      for (const unbiased of [false, true]) {
        const v = placed(width, () => NaN);
        norm.batchVar(null, x.arr, x.off, rows, width, unbiased, v.arr, v.off);
        const want = Array.from({ length: width }, (_, j) => {
          const m = col(j).reduce((a, b) => a + b, 0) / rows;
          return col(j).reduce((a, b) => a + (b - m) ** 2, 0) / (unbiased ? Math.max(rows, 2) - 1 : rows);
        });
        expectClose(v.arr, v.off, want, `batchVar ${rows}x${width} unbiased ${unbiased}`);
        expectUntouchedOutside(v.arr, v.off, width, "batchVar");
      }
    }
  });

  it("tables: one (dim, big stride, small stride) triple per loop level, padded with (1, 0, 0)", () => {
    expect([...nn.broadcastTable([3], [4, 3])]).toEqual([1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 4, 3, 0, 3, 1, 1]);
    // sumTo's order: the kept axis (3) outside the summed one (4).
    expect([...nn.sumToTable([3], [4, 3])]).toEqual([1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 3, 1, 1, 4, 3, 0]);
    expect(() => nn.broadcastTable([2], [3])).toThrow(/cannot broadcast/);
    expect(() => nn.broadcastTable([1], [1, 1, 1, 1, 1, 1, 1])).toThrow(/at most 6/);
  });
});

describe("transpose, pooling, embed, one_hot, dropout", () => {
  it("transposeLast2 matches transpose", () => {
    for (const [batch, rows, cols] of [
      [1, 5, 7],
      [3, 17, 33],
      [2, 1, 1],
      [1, 40, 3],
    ] as const) {
      const r = seededRandom(rows * cols);
      const n = batch * rows * cols;
      const x = placed(n, uniformIn(r, -1, 1));
      const want = run("transpose", [tensorOf([batch, rows, cols], x.arr, x.off)], {});
      const out = placed(n, () => NaN);
      nn.transposeLast2(x.arr, x.off, out.arr, out.off, batch, rows, cols);
      expect([...out.arr.subarray(out.off, out.off + n)]).toEqual([...want.data]);
      expectUntouchedOutside(out.arr, out.off, n, "transposeLast2");
    }
  });

  for (const [shape, s] of [
    [[2, 6, 6, 3], 2],
    [[1, 7, 5, 2], 2],
    [[2, 9, 9, 4], 3],
    [[1, 4, 4, 1], 4],
  ] as [number[], number][]) {
    it(`maxpool2d and its gradient match on [${shape.join(", ")}], size ${s}`, () => {
      const r = seededRandom(size(shape) * s);
      const [b, h, w, c] = shape as [number, number, number, number];
      const n = size(shape);
      // Few distinct values: ties, where the first maximum must win.
      const x = placed(n, () => Math.floor(r() * 4));
      const X = tensorOf(shape, x.arr, x.off);
      const want = run("maxpool2d", [X], { size: s });
      const m = size(want.shape);
      const out = placed(m, () => NaN);
      nn.maxpool2d(x.arr, x.off, out.arr, out.off, b, h, w, c, s);
      expect([...out.arr.subarray(out.off, out.off + m)]).toEqual([...want.data]);
      expectUntouchedOutside(out.arr, out.off, m, "maxpool2d");
      const g = placed(m, uniformIn(r, -1, 1));
      const wantDx = run("maxpool2d_grad", [X, tensorOf(want.shape, g.arr, g.off)], { size: s });
      const dx = placed(n, () => NaN);
      nn.maxpool2dGrad(x.arr, x.off, g.arr, g.off, dx.arr, dx.off, b, h, w, c, s);
      expect([...dx.arr.subarray(dx.off, dx.off + n)]).toEqual([...wantDx.data]);
      expectUntouchedOutside(dx.arr, dx.off, n, "maxpool2dGrad");
    });
  }

  // Windows of 2 and 3 with rows and columns left over; channels a multiple of 4, not, and 1; the global window.
  for (const [shape, ph, pw] of [
    [[2, 6, 6, 8], 2, 2],
    [[1, 7, 5, 6], 2, 2],
    [[2, 9, 8, 3], 3, 3],
    [[1, 4, 4, 1], 2, 2],
    [[2, 5, 3, 5], 5, 3],
  ] as [number[], number, number][]) {
    it(`avgpool2d and its gradient match on [${shape.join(", ")}], window ${ph}×${pw}`, () => {
      const r = seededRandom(size(shape) * ph + pw);
      const [b, h, w, c] = shape as [number, number, number, number];
      const n = size(shape);
      const x = placed(n, uniformIn(r, -1, 1));
      const X = tensorOf(shape, x.arr, x.off);
      const global = ph === h && pw === w;
      const want = global ? run("global_avgpool", [X], {}) : run("avgpool2d", [X], { size: ph });
      const m = size(want.shape);
      const out = placed(m, () => NaN);
      norm.avgpool2d(null, x.arr, x.off, out.arr, out.off, b, h, w, c, ph, pw);
      expectClose(out.arr, out.off, want.data, "avgpool2d");
      expectUntouchedOutside(out.arr, out.off, m, "avgpool2d");
      const g = placed(m, uniformIn(r, -1, 1));
      const wantDx = run("avgpool2d_grad", [tensorOf(want.shape, g.arr, g.off)], { size: global ? null : ph, inputShape: shape }, shape);
      const dx = placed(n, () => NaN);
      norm.avgpool2dGrad(null, g.arr, g.off, dx.arr, dx.off, b, h, w, c, ph, pw);
      expectClose(dx.arr, dx.off, wantDx.data, "avgpool2dGrad");
      expectUntouchedOutside(dx.arr, dx.off, n, "avgpool2dGrad");
    });
  }

  it("embed and embed_grad match, with repeated ids", () => {
    const r = seededRandom(5);
    const [vocab, width] = [10, 6];
    const idShape = [3, 4];
    const count = size(idShape);
    const idsArr = new Int32Array(count + 3).fill(-99);
    for (let i = 0; i < count; i++) idsArr[2 + i] = i % 4 === 0 ? 7 : Math.floor(r() * vocab);
    const ids = tensorOf(idShape, idsArr, 2);
    const tbl = placed(vocab * width, uniformIn(r, -1, 1));
    const want = run("embed", [ids, tensorOf([vocab, width], tbl.arr, tbl.off)], {});
    const out = placed(count * width, () => NaN);
    nn.embed(idsArr, 2, count, tbl.arr, tbl.off, vocab, width, out.arr, out.off);
    expect([...out.arr.subarray(out.off, out.off + count * width)]).toEqual([...want.data]);
    expectUntouchedOutside(out.arr, out.off, count * width, "embed");
    const g = placed(count * width, uniformIn(r, -1, 1));
    const wantD = run("embed_grad", [ids, tensorOf([...idShape, width], g.arr, g.off)], { tableShape: [vocab, width] }, [vocab, width]);
    const d = placed(vocab * width, () => NaN);
    nn.embedGrad(idsArr, 2, count, g.arr, g.off, vocab, width, d.arr, d.off);
    expectClose(d.arr, d.off, wantD.data, "embed_grad");
    expectUntouchedOutside(d.arr, d.off, vocab * width, "embedGrad");
    idsArr[5] = vocab;
    expect(() => nn.embed(idsArr, 2, count, tbl.arr, tbl.off, vocab, width, out.arr, out.off)).toThrow(/out of range/);
  });

  it("oneHot matches one_hot", () => {
    const ids = Int32Array.from([3, 0, 4, 4, 1]);
    const want = run("one_hot", [tensorOf([5], ids, 0)], { n: 5 });
    const out = placed(25, () => NaN);
    nn.oneHot(ids, 0, 5, 5, out.arr, out.off);
    expect([...out.arr.subarray(out.off, out.off + 25)]).toEqual([...want.data]);
    expectUntouchedOutside(out.arr, out.off, 25, "oneHot");
    expect(() => nn.oneHot(Int32Array.of(5), 0, 1, 5, out.arr, out.off)).toThrow(/out of range/);
  });

  it("dropoutMask equals dropout_mask bit for bit (after rounding to float32)", () => {
    for (const [p, stream, seed, step, n] of [
      [0.5, 0, 1, 0, 1000],
      [0.3, 2, 12345, 7, 999],
      [0, 1, 3, 1, 50],
      [0.9, 5, 0xffffffff, 123456, 777],
    ] as const) {
      const want = run("dropout_mask", [tensorOf([n], new Float64Array(n), 0)], { p, stream }, [], { seed, step, training: true });
      const out = placed(n, () => NaN);
      nn.dropoutMask(out.arr, out.off, n, p, seed, stream, step);
      expect([...out.arr.subarray(out.off, out.off + n)]).toEqual([...want.data].map(Math.fround));
      expectUntouchedOutside(out.arr, out.off, n, "dropoutMask");
    }
  });
});

describe("the runtime's rng", () => {
  it("draws uniform01 again as dropoutKey + uniformAt", () => {
    const r = seededRandom(77);
    const int = () => Math.floor(r() * 2 ** 32) - (r() < 0.2 ? 2 ** 31 : 0);
    for (let i = 0; i < 20000; i++) {
      const x = int();
      expect(rtRng.hash32(x)).toBe(rtRng.hash32(x >>> 0));
      const [seed, stream, step, index] = [int(), int(), Math.floor(r() * 1e6), Math.floor(r() * 1e7)];
      expect(rtRng.uniform01(seed, stream, step, index)).toBe(rtRng.uniform01(seed, stream, step, index));
      expect(rtRng.uniformAt(rtRng.dropoutKey(seed, stream, step), index)).toBe(rtRng.uniform01(seed, stream, step, index));
    }
  });
});

// ------------------------------------------------------------------ losses

describe("losses", () => {
  const rowsWidth: [number[], number][] = [
    [[8, 5], 1],
    [[3, 4, 6], 2],
    [[7], 3],
  ];
  for (const [shape, seed] of rowsWidth) {
    it(`match the interpreter on [${shape.join(", ")}]`, () => {
      const r = seededRandom(seed);
      const n = size(shape);
      const width = shape[shape.length - 1]!;
      const rows = n / width;
      const at = (arr: Float32Array, off: number) => tensorOf(shape, arr, off);
      // Logits, probabilities (a softmax of them), soft and one-hot targets, binary targets.
      const z = placed(n, uniformIn(r, -3, 3));
      const probs = placed(n, () => 0);
      nn.softmax(z.arr, z.off, probs.arr, probs.off, rows, width, 1);
      const soft = placed(n, () => 0);
      const raw = Array.from({ length: n }, () => (r() < 0.3 ? 0 : r()));
      for (let q = 0; q < rows; q++) {
        raw[q * width + (q % width)] += 0.5;
        // Normalised in float32 to sum to 1 within the interpreter's check.
        let s = 0;
        for (let j = 0; j < width; j++) s += raw[q * width + j]!;
        for (let j = 0; j < width; j++) soft.arr[soft.off + q * width + j] = raw[q * width + j]! / s;
      }
      const hot = placed(n, (i) => (i % width === Math.floor(i / width) % width ? 1 : 0));
      const bin = placed(n, () => Math.round(r() * 4) / 4);
      const p01 = placed(n, uniformIn(r, 0.02, 0.98));
      const close = (got: number, want: number, what: string) => expect(Math.abs(got - want), what).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(want)));
      close(loss.mse(z.arr, z.off, p01.arr, p01.off, n), run("mse", [at(z.arr, z.off), at(p01.arr, p01.off)], {}).data[0]!, "mse");
      close(loss.crossEntropy(probs.arr, probs.off, soft.arr, soft.off, rows, width), run("cross_entropy", [at(probs.arr, probs.off), at(soft.arr, soft.off)], {}).data[0]!, "cross_entropy");
      close(loss.crossEntropy(probs.arr, probs.off, hot.arr, hot.off, rows, width), run("cross_entropy", [at(probs.arr, probs.off), at(hot.arr, hot.off)], {}).data[0]!, "cross_entropy one-hot");
      close(
        loss.softmaxCrossEntropy(z.arr, z.off, soft.arr, soft.off, rows, width),
        run("softmax_cross_entropy", [at(z.arr, z.off), at(soft.arr, soft.off)], {}).data[0]!,
        "softmax_cross_entropy",
      );
      close(loss.binaryCrossEntropy(p01.arr, p01.off, bin.arr, bin.off, n), run("binary_cross_entropy", [at(p01.arr, p01.off), at(bin.arr, bin.off)], {}).data[0]!, "binary_cross_entropy");
      close(
        loss.sigmoidBinaryCrossEntropy(z.arr, z.off, bin.arr, bin.off, n),
        run("sigmoid_binary_cross_entropy", [at(z.arr, z.off), at(bin.arr, bin.off)], {}).data[0]!,
        "sigmoid_binary_cross_entropy",
      );
      close(loss.hinge(z.arr, z.off, hot.arr, hot.off, rows, width), run("hinge", [at(z.arr, z.off), at(hot.arr, hot.off)], {}).data[0]!, "hinge");
      close(loss.accuracy(z.arr, z.off, hot.arr, hot.off, rows, width), run("accuracy", [at(z.arr, z.off), at(hot.arr, hot.off)], {}).data[0]!, "accuracy");
      // Scores with ties: the first maximum is the prediction.
      const tied = placed(n, () => Math.floor(r() * 2));
      close(loss.accuracy(tied.arr, tied.off, hot.arr, hot.off, rows, width), run("accuracy", [at(tied.arr, tied.off), at(hot.arr, hot.off)], {}).data[0]!, "accuracy with ties");
      close(loss.sumsq(z.arr, z.off, n), run("sumsq", [at(z.arr, z.off)], {}).data[0]!, "sumsq");
      close(loss.sumabs(z.arr, z.off, n), run("sumabs", [at(z.arr, z.off)], {}).data[0]!, "sumabs");
    });
  }

  it("cross-entropy takes 0·log 0 as 0 and softmax cross-entropy survives huge logits", () => {
    const p = Float32Array.of(0, 1, 0);
    const y = Float32Array.of(0, 1, 0);
    expect(loss.crossEntropy(p, 0, y, 0, 1, 3)).toBe(0);
    const z = Float32Array.of(1e30, -1e30, 0);
    expect(loss.softmaxCrossEntropy(z, 0, Float32Array.of(0, 1, 0), 0, 1, 3)).toBe(2 * Math.fround(1e30));
    expect(loss.sigmoidBinaryCrossEntropy(Float32Array.of(1e30, -1e30), 0, Float32Array.of(1, 0), 0, 2)).toBe(0);
  });
});

// ------------------------------------------------------------------ optimizers

describe("optimizers", () => {
  type Setup = {
    name: string;
    state: number;
    f32: (p: Float32Array, g: Float32Array, s: Float32Array[], off: number, n: number, t: number) => void;
    f64: (p: Float64Array, g: Float64Array, s: Float64Array[], off: number, n: number, t: number) => void;
  };
  const lr = 0.05;
  const wd = 0.01;
  const setups: Setup[] = [
    { name: "sgd", state: 0, f32: (p, g, _s, o, n) => optim.sgdStep(p, o, g, o, n, lr, wd), f64: (p, g, _s, o, n) => optim.sgdStep(p, o, g, o, n, lr, wd) },
    { name: "momentum", state: 1, f32: (p, g, s, o, n) => optim.momentumStep(p, o, g, o, s[0]!, o, n, lr, 0.9, wd), f64: (p, g, s, o, n) => optim.momentumStep(p, o, g, o, s[0]!, o, n, lr, 0.9, wd) },
    {
      name: "rmsprop",
      state: 1,
      f32: (p, g, s, o, n) => optim.rmspropStep(p, o, g, o, s[0]!, o, n, lr, 0.9, 1e-7, wd),
      f64: (p, g, s, o, n) => optim.rmspropStep(p, o, g, o, s[0]!, o, n, lr, 0.9, 1e-7, wd),
    },
    {
      name: "adam",
      state: 2,
      f32: (p, g, s, o, n, t) => optim.adamStep(p, o, g, o, s[0]!, o, s[1]!, o, n, lr, 0.9, 0.999, 1e-8, t, wd, false),
      f64: (p, g, s, o, n, t) => optim.adamStep(p, o, g, o, s[0]!, o, s[1]!, o, n, lr, 0.9, 0.999, 1e-8, t, wd, false),
    },
    {
      name: "adamw",
      state: 2,
      f32: (p, g, s, o, n, t) => optim.adamStep(p, o, g, o, s[0]!, o, s[1]!, o, n, lr, 0.9, 0.999, 1e-8, t, wd, true),
      f64: (p, g, s, o, n, t) => optim.adamStep(p, o, g, o, s[0]!, o, s[1]!, o, n, lr, 0.9, 0.999, 1e-8, t, wd, true),
    },
    {
      name: "adagrad",
      state: 1,
      f32: (p, g, s, o, n) => optim.adagradStep(p, o, g, o, s[0]!, o, n, lr, 1e-7, wd),
      f64: (p, g, s, o, n) => optim.adagradStep(p, o, g, o, s[0]!, o, n, lr, 1e-7, wd),
    },
  ];
  for (const s of setups) {
    it(`${s.name}: five steps in float32 track the float64 reference`, () => {
      const r = seededRandom(s.name.length);
      const n = 257;
      const off = 6;
      const p32 = placed(n, uniformIn(r, -1, 1), off, 5).arr;
      const p64 = Float64Array.from(p32);
      const st32 = Array.from({ length: s.state }, () => placed(n, () => 0, off, 5).arr);
      const st64 = st32.map((a) => Float64Array.from(a));
      for (let t = 1; t <= 5; t++) {
        const g32 = placed(n, uniformIn(r, -2, 2), off, 5).arr;
        s.f32(p32, g32, st32, off, n, t);
        s.f64(p64, Float64Array.from(g32), st64, off, n, t);
      }
      expectClose(p32, off, p64.subarray(off, off + n), s.name);
      expectUntouchedOutside(p32, off, n, s.name);
      st32.forEach((a, i) => {
        expectClose(a, off, st64[i]!.subarray(off, off + n), `${s.name} state ${i}`);
        expectUntouchedOutside(a, off, n, `${s.name} state ${i}`);
      });
    });
  }

  it("the first Adam step moves every weight by about lr (the bias correction at t = 1)", () => {
    const p = new Float32Array(4);
    optim.adamStep(p, 0, Float32Array.of(1, -2, 0.5, -1e-3), 0, new Float32Array(4), 0, new Float32Array(4), 0, 4, 0.1, 0.9, 0.999, 1e-8, 1, 0, false);
    expect([...p].map((v) => Math.round(v * 1e4) / 1e4)).toEqual([-0.1, 0.1, -0.1, 0.1]);
  });
});

// ------------------------------------------------------------------ init

describe("initParam", () => {
  const code = (init: Init) => initArguments(init).code;
  const args = (init: Init): [number, number] => [initArguments(init).a, initArguments(init).b];

  it("equals the interpreter's initParams rounded to float32, exactly", () => {
    const text = [
      "model inits",
      "dim batch",
      "input x: [batch, 6, 6, 2]",
      "param K: [3, 3, 2, 5] = he",
      "param A: [5, 7] = uniform(-0.5, 0.25)",
      "param B: [7, 3] = normal(0.1, 2)",
      "param C: [3, 9] = xavier",
      "param D: [9, 3] = he",
      "param E: [3] = zeros",
      "param F: [3] = ones",
      "param G: [3] = normal(-1, 0.5)",
      "h = sum(conv2d(x, K), axis = 1)",
      "l = sum(h, axis = 1) A B C D * F + E + G",
      "output l",
    ].join("\n");
    const g = runFrontEnd("inits.nn", text).shaped;
    if (!g) throw new Error("the test model does not check");
    for (const seed of [0, 1, 42, 0xdeadbeef]) {
      const want = initParams(g, new Map([["batch", 2]]), seed);
      g.params.forEach((p, i) => {
        const node = g.nodes.find((nd) => nd.id === p.node)!;
        if (node.op !== "param") throw new Error("not a param");
        const init = node.attrs.init;
        const t = want.get(p.name)!;
        const out = placed(t.data.length, () => NaN);
        initParam(code(init), ...args(init), t.shape, seed, rtRng.PARAM_STREAM + i, out.arr, out.off);
        expect([...out.arr.subarray(out.off, out.off + t.data.length)], `${p.name} (${init.kind}), seed ${seed}`).toEqual([...t.data].map(Math.fround));
        expectUntouchedOutside(out.arr, out.off, t.data.length, p.name);
      });
    }
  });

  it("equals initTensor on scalars, vectors and odd sizes", () => {
    const inits: Init[] = [{ kind: "he" }, { kind: "xavier" }, { kind: "normal", mean: 3, std: 0.1 }, { kind: "uniform", low: -2, high: 5 }];
    for (const shape of [[], [1], [5], [2, 3, 5], [3, 3, 3, 7]]) {
      for (const init of inits) {
        const want = initTensor(init, shape, 9, rtRng.PARAM_STREAM + 3);
        const out = new Float32Array(want.data.length);
        initParam(code(init), ...args(init), shape, 9, rtRng.PARAM_STREAM + 3, out, 0);
        expect([...out], `${init.kind} [${shape.join(", ")}]`).toEqual([...want.data].map(Math.fround));
      }
    }
  });
});

// ------------------------------------------------------------------ the files themselves

describe("runtime files", () => {
  const dir = join(import.meta.dirname, "..", "src", "backend", "cpu", "runtime");
  const files = readdirSync(dir).filter((f) => f.endsWith(".ts"));

  it("can be concatenated: sibling imports only, declarations only at the top level, no name defined twice", () => {
    const seen = new Map<string, string>();
    for (const f of files) {
      const lines = readFileSync(join(dir, f), "utf8").split("\n");
      expect(lines[0], `${f} starts with a header comment`).toMatch(/^\/\/ /);
      for (const line of lines) {
        if (line.startsWith("import ")) expect(line, `${f}: ${line}`).toMatch(/^import \{ [^}]+ \} from "\.\/[a-z0-9-]+\.ts";$/);
        if (/^(export )?(default|class|let|var)\b/.test(line)) throw new Error(`${f}: top-level "${line}": only functions, interfaces and constants`);
        const decl = /^(?:export )?(?:function|const|interface|type) ([A-Za-z0-9_]+)/.exec(line);
        if (decl) {
          const name = decl[1]!;
          expect(seen.get(name), `${name} is defined in ${seen.get(name)} and ${f}`).toBeUndefined();
          seen.set(name, f);
        }
        // Anything else at column 0 must be a comment, the end of a block or of a parameter list, or blank.
        if (/^[^\s/}*)]/.test(line) && !decl && !line.startsWith("import ") && !line.startsWith("export ")) throw new Error(`${f}: unexpected top-level line "${line}"`);
      }
    }
  });

  it("allocate only in their workspace and table builders (or to report an error)", () => {
    // Builders run once at createModel (as do create*/start* functions, which set up helper threads);
    // checkpoints and params files (functions ending in Params) are saved and loaded, never part of a step.
    const builders = /Workspace$|Table$|^nnTable$|^initParam$|Checkpoint$|Params$|^(create|start)[A-Z]/;
    for (const f of files) {
      let fn = "";
      for (const line of readFileSync(join(dir, f), "utf8").split("\n")) {
        const start = /^(?:export )?function ([A-Za-z0-9_]+)/.exec(line);
        if (start) fn = start[1]!;
        const code = line.replace(/\/\/.*$/, "");
        const allocates = /\bnew [A-Z]\w*\(|\.(subarray|slice|map|filter|concat)\(|Array\.from|\[\.\.\./.test(code) && !/new (Range)?Error\(/.test(code);
        if (allocates && !builders.test(fn)) throw new Error(`${f}: ${fn} allocates: ${line.trim()}`);
      }
    }
  });
});
