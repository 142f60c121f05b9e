// The WebAssembly SIMD elementwise kernels of src/backend/cpu/runtime/vector.wat:
// the checked-in module is vector.wat assembled; exp, log and tanh are within
// their documented error of float64 over dense sweeps (and their special
// values are JavaScript's); every other op gives the float32 result of its
// JavaScript formula exactly; dropout's draw gives runtime/rng.ts's bits;
// no kernel writes past its n elements, whatever n mod 8 is; and the emitted
// module runs the fused loops it can on them (and keeps the others JavaScript).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { emitCpuModule } from "../src/backend/cpu/emit-module.ts";
import { runGrad } from "../src/pipeline.ts";
import { assembleVector, generateVectorWasmSource, VECTOR_WASM_TS_PATH } from "../scripts/build-wasm.ts";
import { dropoutKey, uniformAt } from "../src/backend/cpu/runtime/rng.ts";
import { sumColumns } from "../src/backend/cpu/runtime/broadcast.ts";
import { avgpool2d, avgpool2dGrad, batchMean, batchVar } from "../src/backend/cpu/runtime/norm.ts";
import { convOutSize, convPadBefore, convPatches } from "../src/backend/cpu/runtime/conv.ts";
import { createVectorInstance, createVectorKernels, LANES, SPLAT, VECTOR_REGISTERS, V_ABS, V_ADD, V_COPY, V_DIV, V_EQ, V_EXP, V_GE, V_GT, V_LOG, V_MAX, V_MIN, V_MUL, V_NEG, V_SIGN, V_SQRT, V_SUB, V_TANH, VECTOR_SCRATCH_FLOATS, type VectorKernels } from "../src/backend/cpu/runtime/vector.ts";
import { VECTOR_WASM_BASE64, VECTOR_WASM_SHARED_BASE64 } from "../src/backend/cpu/runtime/vector-wasm.ts";
import { createKernelMemory } from "../src/backend/cpu/runtime/wasm.ts";
import { rendered, seededRandom } from "./helpers.ts";

/** Floats of arena: x at 0, y at N, the output at 2N, a guard after it. */
const N = 1 << 18;

function setup(): { vec: VectorKernels; f32: Float32Array; u32: Uint32Array } {
  const memory = createKernelMemory(3 * N + 64, 0, 1, true, VECTOR_SCRATCH_FLOATS);
  const vec = createVectorKernels(memory, [0.5, -3]);
  if (vec === null) throw new Error(`no WebAssembly SIMD here: ${memory.note}`);
  return { vec, f32: memory.arena, u32: new Uint32Array(memory.arena.buffer, 0, memory.arena.length) };
}

const X = 0;
const Y = 4 * N;
const OUT = 8 * N;

/** Runs one unary op over xs (at most N values) and returns the results. */
function unary(k: ReturnType<typeof setup>, op: number, xs: Float32Array): Float32Array {
  k.f32.set(xs, 0);
  k.vec.unary(op, OUT, X, LANES, xs.length);
  return k.f32.slice(2 * N, 2 * N + xs.length);
}

/** n values from lo to hi, evenly spaced, as float32. */
function sweep(lo: number, hi: number, n: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => lo + ((hi - lo) * i) / (n - 1));
}

/** The largest relative error of got against the float64 function of each (float32) input, and the largest absolute one. */
function errors(xs: Float32Array, got: Float32Array, exact: (x: number) => number): { rel: number; abs: number } {
  let rel = 0;
  let abs = 0;
  for (let i = 0; i < xs.length; i++) {
    const want = exact(xs[i]!);
    const d = Math.abs(got[i]! - want);
    abs = Math.max(abs, d);
    if (want !== 0) rel = Math.max(rel, d / Math.abs(want));
  }
  return { rel, abs };
}

describe("vector.wat, assembled", () => {
  it("vector-wasm.ts is vector.wat assembled (run npm run build:wasm after editing vector.wat)", async () => {
    expect(Buffer.from(VECTOR_WASM_BASE64, "base64")).toEqual(Buffer.from(await assembleVector(false)));
    expect(Buffer.from(VECTOR_WASM_SHARED_BASE64, "base64")).toEqual(Buffer.from(await assembleVector(true)));
    expect(readFileSync(VECTOR_WASM_TS_PATH, "utf8")).toBe(await generateVectorWasmSource());
  });

  it("stays small: compiled synchronously where createModel runs (Chromium allows up to 8 MB on a page's main thread since version 114, 4 KB before)", () => {
    expect(Buffer.from(VECTOR_WASM_BASE64, "base64").length).toBeLessThan(16 * 1024);
  });
});

describe("vector.wat's exp, log and tanh against float64", () => {
  const k = setup();

  it("exp: relative error below 3e-7 on [-87, 88]; within 2e-38 below; ∞, 0 and NaN as Math.exp", () => {
    const xs = sweep(-87, 88, N);
    expect(errors(xs, unary(k, V_EXP, xs), Math.exp).rel).toBeLessThan(3e-7);
    const small = sweep(-120, -87, 4096);
    expect(errors(small, unary(k, V_EXP, small), Math.exp).abs).toBeLessThan(2e-38);
    const special = Float32Array.of(0, -0, 89, 1000, Infinity, -Infinity, NaN, -200);
    expect([...unary(k, V_EXP, special)]).toEqual([1, 1, Infinity, Infinity, Infinity, 0, NaN, 0]);
  });

  it("log: relative error below 3e-7 on normal numbers, 5e-7 on denormals; 0, negatives, ∞ and NaN as Math.log", () => {
    // Mantissas densely, over many binades (where log is near 0, the error is relative to a small value: x near 1 is the hard case).
    const xs = Float32Array.from({ length: N }, (_, i) => 2 ** (((i % 64) - 32) * 4) * (0.5 + (Math.floor(i / 64) + 0.5) / (N / 64)));
    expect(errors(xs, unary(k, V_LOG, xs), Math.log).rel).toBeLessThan(3e-7);
    const near1 = sweep(0.9, 1.1, N);
    expect(errors(near1, unary(k, V_LOG, near1), Math.log).rel).toBeLessThan(3e-7);
    const denormal = sweep(1e-45, 1e-38, 4096);
    expect(errors(denormal, unary(k, V_LOG, denormal), Math.log).rel).toBeLessThan(5e-7);
    const special = Float32Array.of(0, -0, -1, Infinity, -Infinity, NaN, 1);
    expect([...unary(k, V_LOG, special)]).toEqual([-Infinity, -Infinity, NaN, Infinity, NaN, NaN, 0]);
  });

  it("tanh: absolute error below 3e-7 on [-12, 12], relative below 4e-7 where |tanh| ≥ 1e-30; ±0, ±∞, NaN as Math.tanh", () => {
    const xs = sweep(-12, 12, N);
    const got = unary(k, V_TANH, xs);
    expect(errors(xs, got, Math.tanh).abs).toBeLessThan(3e-7);
    expect(errors(xs, got, Math.tanh).rel).toBeLessThan(4e-7);
    const tiny = Float32Array.from({ length: 4096 }, (_, i) => (i % 2 === 0 ? 1 : -1) * 2 ** (-100 + (i * 99) / 4096));
    expect(errors(tiny, unary(k, V_TANH, tiny), Math.tanh).rel).toBeLessThan(4e-7);
    const special = Float32Array.of(0, -0, Infinity, -Infinity, NaN, 100, -100);
    const out = unary(k, V_TANH, special);
    expect([...out]).toEqual([0, -0, 1, -1, NaN, 1, -1]);
    expect(Object.is(out[1], -0)).toBe(true);
  });

  it("tanh over consecutive floats (its own loop, two vectors a pass, $tanh written out) gives $tanh's bits, tails of 1–7 included", () => {
    const xs = Float32Array.from({ length: 4099 }, (_, i) => (i % 2 === 0 ? 1 : -1) * 2 ** (-30 + (i * 37) / 4099));
    // $tanh's bits for each x: a stride of 0 reads one float for every lane, the generic loop.
    const want = xs.map((x) => {
      k.f32[0] = x;
      k.vec.unary(V_TANH, OUT, X, 0, 1);
      return k.f32[2 * N]!;
    });
    for (const n of [1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 15, 16, 17, 4099]) {
      const run = unary(k, V_TANH, xs.subarray(0, n));
      for (let i = 0; i < n; i++) expect(Object.is(want[i], run[i]), `tanh(${xs[i]}) of ${n}`).toBe(true);
    }
  });
});

describe("vector.wat's other ops give float32 of the JavaScript formula", () => {
  const k = setup();
  const r = seededRandom(7);
  const specials = [0, -0, 1, -1, 2.5, -2.5, Infinity, -Infinity, NaN, 1e-40, 3e38];
  const values = (n: number) => Float32Array.from({ length: n }, (_, i) => (i < specials.length * 3 && i % 3 === 0 ? specials[i / 3]! : (r() - 0.5) * 10));
  const f = (x: number) => Math.fround(x);
  /** Bits of float32, with every NaN the same (the kernels may give any NaN). */
  const bits = (xs: ArrayLike<number>) => Array.from(xs, (x) => (Number.isNaN(x) ? "NaN" : Object.is(x, -0) ? "-0" : String(f(x))));

  it("unary: copy, neg, sqrt, abs, sign", () => {
    const xs = values(1001);
    const cases: [number, (x: number) => number][] = [[V_COPY, (x) => x], [V_NEG, (x) => -x], [V_SQRT, Math.sqrt], [V_ABS, Math.abs], [V_SIGN, Math.sign]];
    for (const [op, js] of cases) expect(bits(unary(k, op, xs))).toEqual(bits(Array.from(xs, js)));
  });

  it("binary: arithmetic, max, min and comparisons, with strided and splat operands either side, whole vectors (add, sub, mul, div and max have loops of their own) or not", () => {
    for (const n of [1003, 1004, 4]) {
      const a = values(n);
      const b = values(n).reverse();
      k.f32.set(a, 0);
      k.f32.set(b, N);
      const arith: [number, (x: number, y: number) => number][] = [
        [V_ADD, (x, y) => x + y], [V_SUB, (x, y) => x - y], [V_MUL, (x, y) => x * y], [V_DIV, (x, y) => x / y], [V_MAX, Math.max], [V_MIN, Math.min],
      ];
      for (const [op, js] of arith) {
        k.vec.binary(op, OUT, X, LANES, Y, LANES, n);
        expect(bits(k.f32.slice(2 * N, 2 * N + n))).toEqual(bits(Array.from(a, (x, i) => js(x, b[i]!))));
        // b's first value for every element.
        k.vec.binary(op, OUT, X, LANES, Y, SPLAT, n);
        expect(bits(k.f32.slice(2 * N, 2 * N + n))).toEqual(bits(Array.from(a, (x) => js(x, b[0]!))));
        // a's first value for every element (the whole-vector loops take b's lanes then).
        for (const first of [0, 3, 8].filter((f) => f < n)) {
          k.vec.binary(op, OUT, X + 4 * first, SPLAT, Y, LANES, n);
          expect(bits(k.f32.slice(2 * N, 2 * N + n)), `op ${op}, a = ${a[first]}`).toEqual(bits(Array.from(b, (y) => js(a[first]!, y))));
        }
      }
      const compare: [number, (x: number, y: number) => boolean][] = [[V_GT, (x, y) => x > y], [V_GE, (x, y) => x >= y], [V_EQ, (x, y) => x === y]];
      for (const [op, js] of compare) {
        k.vec.binary(op, OUT, X, LANES, Y, LANES, n);
        expect(Array.from(k.u32.slice(2 * N, 2 * N + n))).toEqual(Array.from(a, (x, i) => (js(x, b[i]!) ? 0xffffffff : 0)));
        k.vec.binary(op, OUT, X, SPLAT, Y, LANES, n);
        expect(Array.from(k.u32.slice(2 * N, 2 * N + n))).toEqual(Array.from(b, (y) => (js(a[0]!, y) ? 0xffffffff : 0)));
      }
    }
  });

  it("select and keep: dropout's mask, bit for bit the draws of runtime/rng.ts", () => {
    const n = 4097;
    const key = dropoutKey(12345, 0x20003, 17);
    const index = 1000;
    const threshold = Math.ceil(0.3 * 16777216);
    k.vec.keep(OUT, key, index, threshold, n);
    expect(Array.from(k.u32.slice(2 * N, 2 * N + n))).toEqual(Array.from({ length: n }, (_, j) => (uniformAt(key, index + j) >= 0.3 ? 0xffffffff : 0)));
    const xs = values(n);
    k.f32.set(xs, 0);
    k.vec.select(Y, OUT, X, LANES, k.vec.consts + 4, SPLAT, n);
    expect(bits(k.f32.slice(N, N + n))).toEqual(bits(Array.from(xs, (x, j) => (uniformAt(key, index + j) >= 0.3 ? x : -3))));
  });

  it("tile: the period repeated over n floats, nothing past them", () => {
    const period = 12;
    const xs = values(period);
    k.f32.set(xs, 0);
    k.f32.fill(7, 2 * N, 2 * N + 64);
    k.vec.tile(OUT, X, period, 48);
    expect(bits(k.f32.slice(2 * N, 2 * N + 48))).toEqual(bits(Array.from({ length: 48 }, (_, j) => xs[j % period]!)));
    expect(Array.from(k.f32.slice(2 * N + 48, 2 * N + 64))).toEqual(Array(16).fill(7));
  });

  it("writes exactly n floats, for every n mod 8 (tanh takes two vectors a pass)", () => {
    for (let n = 0; n <= 17; n++) {
      k.f32.fill(7, 2 * N, 2 * N + 24);
      k.f32.fill(0.25, 0, 24);
      k.vec.unary(V_TANH, OUT, X, LANES, n);
      k.vec.binary(V_ADD, OUT, OUT, LANES, k.vec.consts, SPLAT, n);
      k.vec.binary(V_MUL, OUT, OUT, LANES, OUT, LANES, n); // whole vectors: the loop of its own
      const sum = f(f(Math.tanh(0.25)) + 0.5);
      const want = Array.from({ length: 24 }, (_, i) => (i < n ? f(sum * sum) : 7));
      const got = Array.from(k.f32.slice(2 * N, 2 * N + 24));
      expect(got.map((g, i) => (i < n ? Math.abs(g - want[i]!) < 1e-7 : g === 7))).toEqual(Array(24).fill(true));
    }
  });
});

describe("vector.wat's columns: per-channel sums and statistics", () => {
  const k = setup();
  /** The bit patterns of floats (NaN's included). */
  const bits = (xs: Float32Array) => Array.from(new Uint32Array(xs.slice().buffer));
  it("sumColumns, batchMean and batchVar give the JavaScript path's bits on the kernels (groups of 8 columns there, the rest in JavaScript)", () => {
    const r = seededRandom(11);
    for (const [rows, width] of [[1, 8], [5, 16], [100, 19], [7, 3], [33, 32], [0, 8]] as const) {
      const xOff = 37; // an odd float offset: rows start anywhere in the arena
      const outOff = N + 5;
      for (let i = 0; i < rows * width; i++) k.f32[xOff + i] = (r() - 0.3) * 4;
      const x = k.f32.slice(xOff, xOff + rows * width);
      const js = new Float32Array(width);
      const check = (what: string, onWasm: () => void, inJs: () => void) => {
        k.f32.fill(7, outOff - 4, outOff + width + 4);
        onWasm();
        inJs();
        expect(bits(k.f32.slice(outOff, outOff + width)), `${what} ${rows}x${width}`).toEqual(bits(js));
        expect(Array.from(k.f32.slice(outOff - 4, outOff)).concat(Array.from(k.f32.slice(outOff + width, outOff + width + 4)))).toEqual(Array(8).fill(7));
      };
      check("sumColumns", () => sumColumns(k.vec, k.f32, xOff, k.f32, outOff, rows, width), () => sumColumns(null, x, 0, js, 0, rows, width));
      check("batchMean", () => batchMean(k.vec, k.f32, xOff, rows, width, k.f32, outOff), () => batchMean(null, x, 0, rows, width, js, 0));
      for (const unbiased of [false, true]) {
        check(`batchVar unbiased ${unbiased}`, () => batchVar(k.vec, k.f32, xOff, rows, width, unbiased, k.f32, outOff), () => batchVar(null, x, 0, rows, width, unbiased, js, 0));
      }
    }
  });
});

describe("vector.wat's patches: convPatches of runtime/conv.ts bit for bit", () => {
  type Patches = (img: number, h: number, w: number, c: number, kh: number, kw: number, oh: number, ow: number, stride: number, padTop: number, padLeft: number, r0: number, rows: number, col: number, adjoint: number) => void;
  // [h, w, kh, kw, stride, same]: padding on every side or none, strides 1-3,
  // a kernel wider than the image (tap rows with no tap inside), 1×1 taps.
  const shapes: [number, number, number, number, number, boolean][] = [
    [6, 5, 3, 3, 1, true], [6, 5, 3, 3, 1, false], [7, 7, 3, 3, 2, true], [5, 4, 2, 3, 3, true],
    [3, 2, 5, 5, 1, true], [4, 5, 1, 1, 2, false], [5, 6, 3, 1, 1, true], [6, 6, 4, 2, 2, true],
  ];
  // Channels: runs of 1-3 floats, whole vectors, and both.
  const channels = [1, 2, 3, 4, 5, 7, 8, 16, 17];
  const b = 2;
  const imgFloats = b * 7 * 7 * 17;
  // Room for 9 rows of the largest patch (5×5 taps of 17 channels) and a guard after them.
  const colFloats = 9 * 25 * 17 + 32;
  const memory = createKernelMemory(imgFloats + 16, colFloats, 1, true);
  const patches = createVectorInstance(memory)?.["patches"] as Patches | undefined;
  /** The first index where got and want differ in their bits, or -1. */
  const firstDifference = (got: Float32Array, want: Float32Array): number => {
    const [g, v] = [new Uint32Array(got.buffer, got.byteOffset, got.length), new Uint32Array(want.buffer, want.byteOffset, want.length)];
    for (let i = 0; i < g.length; i++) if (g[i] !== v[i]) return i;
    return -1;
  };

  for (const [h, w, kh, kw, stride, same] of shapes) {
    it(`${h}×${w}, kernel ${kh}×${kw}, stride ${stride}, ${same ? "same" : "valid"}: im2col and col2im for ${channels.join(", ")} channels, in chunks of 1 to 9 rows, nothing written outside`, () => {
      expect(patches, memory.note ?? "").toBeDefined();
      const r = seededRandom(h * 31 + kh * 7 + stride);
      const [oh, ow] = [convOutSize(h, kh, stride, same), convOutSize(w, kw, stride, same)];
      const [padTop, padLeft] = [convPadBefore(h, kh, stride, same), convPadBefore(w, kw, stride, same)];
      for (const c of channels) {
        const pixels = b * oh * ow;
        const patch = kh * kw * c;
        // The image 8 floats into the arena; the arena's end and the column buffer's rest are guards.
        const imgOff = 8;
        for (const adjoint of [false, true]) {
          for (let i = 0; i < memory.arena.length; i++) memory.arena[i] = r() * 2 - 1;
          const img = memory.arena.slice();
          for (let r0 = 0, chunk = 1; r0 < pixels; r0 += chunk, chunk = (chunk % 9) + 1) {
            const rows = Math.min(chunk, pixels - r0);
            for (let i = 0; i < colFloats; i++) memory.col[i] = r() * 2 - 1;
            const col = memory.col.slice();
            patches!(memory.arena.byteOffset + 4 * imgOff, h, w, c, kh, kw, oh, ow, stride, padTop, padLeft, r0, rows, memory.col.byteOffset, adjoint ? 1 : 0);
            convPatches(img, imgOff, h, w, c, kh, kw, oh, ow, stride, padTop, padLeft, r0, rows, col, adjoint);
            expect(firstDifference(memory.col, col), `c ${c}, rows ${r0}…${r0 + rows - 1}, adjoint ${adjoint}: col`).toBe(-1);
            expect(firstDifference(memory.arena, img), `c ${c}, rows ${r0}…${r0 + rows - 1}, adjoint ${adjoint}: image`).toBe(-1);
          }
          expect(patch * 9).toBeLessThan(colFloats);
        }
      }
    });
  }
});

describe("vector.wat's pool: avgpool2d and avgpool2dGrad of runtime/norm.ts bit for bit", () => {
  const k = setup();
  // The kernels with their calls of pool counted: the runtime function must take the WebAssembly path.
  let calls = 0;
  const vec = { ...k.vec, pool: (...args: Parameters<VectorKernels["pool"]>) => (calls++, k.vec.pool(...args)) };
  // [b, h, w, ph, pw]: windows of 2×2 and 3×3 with rows and columns left over, 1×1, 2×3, the whole image (global_avgpool).
  const shapes: [number, number, number, number, number][] = [[2, 4, 4, 2, 2], [3, 5, 7, 2, 2], [2, 7, 8, 3, 3], [2, 3, 3, 1, 1], [2, 6, 7, 2, 3], [3, 7, 7, 7, 7]];
  const channels = [1, 2, 3, 4, 5, 6, 7, 9, 16, 32];
  it("global pooling of an image of height 0 stays in JavaScript (pool divides by the window's sides) and writes nothing", () => {
    k.f32.fill(0.5, 0, 64);
    expect(() => avgpool2d(vec, k.f32, 0, k.f32, 32, 2, 0, 3, 4, 0, 3)).not.toThrow();
    expect(() => avgpool2dGrad(vec, k.f32, 32, k.f32, 0, 2, 0, 3, 4, 0, 3)).not.toThrow();
    expect(Array.from(k.f32.subarray(0, 64)).every((v) => v === 0.5)).toBe(true);
  });
  for (const [b, h, w, ph, pw] of shapes) {
    it(`[${b}, ${h}, ${w}, c], window ${ph}×${pw}, for ${channels.join(", ")} channels: forward and gradient, nothing written outside`, () => {
      const r = seededRandom(h * 13 + w * 3 + ph);
      const [oh, ow] = [Math.floor(h / ph), Math.floor(w / pw)];
      for (const c of channels) {
        for (const grad of [false, true]) {
          const [inFloats, outFloats] = grad ? [b * oh * ow * c, b * h * w * c] : [b * h * w * c, b * oh * ow * c];
          // In at X, out at Y; every float around them random, so a stray write shows.
          for (let i = 0; i < 2 * N; i++) k.f32[i] = r() * 2 - 1;
          const want = k.f32.slice(0, 2 * N);
          const inAt = 3;
          const outAt = N + 5;
          const before = calls;
          (grad ? avgpool2dGrad : avgpool2d)(vec, k.f32, inAt, k.f32, outAt, b, h, w, c, ph, pw);
          (grad ? avgpool2dGrad : avgpool2d)(null, want, inAt, want, outAt, b, h, w, c, ph, pw);
          expect(calls).toBe(before + 1);
          const wantBits = new Uint32Array(want.buffer);
          let first = -1;
          for (let i = 0; i < 2 * N && first < 0; i++) if (k.u32[i] !== wantBits[i]) first = i;
          expect(first, `c ${c}, ${grad ? "gradient" : "forward"}: first differing float (in ${inAt}…, ${inFloats}; out ${outAt}…, ${outFloats})`).toBe(-1);
        }
      }
    });
  }
});

describe("which fused loops the emitted module runs on the kernels", () => {
  const moduleOf = (file: string): string => {
    const path = `examples/${file}`;
    const r = runGrad(path, readFileSync(join(import.meta.dirname, "..", path), "utf8"));
    if (!r.grad) throw new Error(rendered(r));
    return emitCpuModule(r.grad);
  };
  const trainOf = (file: string): string => {
    const code = moduleOf(file);
    return /^ {2}function runTrain\(\): void \{\n([\s\S]*?)^ {2}\}$/m.exec(code)![1]!;
  };

  it("mnist_conv: every elementwise loop of the step (tanh, dropout, their backward, the loss's slope), with its JavaScript loop beside it", () => {
    const train = trainOf("mnist_conv.nn");
    expect(train.match(/if \(vec !== null\) \{/g)?.length).toBe(5);
    expect(train.match(/\} else \{\n\s*for \(let i = 0; i < /g)?.length).toBe(5);
    expect(train).toContain("vec.unary(V_TANH, ");
    expect(train.match(/vec\.keep\(vr, key\d+, i, 8388608, n\);/g)?.length).toBe(2);
  });

  it("keras_mnist: a bias added along rows (an operand repeating along the batch axis) runs on the kernels in blocks of whole rows, the bias tiled once", () => {
    const train = trainOf("keras_mnist.nn");
    const biasLoop = /if \(vec !== null && dim_hidden <= VECTOR_BLOCK\) \{\n(.*\n){3}\s*const block = VECTOR_BLOCK - \(VECTOR_BLOCK % dim_hidden\);\n\s*vec\.tile\(vr, 4 \* p1, dim_hidden, block\);\n\s*for \(let i = 0; i < dim_batch \* dim_hidden; i \+= block\) \{\n.*\n\s*vec\.binary\(V_ADD, vr \+ 2048, 4 \* \(dt0 \+ i\), LANES, vr, LANES, n\);/;
    expect(train).toMatch(biasLoop);
    // Its JavaScript loop stays beside it, indexing the bias by the row's column.
    expect(train).toMatch(/const v\d+ = f32\[dt0 \+ i\] \+ f32\[p1 \+ i1\];/);
  });

  it("activations: gelu's slope (more operations than registers) runs on the kernels, each register reused once its value is read for the last time", () => {
    const train = moduleOf("activations.nn");
    const loops = train.split(/\n {4}(?=if \(vec !== null)/).filter((part) => part.startsWith("if (vec !== null"));
    // The loop of gelu's slope: its erf polynomial's constant.
    const gelu = loops.find((l) => l.includes("0.17087277") && l.includes("vec.unary(V_EXP"));
    expect(gelu).toBeDefined();
    const calls = gelu!.split("} else {")[0]!.match(/vec\.(unary|binary|select)\(/g)!.length;
    const registers = new Set(gelu!.split("} else {")[0]!.match(/vr( \+ \d+)?(?=[,)])/g));
    expect(calls).toBeGreaterThan(VECTOR_REGISTERS);
    expect(registers.size).toBeLessThanOrEqual(VECTOR_REGISTERS);
  });

  it("mnist_resnet: batchnorm's per-channel operands of [batch, h, w, channels] loops are tiled, forward and backward", () => {
    // Its training step is long enough to be split into parts (runTrain1, ...): the whole module.
    const train = moduleOf("mnist_resnet.nn");
    expect(train.match(/if \(vec !== null && dim_width1 <= VECTOR_BLOCK\) \{/g)?.length).toBeGreaterThan(4);
    expect(train.match(/if \(vec !== null && dim_width2 <= VECTOR_BLOCK\) \{/g)?.length).toBeGreaterThan(2);
    // No loop over the activations indexes a per-channel operand in JavaScript alone.
    const scalarOnly = train.split(/\n {4}(?=if \(vec !== null|\{\n)/).filter((part) => part.startsWith("{\n") && /f32\[p\d+ \+ i3\]/.test(part));
    expect(scalarOnly).toEqual([]);
  });
});
