// The float64 reference interpreter: the RNG contract, every kernel against
// hand-computed values or naive loops, dropout's mask, parameter
// initialisation, and whole models run from .nn source.
import { describe, expect, it } from "vitest";
import type { ShapedGraph } from "../src/ir/graph.ts";
import { fans, initParams } from "../src/interp/init.ts";
import { bindDims, interpret } from "../src/interp/interpret.ts";
import { KERNELS, type KernelCtx } from "../src/interp/kernels.ts";
import { broadcastIndex, resolveShape, size, strides, tensor, type Tensor } from "../src/interp/tensor.ts";
import { OPS } from "../src/ops/registry.ts";
import type { OpAttrs, OpName } from "../src/ops/types.ts";
import { runFrontEnd, runGrad } from "../src/pipeline.ts";
import { DROPOUT_STREAM, hash32, PARAM_STREAM, uniform01 } from "../src/backend/cpu/runtime/rng.ts";

// ---------------------------------------------------------------- helpers

const t = (shape: number[], data: number[]): Tensor => tensor(shape, data);

function run<K extends OpName>(op: K, args: Tensor[], attrs: OpAttrs[K], ctx: Partial<KernelCtx> = {}): Tensor {
  const full: KernelCtx = { outShape: [], training: false, seed: 1, step: 0, dims: new Map(), ...ctx };
  return KERNELS[op](args, attrs, full);
}

function expectTensor(actual: Tensor, shape: number[], data: number[], digits = 12): void {
  expect(actual.shape).toEqual(shape);
  expect(actual.data.length).toBe(data.length);
  data.forEach((v, i) => expect(actual.data[i], `element ${i}`).toBeCloseTo(v, digits));
}

/** Deterministic test data in [-1, 1). */
function rand(n: number, seed: number): number[] {
  return Array.from({ length: n }, (_, i) => uniform01(seed, 7, 0, i) * 2 - 1);
}

function randT(shape: number[], seed: number): Tensor {
  return t(shape, rand(size(shape), seed));
}

function dot(a: Tensor, b: Tensor): number {
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += a.data[i]! * b.data[i]!;
  return s;
}

function shaped(text: string): ShapedGraph {
  const r = runFrontEnd("test.nn", text);
  if (!r.shaped) throw new Error(r.diagnostics.sorted().map((d) => `${d.code}: ${d.message}`).join("\n"));
  return r.shaped;
}

function nodeNamed(g: ShapedGraph, name: string): number {
  const n = g.nodes.find((x) => x.name === name);
  if (!n) throw new Error(`no node ${name}`);
  return n.id;
}

// ---------------------------------------------------------------- RNG

describe("rng: the cross-backend contract", () => {
  it("hash32 is lowbias32", () => {
    // Checked against an independent Python implementation with explicit & 0xffffffff.
    expect([0, 1, 2, 0xdeadbeef, 0xffffffff].map(hash32)).toEqual([0x0, 0x688990c0, 0xd1132181, 0xe628c683, 0x6768824a]);
  });

  it("uniform01 gives these exact values (every backend must reproduce them)", () => {
    // [seed, stream, step, index] → the 24-bit integer u · 2^24
    const known: [number, number, number, number, number][] = [
      [0, 0, 0, 0, 0],
      [0, 0, 0, 1, 6850960],
      [42, PARAM_STREAM, 0, 0, 3582872],
      [42, DROPOUT_STREAM, 3, 7, 12438679],
      [123456789, DROPOUT_STREAM + 1, 1000, 999999, 3813258],
      [0xffffffff, 5, 0xffffffff, 0xffffffff, 9338720],
    ];
    for (const [seed, stream, step, index, want] of known) expect(uniform01(seed, stream, step, index) * 2 ** 24).toBe(want);
  });

  it("draws lie in [0, 1) on the 2^-24 grid, so f32 holds them exactly", () => {
    for (let i = 0; i < 1000; i++) {
      const u = uniform01(9, DROPOUT_STREAM, 2, i);
      expect(u).toBeGreaterThanOrEqual(0);
      expect(u).toBeLessThan(1);
      expect(Number.isInteger(u * 2 ** 24)).toBe(true);
      expect(Math.fround(u)).toBe(u);
    }
  });

  /** Pearson's χ² over 20 equal bins; the 0.001 critical value for 19 degrees of freedom is 43.8. */
  function chiSquare(draws: number[]): number {
    const bins = new Array<number>(20).fill(0);
    for (const u of draws) bins[Math.floor(u * 20)]!++;
    const expected = draws.length / 20;
    return bins.reduce((s, o) => s + (o - expected) ** 2 / expected, 0);
  }

  it("is uniform along the element index, the step and the stream", () => {
    const n = 100_000;
    expect(chiSquare(Array.from({ length: n }, (_, i) => uniform01(7, DROPOUT_STREAM, 0, i)))).toBeLessThan(43.8);
    expect(chiSquare(Array.from({ length: n }, (_, s) => uniform01(7, DROPOUT_STREAM, s, 0)))).toBeLessThan(43.8);
    expect(chiSquare(Array.from({ length: n }, (_, s) => uniform01(7, PARAM_STREAM + s, 0, 3)))).toBeLessThan(43.8);
    expect(chiSquare(Array.from({ length: n }, (_, s) => uniform01(s, PARAM_STREAM, 0, 0)))).toBeLessThan(43.8);
  });

  it("neighbouring counters are uncorrelated", () => {
    const n = 50_000;
    const u = Array.from({ length: n + 1 }, (_, i) => uniform01(3, DROPOUT_STREAM, 1, i) - 0.5);
    let c = 0;
    for (let i = 0; i < n; i++) c += u[i]! * u[i + 1]!;
    // Var(u − ½) = 1/12; the lag-1 correlation of independent draws is about N(0, 1/n).
    expect(Math.abs((c / n) * 12)).toBeLessThan(4 / Math.sqrt(n));
  });
});

// ---------------------------------------------------------------- tensors

describe("tensor helpers", () => {
  it("strides, broadcast indices and shape resolution", () => {
    expect(strides([2, 3, 4])).toEqual([12, 4, 1]);
    expect([...broadcastIndex([3], [2, 3])]).toEqual([0, 1, 2, 0, 1, 2]);
    expect([...broadcastIndex([2, 1], [2, 3])]).toEqual([0, 0, 0, 1, 1, 1]);
    expect([...broadcastIndex([], [2])]).toEqual([0, 0]);
    expect(() => broadcastIndex([2], [3])).toThrow(/cannot broadcast \[2\] to \[3\]/);
    expect(resolveShape(["batch", 3], new Map([["batch", 5]]))).toEqual([5, 3]);
    expect(() => resolveShape(["batch", 3], new Map())).toThrow(/`batch`/);
    expect(() => tensor([2, 2], [1, 2, 3])).toThrow(/needs 4 values, got 3/);
  });
});

// ---------------------------------------------------------------- elementwise

describe("elementwise kernels", () => {
  const a = t([2, 3], [1, 2, 3, 4, 5, 6]);
  it("broadcast like numpy", () => {
    expectTensor(run("add", [a, t([3], [10, 20, 30])], {}), [2, 3], [11, 22, 33, 14, 25, 36]);
    expectTensor(run("mul", [t([2, 1], [2, 3]), t([1, 3], [1, 10, 100])], {}), [2, 3], [2, 20, 200, 3, 30, 300]);
    expectTensor(run("sub", [t([], [1]), a], {}), [2, 3], [0, -1, -2, -3, -4, -5]);
    expectTensor(run("div", [a, t([2, 1], [2, 4])], {}), [2, 3], [0.5, 1, 1.5, 1, 1.25, 1.5]);
    expectTensor(run("pow", [a, t([], [2])], {}), [2, 3], [1, 4, 9, 16, 25, 36]);
    expectTensor(run("maximum", [a, t([3], [2, 2, 7])], {}), [2, 3], [2, 2, 7, 4, 5, 7]);
    expectTensor(run("minimum", [a, t([3], [2, 2, 7])], {}), [2, 3], [1, 2, 3, 2, 2, 6]);
    expectTensor(run("eq", [a, t([3], [1, 5, 6])], {}), [2, 3], [1, 0, 0, 0, 1, 1]);
    expect(() => run("add", [a, t([2], [1, 2])], {})).toThrow(/cannot broadcast/);
  });

  it("unary functions", () => {
    const x = t([5], [-2, -0.5, 0, 0.5, 3]);
    expectTensor(run("neg", [x], {}), [5], [2, 0.5, 0, -0.5, -3]);
    expectTensor(run("relu", [x], {}), [5], [0, 0, 0, 0.5, 3]);
    expectTensor(run("leaky_relu", [x], { slope: 0.1 }), [5], [-0.2, -0.05, 0, 0.5, 3]);
    expectTensor(run("sigmoid", [x], {}), [5], [-2, -0.5, 0, 0.5, 3].map((v) => 1 / (1 + Math.exp(-v))));
    expectTensor(run("tanh", [x], {}), [5], [-2, -0.5, 0, 0.5, 3].map(Math.tanh));
    expectTensor(run("exp", [x], {}), [5], [-2, -0.5, 0, 0.5, 3].map(Math.exp));
    expectTensor(run("abs", [x], {}), [5], [2, 0.5, 0, 0.5, 3]);
    expectTensor(run("step", [x], {}), [5], [0, 0, 0, 1, 1]);
    expectTensor(run("sign", [x], {}), [5], [-1, -1, 0, 1, 1]);
    expect(Object.is(run("sign", [t([1], [-0])], {}).data[0], 0)).toBe(true);
    expectTensor(run("log", [t([2], [1, Math.E])], {}), [2], [0, 1]);
    expectTensor(run("sqrt", [t([2], [4, 2])], {}), [2], [2, Math.SQRT2]);
  });

  it("sigmoid is finite and exact in the tails", () => {
    const s = run("sigmoid", [t([4], [-1000, -40, 40, 1000])], {});
    expect([...s.data].every(Number.isFinite)).toBe(true);
    expect(s.data[0]).toBe(0);
    expect(s.data[1]).toBeCloseTo(Math.exp(-40), 30);
    expect(s.data[1]).toBeGreaterThan(0);
    expect(s.data[3]).toBe(1);
  });

  // The closed forms the interpreter had before its kernels were evaluated
  // from the ops' scalar expressions: the numbers must not have moved by a bit.
  const CLOSED_FORMS: [OpName, (a: number, b: number) => number, object?][] = [
    ["add", (a, b) => a + b],
    ["sub", (a, b) => a - b],
    ["mul", (a, b) => a * b],
    ["div", (a, b) => a / b],
    ["pow", Math.pow],
    ["maximum", Math.max],
    ["minimum", Math.min],
    ["eq", (a, b) => (a === b ? 1 : 0)],
    ["neg", (v) => -v],
    ["relu", (v) => Math.max(v, 0)],
    ["leaky_relu", (v) => (v > 0 ? v : 0.3 * v), { slope: 0.3 }],
    ["sigmoid", (v) => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)))],
    ["tanh", Math.tanh],
    ["exp", Math.exp],
    ["log", Math.log],
    ["sqrt", Math.sqrt],
    ["abs", Math.abs],
    ["step", (v) => (v > 0 ? 1 : 0)],
    ["sign", (v) => Math.sign(v) + 0],
    ["stop_gradient", (v) => v],
  ];
  it.each(CLOSED_FORMS)("%s computes the same float64 numbers as its closed form", (op, f, attrs = {}) => {
    const xs = [-1000, -40, -3, -1, -0.5, -0, 0, 1e-9, 0.25, 0.5, 1, 2, 3, 40, 1000, NaN, Infinity, -Infinity, ...rand(64, 9).map((v) => v * 5)];
    const ys = xs.map((_, i) => xs[(i * 7 + 3) % xs.length]!);
    const binary = OPS[op].tensors.length === 2;
    const got = run(op, binary ? [t([xs.length], xs), t([ys.length], ys)] : [t([xs.length], xs)], attrs as never);
    xs.forEach((x, i) => expect(Object.is(got.data[i], f(x, ys[i]!)), `${op}(${x}, ${ys[i]})`).toBe(true));
  });
});

// ---------------------------------------------------------------- linear algebra and shape

describe("matmul, transpose, reshape, one_hot", () => {
  const A = t([2, 3], [1, 2, 3, 4, 5, 6]);
  const B = t([3, 2], [7, 8, 9, 10, 11, 12]);
  it("matrix × matrix", () => expectTensor(run("matmul", [A, B], {}), [2, 2], [58, 64, 139, 154]));
  it("vector on the left is a row, on the right a column; the extra axis is dropped", () => {
    expectTensor(run("matmul", [t([3], [1, 0, -1]), B], {}), [2], [-4, -4]);
    expectTensor(run("matmul", [A, t([3], [1, 0, -1])], {}), [2], [-2, -2]);
    expectTensor(run("matmul", [t([3], [1, 2, 3]), t([3], [4, 5, 6])], {}), [], [32]);
  });
  it("batches, broadcasting the batch axes", () => {
    const x = randT([2, 1, 2, 3], 1);
    const y = randT([4, 3, 2], 2);
    const out = run("matmul", [x, y], {});
    expect(out.shape).toEqual([2, 4, 2, 2]);
    for (let b0 = 0; b0 < 2; b0++)
      for (let b1 = 0; b1 < 4; b1++)
        for (let i = 0; i < 2; i++)
          for (let j = 0; j < 2; j++) {
            let s = 0;
            for (let p = 0; p < 3; p++) s += x.data[b0 * 6 + i * 3 + p]! * y.data[b1 * 6 + p * 2 + j]!;
            expect(out.data[((b0 * 4 + b1) * 2 + i) * 2 + j]).toBeCloseTo(s, 12);
          }
    // A batched matrix times a plain vector: [2, 2, 3] @ [3] → [2, 2].
    expectTensor(run("matmul", [t([2, 2, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]), t([3], [1, 1, 1])], {}), [2, 2], [6, 15, 24, 33]);
  });
  it("rejects mismatched inner dimensions", () => expect(() => run("matmul", [A, A], {})).toThrow(/cannot multiply \[2, 3\] by \[2, 3\]/));

  it("transpose swaps the last two axes; a vector is unchanged", () => {
    expectTensor(run("transpose", [A], {}), [3, 2], [1, 4, 2, 5, 3, 6]);
    expectTensor(run("transpose", [t([2, 1, 2], [1, 2, 3, 4])], {}), [2, 2, 1], [1, 2, 3, 4]);
    expectTensor(run("transpose", [t([3], [1, 2, 3])], {}), [3], [1, 2, 3]);
  });
  it("reshape and flatten keep the order of the elements", () => {
    expectTensor(run("reshape", [A], { shape: [3, -1] }, { outShape: [3, 2] }), [3, 2], [1, 2, 3, 4, 5, 6]);
    expectTensor(run("flatten", [t([2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8])], {}, { outShape: [2, 4] }), [2, 4], [1, 2, 3, 4, 5, 6, 7, 8]);
    expect(() => run("reshape", [A], { shape: [4] }, { outShape: [4] })).toThrow(/reshape/);
  });
  it("one_hot, and a clear error for an id out of range", () => {
    expectTensor(run("one_hot", [t([3], [0, 2, 1])], { n: 3 }), [3, 3], [1, 0, 0, 0, 0, 1, 0, 1, 0]);
    expect(run("one_hot", [t([2, 2], [0, 1, 1, 0])], { n: 2 }).shape).toEqual([2, 2, 2]);
    expect(() => run("one_hot", [t([2], [0, 3])], { n: 3 })).toThrow("one_hot: id 3 is out of range for 3 classes (ids run from 0 to 2)");
    expect(() => run("one_hot", [t([1], [-1])], { n: 3 })).toThrow(/id -1/);
    expect(() => run("one_hot", [t([1], [0.5])], { n: 3 })).toThrow("one_hot: id 0.5 is not an integer");
  });
});

// ---------------------------------------------------------------- along an axis

describe("softmax, reductions, argmax", () => {
  const x = t([2, 3], [1, 2, 3, -1, 0, 5]);
  it("softmax rows sum to 1 and match exp(x) / Σ exp(x)", () => {
    const s = run("softmax", [x], { axis: -1 });
    for (let r = 0; r < 2; r++) {
      const row = [...x.data.slice(r * 3, r * 3 + 3)];
      const z = row.reduce((acc, v) => acc + Math.exp(v), 0);
      row.forEach((v, j) => expect(s.data[r * 3 + j]).toBeCloseTo(Math.exp(v) / z, 14));
      expect(s.data[r * 3]! + s.data[r * 3 + 1]! + s.data[r * 3 + 2]!).toBeCloseTo(1, 14);
    }
  });
  it("softmax along axis 0 normalises columns", () => {
    const s = run("softmax", [x], { axis: 0 });
    for (let j = 0; j < 3; j++) {
      const z = Math.exp(x.data[j]!) + Math.exp(x.data[3 + j]!);
      expect(s.data[j]).toBeCloseTo(Math.exp(x.data[j]!) / z, 14);
      expect(s.data[j]! + s.data[3 + j]!).toBeCloseTo(1, 14);
    }
  });
  it("log_softmax is log(softmax), and stays finite for logits of ±1e4", () => {
    const ls = run("log_softmax", [x], { axis: -1 });
    const s = run("softmax", [x], { axis: -1 });
    ls.data.forEach((v, i) => expect(v).toBeCloseTo(Math.log(s.data[i]!), 13));
    const big = t([1, 3], [1e4, -1e4, 0]);
    const lb = run("log_softmax", [big], { axis: -1 });
    expect([...lb.data].every(Number.isFinite)).toBe(true);
    expectTensor(lb, [1, 3], [0, -2e4, -1e4]);
    expectTensor(run("softmax", [big], { axis: 1 }), [1, 3], [1, 0, 0]);
  });

  const c = t([2, 3, 2], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  it("sum, mean, max over everything and along negative axes, with keepdims", () => {
    expectTensor(run("sum", [c], { axis: null, keepdims: false }), [], [78]);
    expectTensor(run("sum", [c], { axis: null, keepdims: true }), [1, 1, 1], [78]);
    expectTensor(run("sum", [c], { axis: -1, keepdims: false }), [2, 3], [3, 7, 11, 15, 19, 23]);
    expectTensor(run("sum", [c], { axis: -2, keepdims: true }), [2, 1, 2], [9, 12, 27, 30]);
    expectTensor(run("sum", [c], { axis: 0, keepdims: false }), [3, 2], [8, 10, 12, 14, 16, 18]);
    expectTensor(run("mean", [c], { axis: null, keepdims: false }), [], [6.5]);
    expectTensor(run("mean", [c], { axis: -2, keepdims: false }), [2, 2], [3, 4, 9, 10]);
    expectTensor(run("max", [t([2, 2], [3, -1, -5, -2])], { axis: -1, keepdims: true }), [2, 1], [3, -2]);
    expectTensor(run("max", [t([2, 2], [3, -1, -5, -2])], { axis: null, keepdims: false }), [], [3]);
    expect(() => run("sum", [c], { axis: 3, keepdims: false })).toThrow(/axis 3/);
  });
  it("argmax picks the first maximum; no axis means over the flattened tensor", () => {
    const m = t([2, 3], [1, 5, 5, 7, 7, 0]);
    expectTensor(run("argmax", [m], { axis: null }), [], [3]);
    expectTensor(run("argmax", [m], { axis: -1 }), [2], [1, 0]);
    expectTensor(run("argmax", [m], { axis: 0 }), [3], [1, 1, 0]);
  });
  it("sum_to undoes broadcast_to by summing", () => {
    const g = t([2, 3], [1, 2, 3, 4, 5, 6]);
    expectTensor(run("sum_to", [g], { shape: [3] }, { outShape: [3] }), [3], [5, 7, 9]);
    expectTensor(run("sum_to", [g], { shape: [2, 1] }, { outShape: [2, 1] }), [2, 1], [6, 15]);
    expectTensor(run("sum_to", [g], { shape: [] }, { outShape: [] }), [], [21]);
    expectTensor(run("broadcast_to", [t([3], [1, 2, 3])], { shape: [2, 3] }, { outShape: [2, 3] }), [2, 3], [1, 2, 3, 1, 2, 3]);
    expectTensor(run("broadcast_to", [t([2, 1], [1, 2])], { shape: ["batch", 2] }, { outShape: [2, 2] }), [2, 2], [1, 1, 2, 2]);
    // Adjoint: <broadcast_to(v), g> = <v, sum_to(g)>.
    const v = t([2, 1], [0.3, -0.7]);
    expect(dot(run("broadcast_to", [v], { shape: [2, 3] }, { outShape: [2, 3] }), g)).toBeCloseTo(dot(v, run("sum_to", [g], { shape: [2, 1] }, { outShape: [2, 1] })), 14);
  });
});

// ---------------------------------------------------------------- layers

/** conv2d by the definition: pad with zeros (TensorFlow's split), then slide a valid window. */
function naiveConv(x: Tensor, k: Tensor, stride: number, padding: "valid" | "same"): Tensor {
  const [B, H, W, C] = x.shape as [number, number, number, number];
  const [KH, KW, , F] = k.shape as [number, number, number, number];
  let oh: number, ow: number, pt = 0, pl = 0;
  if (padding === "valid") {
    oh = Math.floor((H - KH) / stride) + 1;
    ow = Math.floor((W - KW) / stride) + 1;
  } else {
    oh = Math.ceil(H / stride);
    ow = Math.ceil(W / stride);
    pt = Math.floor(Math.max((oh - 1) * stride + KH - H, 0) / 2);
    pl = Math.floor(Math.max((ow - 1) * stride + KW - W, 0) / 2);
  }
  const px = (b: number, i: number, j: number, c: number) => (i < 0 || j < 0 || i >= H || j >= W ? 0 : x.data[((b * H + i) * W + j) * C + c]!);
  const out: number[] = [];
  for (let b = 0; b < B; b++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++)
        for (let f = 0; f < F; f++) {
          let s = 0;
          for (let dy = 0; dy < KH; dy++)
            for (let dx = 0; dx < KW; dx++)
              for (let c = 0; c < C; c++) s += px(b, oy * stride + dy - pt, ox * stride + dx - pl, c) * k.data[((dy * KW + dx) * C + c) * F + f]!;
          out.push(s);
        }
  return t([B, oh, ow, F], out);
}

describe("conv2d and its gradients", () => {
  it("a hand-computed 3×3 image with a 2×2 diagonal kernel", () => {
    const x = t([1, 3, 3, 1], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const k = t([2, 2, 1, 1], [1, 0, 0, 1]);
    expectTensor(run("conv2d", [x, k], { stride: 1, padding: "valid" }), [1, 2, 2, 1], [6, 8, 12, 14]);
    // "same" with a 2×2 kernel pads one row and column, all at the bottom/right.
    expectTensor(run("conv2d", [x, k], { stride: 1, padding: "same" }), [1, 3, 3, 1], [6, 8, 3, 12, 14, 6, 7, 8, 9]);
    // stride 2, "same": ⌈3/2⌉ = 2, total padding (2−1)·2 + 2 − 3 = 1, again bottom/right.
    expectTensor(run("conv2d", [x, k], { stride: 2, padding: "same" }), [1, 2, 2, 1], [6, 3, 7, 9]);
  });

  const cases: [string, number[], number[], number, "valid" | "same", number[]][] = [
    ["valid, stride 1", [2, 5, 6, 3], [3, 3, 3, 4], 1, "valid", [2, 3, 4, 4]],
    ["same, stride 1", [2, 5, 6, 3], [3, 3, 3, 4], 1, "same", [2, 5, 6, 4]],
    ["same, stride 2", [2, 5, 6, 3], [3, 3, 3, 4], 2, "same", [2, 3, 3, 4]],
    ["valid, stride 2", [1, 7, 5, 2], [3, 2, 2, 3], 2, "valid", [1, 3, 2, 3]],
    ["same, stride 2, even kernel", [1, 6, 7, 2], [4, 2, 2, 3], 2, "same", [1, 3, 4, 3]],
    ["same, kernel larger than the image", [1, 2, 2, 1], [3, 3, 1, 2], 1, "same", [1, 2, 2, 2]],
  ];
  it.each(cases)("matches a naive loop: %s", (_name, xs, ks, stride, padding, outShape) => {
    const x = randT(xs, 11);
    const k = randT(ks, 12);
    const got = run("conv2d", [x, k], { stride, padding });
    const want = naiveConv(x, k, stride, padding);
    expect(got.shape).toEqual(outShape);
    expectTensor(got, want.shape as number[], [...want.data], 12);
  });

  it.each(cases)("gradients are the exact adjoints: %s", (_name, xs, ks, stride, padding, outShape) => {
    // conv2d is bilinear, so for any g: <conv(x, k), g> = <x, ∂x> = <k, ∂k>.
    const x = randT(xs, 21);
    const k = randT(ks, 22);
    const g = randT(outShape, 23);
    const y = run("conv2d", [x, k], { stride, padding });
    const gx = run("conv2d_grad_input", [g, k], { stride, padding, inputShape: xs }, { outShape: xs });
    const gk = run("conv2d_grad_kernel", [x, g], { stride, padding, kernelShape: ks }, { outShape: ks });
    expect(gx.shape).toEqual(xs);
    expect(gk.shape).toEqual(ks);
    expect(dot(x, gx)).toBeCloseTo(dot(y, g), 11);
    expect(dot(k, gk)).toBeCloseTo(dot(y, g), 11);
    // And elementwise: a unit g at one output gives the kernel tap pattern.
    const e = tensor(outShape);
    e.data[e.data.length - 1] = 1;
    const col = run("conv2d_grad_input", [e, k], { stride, padding, inputShape: xs }, { outShape: xs });
    for (let i = 0; i < x.data.length; i += Math.max(1, Math.floor(x.data.length / 17))) {
      const bump = tensor(xs);
      bump.data[i] = 1;
      expect(col.data[i]).toBeCloseTo(run("conv2d", [bump, k], { stride, padding }).data[e.data.length - 1]!, 12);
    }
  });

  it("rejects a gradient of the wrong shape", () => {
    expect(() => run("conv2d_grad_input", [tensor([1, 2, 2, 1]), tensor([2, 2, 1, 1])], { stride: 1, padding: "valid", inputShape: [1, 4, 4, 1] }, { outShape: [1, 4, 4, 1] })).toThrow(
      /expected \[1, 3, 3, 1\]/,
    );
  });
});

describe("maxpool2d, embed", () => {
  const x = t([1, 4, 4, 1], [1, 2, 5, 3, 4, 0, 5, 1, -1, -2, 0, 0, -3, -4, 0, 9]);
  it("maxpool2d takes the max of non-overlapping windows", () => {
    expectTensor(run("maxpool2d", [x], { size: 2 }), [1, 2, 2, 1], [4, 5, -1, 9]);
    // 5×5 with size 2: the last row and column are dropped (floor).
    const x5 = t([1, 5, 5, 2], rand(50, 3));
    const p = run("maxpool2d", [x5], { size: 2 });
    expect(p.shape).toEqual([1, 2, 2, 2]);
    const at = (i: number, j: number, c: number) => x5.data[(i * 5 + j) * 2 + c]!;
    expect(p.data[(1 * 2 + 0) * 2 + 1]).toBe(Math.max(at(2, 0, 1), at(2, 1, 1), at(3, 0, 1), at(3, 1, 1)));
  });
  it("maxpool2d_grad routes g to the first maximum of each window", () => {
    const g = t([1, 2, 2, 1], [10, 20, 30, 40]);
    // The window [5, 3; 5, 1] has two maxima: the first (row-major) gets the gradient.
    expectTensor(run("maxpool2d_grad", [x, g], { size: 2 }), [1, 4, 4, 1], [0, 0, 20, 0, 10, 0, 0, 0, 30, 0, 0, 0, 0, 0, 0, 40]);
  });
  const E = t([4, 2], [0, 1, 10, 11, 20, 21, 30, 31]);
  it("embed picks rows; an id out of range is a clear error", () => {
    expectTensor(run("embed", [t([2, 2], [3, 0, 1, 1]), E], {}), [2, 2, 2], [30, 31, 0, 1, 10, 11, 10, 11]);
    expect(() => run("embed", [t([2], [1, 4]), E], {})).toThrow("embed: id 4 is out of range for 4 table rows (ids run from 0 to 3)");
  });
  // The kernel takes the table's shape from the node's shape (ctx.outShape), not from its attributes.
  const EMBED_GRAD_ATTRS = {} as OpAttrs["embed_grad"];
  it("embed_grad adds each row of g at its id, repeated ids accumulating", () => {
    const g = t([3, 2], [1, 2, 3, 4, 5, 6]);
    expectTensor(run("embed_grad", [t([3], [2, 0, 2]), g], EMBED_GRAD_ATTRS, { outShape: [4, 2] }), [4, 2], [3, 4, 0, 0, 6, 8, 0, 0]);
  });
});

// ---------------------------------------------------------------- dropout

describe("dropout", () => {
  const n = 10_000;
  const x = randT([100, 100], 5);
  const train = { training: true, seed: 17, step: 3 };
  it("keeps about 1 − p of the elements, scaled by 1/(1 − p)", () => {
    for (const p of [0.1, 0.5, 0.8]) {
      const m = run("dropout_mask", [x], { p, stream: 0 }, train);
      const kept = [...m.data].filter((v) => v !== 0);
      // 5 standard deviations of a binomial share.
      expect(Math.abs(kept.length / n - (1 - p))).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / n));
      expect(kept.every((v) => v === 1 / (1 - p))).toBe(true);
    }
  });
  it("keeps element i iff uniform01(seed, DROPOUT_STREAM + stream, step, i) ≥ p", () => {
    const m = run("dropout_mask", [x], { p: 0.4, stream: 2 }, train);
    for (let i = 0; i < n; i++) expect(m.data[i] !== 0).toBe(uniform01(17, DROPOUT_STREAM + 2, 3, i) >= 0.4);
  });
  it("dropout(x) equals x · dropout_mask(x) exactly", () => {
    const d = run("dropout", [x], { p: 0.3, stream: 1 }, train);
    const m = run("dropout_mask", [x], { p: 0.3, stream: 1 }, train);
    expect(d.shape).toEqual([100, 100]);
    for (let i = 0; i < n; i++) expect(Object.is(d.data[i], x.data[i]! * m.data[i]!)).toBe(true);
  });
  it("is the identity outside training, with a mask of ones", () => {
    expect([...run("dropout", [x], { p: 0.5, stream: 0 }).data]).toEqual([...x.data]);
    expect([...run("dropout_mask", [x], { p: 0.5, stream: 0 }).data].every((v) => v === 1)).toBe(true);
  });
  it("draws a new mask per step and per stream, the same one again for the same counters", () => {
    const mask = (step: number, stream: number) => [...run("dropout_mask", [x], { p: 0.5, stream }, { ...train, step }).data];
    expect(mask(3, 0)).toEqual(mask(3, 0));
    const differ = (a: number[], b: number[]) => a.filter((v, i) => v !== b[i]).length;
    // Independent masks with p = ½ disagree on about half the elements.
    expect(differ(mask(3, 0), mask(4, 0))).toBeGreaterThan(n * 0.4);
    expect(differ(mask(3, 0), mask(3, 1))).toBeGreaterThan(n * 0.4);
  });
  it("p = 0 keeps everything", () => {
    expect([...run("dropout", [x], { p: 0, stream: 0 }, train).data]).toEqual([...x.data]);
  });
});

// ---------------------------------------------------------------- losses

describe("losses and metrics on a 2×3 example", () => {
  const p = t([2, 3], [0.2, 0.3, 0.5, 0.1, 0.6, 0.3]);
  const y = t([2, 3], [0, 0, 1, 0, 1, 0]);
  const scalarOf = (r: Tensor) => {
    expect(r.shape).toEqual([]);
    return r.data[0]!;
  };
  it("mse", () => {
    // (0.2² + 0.3² + 0.5² + 0.1² + 0.4² + 0.3²) / 6 = 0.64 / 6
    expect(scalarOf(run("mse", [p, y], {}))).toBeCloseTo(0.64 / 6, 14);
  });
  it("cross_entropy averages −Σ y log p over rows", () => {
    expect(scalarOf(run("cross_entropy", [p, y], {}))).toBeCloseTo(-(Math.log(0.5) + Math.log(0.6)) / 2, 14);
  });
  it("softmax_cross_entropy, and finite for logits of ±1e4", () => {
    const z = t([2, 3], [1, 2, 3, 1, -1, 0]);
    const row1 = Math.log(Math.E + Math.E ** 2 + Math.E ** 3) - 3;
    const row2 = Math.log(Math.E + 1 / Math.E + 1) + 1;
    expect(scalarOf(run("softmax_cross_entropy", [z, y], {}))).toBeCloseTo((row1 + row2) / 2, 14);
    const big = t([2, 2], [1e4, -1e4, 1e4, -1e4]);
    const v = scalarOf(run("softmax_cross_entropy", [big, t([2, 2], [0, 1, 1, 0])], {}));
    expect(v).toBeCloseTo(1e4, 8); // row 1: 2e4, row 2: 0
  });
  it("binary_cross_entropy and its stable logit form", () => {
    const q = t([2, 3], [0.9, 0.2, 0.6, 0.3, 0.8, 0.5]);
    const yb = t([2, 3], [1, 0, 1, 0, 1, 1]);
    const want = -(Math.log(0.9) + Math.log(0.8) + Math.log(0.6) + Math.log(0.7) + Math.log(0.8) + Math.log(0.5)) / 6;
    expect(scalarOf(run("binary_cross_entropy", [q, yb], {}))).toBeCloseTo(want, 14);
    const logits = t([2, 3], [...q.data].map((v) => Math.log(v / (1 - v))));
    expect(scalarOf(run("sigmoid_binary_cross_entropy", [logits, yb], {}))).toBeCloseTo(want, 14);
    // Saturated logits: exact where right, linear in |z| where wrong, never NaN or ∞.
    expect(scalarOf(run("sigmoid_binary_cross_entropy", [t([2], [1000, -1000]), t([2], [1, 0])], {}))).toBe(0);
    expect(scalarOf(run("sigmoid_binary_cross_entropy", [t([2], [1000, -1000]), t([2], [0, 1])], {}))).toBe(1000);
  });
  it("hinge sums the margin violations against the one-hot label, per row", () => {
    const s = t([2, 3], [1, 2, 3, 1, -1, 0]);
    // row 1 (label 2): max(0, 1−3+1) + max(0, 2−3+1) = 0; row 2 (label 1): (1+1+1) + (0+1+1) = 5
    expect(scalarOf(run("hinge", [s, y], {}))).toBeCloseTo(2.5, 14);
  });
  it("sumsq, sumabs, accuracy", () => {
    const w = t([2, 3], [1, -2, 3, -4, 5, -6]);
    expect(scalarOf(run("sumsq", [w], {}))).toBe(91);
    expect(scalarOf(run("sumabs", [w], {}))).toBe(21);
    expect(scalarOf(run("accuracy", [p, y], {}))).toBe(1);
    expect(scalarOf(run("accuracy", [p, t([2, 3], [0, 0, 1, 1, 0, 0])], {}))).toBe(0.5);
  });
  it("losses of a vector treat it as one row", () => {
    expect(scalarOf(run("cross_entropy", [t([3], [0.2, 0.3, 0.5]), t([3], [0, 0, 1])], {}))).toBeCloseTo(-Math.log(0.5), 14);
  });
  it("reject arguments of different shapes", () => {
    expect(() => run("mse", [p, t([3], [0, 0, 1])], {})).toThrow(/different shapes \[2, 3\] and \[3\]/);
  });
});

// ---------------------------------------------------------------- the table

describe("the kernel table", () => {
  it("has a kernel for every op in the registry", () => {
    for (const op of Object.keys(OPS) as OpName[]) expect(typeof KERNELS[op], op).toBe("function");
    expect(Object.keys(KERNELS).sort()).toEqual(Object.keys(OPS).sort());
  });
});

// ---------------------------------------------------------------- initParams

describe("initParams", () => {
  const g = shaped(
    [
      "dim batch = 2",
      "input x: [batch, 40]",
      "param W: [40, 30]",
      "param U: [40, 30] = uniform(-0.5, 0.25)",
      "param N: [2001] = normal(1, 2)",
      "param H: [200, 50] = he",
      "param Z: [3] = zeros",
      "param O: [2, 2] = ones",
      "loss = sum(x W) + sum(x U) + sum(N) + sum(H) + sum(Z) + sum(O)",
    ].join("\n"),
  );
  const dims = bindDims(g, {});
  const values = initParams(g, dims, 1234);
  const stats = (a: Float64Array) => {
    const mean = a.reduce((s, v) => s + v, 0) / a.length;
    return { mean, std: Math.sqrt(a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length) };
  };

  it("is deterministic for a seed and differs between seeds", () => {
    const again = initParams(g, dims, 1234);
    const other = initParams(g, dims, 1235);
    for (const name of ["W", "U", "N", "H"]) {
      expect([...again.get(name)!.data]).toEqual([...values.get(name)!.data]);
      expect([...other.get(name)!.data]).not.toEqual([...values.get(name)!.data]);
    }
  });
  it("draws element j of param i from uniform01(seed, PARAM_STREAM + i, 0, j)", () => {
    const i = g.params.findIndex((p) => p.name === "U");
    const u = values.get("U")!;
    for (let j = 0; j < u.data.length; j++) expect(u.data[j]).toBe(-0.5 + 0.75 * uniform01(1234, PARAM_STREAM + i, 0, j));
  });
  it("normal pairs elements (2j, 2j+1) by Box–Muller on draws 2j and 2j+1 of the param's stream", () => {
    const i = g.params.findIndex((p) => p.name === "N");
    const draw = (j: number) => uniform01(1234, PARAM_STREAM + i, 0, j);
    const n = values.get("N")!.data;
    for (const j of [0, 1, 500]) {
      const r = Math.sqrt(-2 * Math.log(1 - draw(2 * j)));
      const theta = 2 * Math.PI * draw(2 * j + 1);
      expect(n[2 * j]).toBeCloseTo(1 + 2 * r * Math.cos(theta), 14);
      expect(n[2 * j + 1]).toBeCloseTo(1 + 2 * r * Math.sin(theta), 14);
    }
    // The odd last element (index 2000) takes the cosine of its pair.
    expect(n[2000]).toBeCloseTo(1 + 2 * Math.sqrt(-2 * Math.log(1 - draw(2000))) * Math.cos(2 * Math.PI * draw(2001)), 14);
  });
  it("xavier: uniform within ±sqrt(6 / (fanIn + fanOut)), reaching near the limit", () => {
    const w = values.get("W")!;
    expect(w.shape).toEqual([40, 30]);
    const limit = Math.sqrt(6 / 70);
    const maxAbs = Math.max(...[...w.data].map(Math.abs));
    expect(maxAbs).toBeLessThanOrEqual(limit);
    expect(maxAbs).toBeGreaterThan(0.99 * limit);
    expect(Math.abs(stats(w.data).mean)).toBeLessThan(0.05 * limit);
  });
  it("uniform stays in [low, high); normal and he have the right mean and spread", () => {
    const u = values.get("U")!.data;
    expect(Math.min(...u)).toBeGreaterThanOrEqual(-0.5);
    expect(Math.max(...u)).toBeLessThan(0.25);
    const n = stats(values.get("N")!.data);
    expect(values.get("N")!.data.length).toBe(2001); // an odd count fills its last element too
    expect(Number.isFinite(values.get("N")!.data[2000])).toBe(true);
    expect(Math.abs(n.mean - 1)).toBeLessThan(0.2);
    expect(Math.abs(n.std - 2)).toBeLessThan(0.15);
    const h = stats(values.get("H")!.data);
    expect(Math.abs(h.mean)).toBeLessThan(0.01);
    expect(Math.abs(h.std - Math.sqrt(2 / 200))).toBeLessThan(0.005);
  });
  it("zeros and ones", () => {
    expect([...values.get("Z")!.data]).toEqual([0, 0, 0]);
    expect([...values.get("O")!.data]).toEqual([1, 1, 1, 1]);
  });
  it("fans count a receptive field", () => {
    expect(fans([3, 3, 2, 8])).toEqual({ fanIn: 18, fanOut: 72 });
    expect(fans([5])).toEqual({ fanIn: 5, fanOut: 5 });
    expect(fans([])).toEqual({ fanIn: 1, fanOut: 1 });
  });
});

// ---------------------------------------------------------------- whole models

describe("interpret", () => {
  const MLP = [
    "dim batch",
    "input x: [batch, 3]",
    "target y: [batch, 2]",
    "param W0: [3, 4]",
    "param b0: [4] = uniform(-0.1, 0.1)",
    "param W1: [4, 2]",
    "param b1: [2] = uniform(-0.1, 0.1)",
    "h = relu(x W0 + b0)",
    "p = softmax(h W1 + b1)",
    "output p",
    "loss = cross_entropy(p, y) + 0.01 * sumsq(W0) / batch",
  ].join("\n");
  const g = shaped(MLP);
  const dims = bindDims(g, { batch: 3 });
  const params = initParams(g, dims, 7);
  const x = t([3, 3], [0.5, -1, 2, 1.5, 0.25, -0.75, -2, 1, 0.1]);
  const y = t([3, 2], [1, 0, 0, 1, 0, 1]);
  const feeds = new Map([
    ["x", x],
    ["y", y],
  ]);

  /** The same model, written out by hand in float64. */
  function byHand(): { p: number[][]; loss: number } {
    const W0 = params.get("W0")!.data, b0 = params.get("b0")!.data, W1 = params.get("W1")!.data, b1 = params.get("b1")!.data;
    const p: number[][] = [];
    let ce = 0;
    for (let r = 0; r < 3; r++) {
      const h = [0, 1, 2, 3].map((j) => Math.max(0, b0[j]! + [0, 1, 2].reduce((s, i) => s + x.data[r * 3 + i]! * W0[i * 4 + j]!, 0)));
      const z = [0, 1].map((j) => b1[j]! + h.reduce((s, hv, i) => s + hv * W1[i * 2 + j]!, 0));
      const e = z.map(Math.exp);
      const row = e.map((v) => v / (e[0]! + e[1]!));
      p.push(row);
      ce -= y.data[r * 2]! * Math.log(row[0]!) + y.data[r * 2 + 1]! * Math.log(row[1]!);
    }
    const sumsq = [...W0].reduce((s, v) => s + v * v, 0);
    return { p, loss: ce / 3 + (0.01 * sumsq) / 3 };
  }

  it("a 2-layer MLP matches a hand-written float64 computation", () => {
    const values = interpret(g, { dims, feeds, params, training: false, seed: 0 });
    const want = byHand();
    const p = values[g.outputs[0]!.node]!;
    expect(p.shape).toEqual([3, 2]);
    want.p.flat().forEach((v, i) => expect(p.data[i]).toBeCloseTo(v, 13));
    const loss = values[g.loss!.node]!;
    expect(loss.shape).toEqual([]);
    expect(loss.data[0]).toBeCloseTo(want.loss, 13);
    // Every node has a value of its inferred shape.
    for (const n of g.nodes) expect(values[n.id]!.shape).toEqual(resolveShape(g.shapes[n.id]!, dims));
  });

  it("evaluates only what the roots need: forward without the target", () => {
    const values = interpret(g, { dims, feeds: new Map([["x", x]]), params, training: false, seed: 0, roots: [g.outputs[0]!.node] });
    expect(values[g.outputs[0]!.node]!.shape).toEqual([3, 2]);
    expect(values[g.loss!.node]).toBeUndefined();
    expect(() => interpret(g, { dims, feeds: new Map([["x", x]]), params, training: false, seed: 0, roots: [g.loss!.node] })).toThrow(/missing target `y`/);
  });

  it("clear errors: a wrong input shape, a missing input or param, an unbound dim", () => {
    const wrong = new Map([
      ["x", t([3, 2], [1, 2, 3, 4, 5, 6])],
      ["y", y],
    ]);
    expect(() => interpret(g, { dims, feeds: wrong, params, training: false, seed: 0 })).toThrow("input `x` has shape [3, 2], but the model declares [batch, 3] = [3, 3]");
    expect(() => interpret(g, { dims, feeds: new Map([["y", y]]), params, training: false, seed: 0 })).toThrow(/missing input `x`/);
    expect(() => interpret(g, { dims, feeds: new Map([["X", x], ["y", y]]), params, training: false, seed: 0 })).toThrow(/`X` is fed but is not an input or target/);
    const noW1 = new Map(params);
    noW1.delete("W1");
    expect(() => interpret(g, { dims, feeds, params: noW1, training: false, seed: 0 })).toThrow(/missing param `W1`/);
    const badW1 = new Map(params).set("W1", tensor([2, 4]));
    expect(() => interpret(g, { dims, feeds, params: badW1, training: false, seed: 0 })).toThrow("param `W1` has shape [2, 4], but the model declares [4, 2]");
    expect(() => bindDims(g, {})).toThrow(/`batch`/);
    expect(() => bindDims(g, { batch: 3, btach: 2 })).toThrow(/`btach` is not a dim/);
    expect(() => bindDims(g, { batch: 0 })).toThrow(/positive integer/);
    expect(() => interpret(g, { dims: new Map(), feeds, params, training: false, seed: 0 })).toThrow(/dim `batch`/);
  });

  it("uses dim defaults, and dims as values", () => {
    const g2 = shaped("dim batch = 4\ndim n = 3\ninput x: [batch, n]\nloss = sum(x) / batch + n\n");
    const d2 = bindDims(g2, { n: 3 });
    expect(d2.get("batch")).toBe(4);
    const v = interpret(g2, { dims: d2, feeds: new Map([["x", t([4, 3], rand(12, 4))]]), params: new Map(), training: false, seed: 0 });
    expect(v[g2.loss!.node]!.data[0]).toBeCloseTo(rand(12, 4).reduce((s, a) => s + a, 0) / 4 + 3, 13);
  });

  it("dropout in a model: each dropout its own stream, active only in training", () => {
    const g3 = shaped("dim batch\ninput x: [batch, 8]\na = dropout(x, 0.5)\nb = dropout(x, 0.5)\noutput a, b\n");
    const d3 = bindDims(g3, { batch: 4 });
    const xs = t([4, 8], rand(32, 8).map((v) => v + 2)); // no zeros, so a dropped element is visible
    const env = { dims: d3, feeds: new Map([["x", xs]]), params: new Map<string, Tensor>(), seed: 99 };
    const [ia, ib] = [nodeNamed(g3, "a"), nodeNamed(g3, "b")];
    const trained = interpret(g3, { ...env, training: true, step: 5 });
    const streams = [ia, ib].map((id) => (g3.nodes[id]!.op === "dropout" ? (g3.nodes[id]!.attrs as OpAttrs["dropout"]).stream : -1));
    expect(new Set(streams).size).toBe(2);
    [ia, ib].forEach((id, k) => {
      for (let i = 0; i < 32; i++) {
        const kept = uniform01(99, DROPOUT_STREAM + streams[k]!, 5, i) >= 0.5;
        expect(trained[id]!.data[i]).toBe(kept ? xs.data[i]! * 2 : 0);
      }
    });
    expect([...trained[ia]!.data]).not.toEqual([...trained[ib]!.data]);
    const inference = interpret(g3, { ...env, training: false });
    expect([...inference[ia]!.data]).toEqual([...xs.data]);
  });

  it("integer ids through embed and one_hot; an id out of range names the id", () => {
    const g4 = shaped("dim batch\ninput ids: int[batch, 3]\nparam E: [5, 2]\ne = embed(ids, E)\no = one_hot(ids, 5)\noutput e, o\n");
    const d4 = bindDims(g4, { batch: 2 });
    const ps = initParams(g4, d4, 3);
    const ids = t([2, 3], [0, 4, 2, 2, 1, 0]);
    const v = interpret(g4, { dims: d4, feeds: new Map([["ids", ids]]), params: ps, training: false, seed: 0 });
    const E = ps.get("E")!.data;
    const e = v[nodeNamed(g4, "e")]!;
    expect(e.shape).toEqual([2, 3, 2]);
    [...ids.data].forEach((id, i) => expect([e.data[2 * i], e.data[2 * i + 1]]).toEqual([E[2 * id], E[2 * id + 1]]));
    expect(v[nodeNamed(g4, "o")]!.shape).toEqual([2, 3, 5]);
    const bad = t([2, 3], [0, 5, 2, 2, 1, 0]);
    expect(() => interpret(g4, { dims: d4, feeds: new Map([["ids", bad]]), params: ps, training: false, seed: 0 })).toThrow(/id 5 .*5/);
  });

  it("runs a small conv net end to end with the shapes the compiler inferred", () => {
    const g5 = shaped(
      [
        "dim batch",
        "input img: [batch, 6, 6, 1]",
        "target y: [batch, 3]",
        "param K: [3, 3, 1, 2] = he",
        "param W: [_, 3]",
        "c = relu(conv2d(img, K, padding = \"same\"))",
        "f = flatten(maxpool2d(c))",
        "z = f W",
        "loss = softmax_cross_entropy(z, y)",
        "acc = accuracy(z, y)",
        "output z, acc",
      ].join("\n"),
    );
    const d5 = bindDims(g5, { batch: 2 });
    const ps = initParams(g5, d5, 1);
    expect(ps.get("W")!.shape).toEqual([18, 3]);
    const img = randT([2, 6, 6, 1], 31);
    const yy = t([2, 3], [0, 1, 0, 1, 0, 0]);
    const v = interpret(g5, { dims: d5, feeds: new Map([["img", img], ["y", yy]]), params: ps, training: false, seed: 0 });
    // Recompute by the kernels' definitions, independently of interpret's wiring.
    const c = naiveConv(img, ps.get("K")!, 1, "same").data.map((q) => Math.max(q, 0));
    const pooled = run("maxpool2d", [t([2, 6, 6, 2], [...c])], { size: 2 });
    const z = run("matmul", [t([2, 18], [...pooled.data]), ps.get("W")!], {});
    expectTensor(v[nodeNamed(g5, "z")]!, [2, 3], [...z.data], 12);
    expect(v[g5.loss!.node]!.data[0]).toBeCloseTo(run("softmax_cross_entropy", [z, yy], {}).data[0]!, 12);
  });

  it("runs the backward nodes of a differentiated graph: gradients match central differences", () => {
    // Exercises the internal ops (conv2d_grad_*, maxpool2d_grad, dropout_mask, sum_to, ...) as the
    // gradient pass emits them. Targets are one-hot: the fused softmax cross-entropy rule assumes rows of y sum to 1.
    const src = [
      "dim batch",
      "input img: [batch, 7, 7, 2]",
      "target y: [batch, 2]",
      "param K1: [3, 3, 2, 3] = he",
      "param K2: [2, 2, 3, 2] = he",
      "param b: [2] = uniform(-0.1, 0.1)",
      "param W: [_, 2]",
      "c = tanh(conv2d(img, K1, stride = 2, padding = \"same\"))",
      "d = maxpool2d(conv2d(c, K2, padding = \"same\"), size = 2)",
      "z = dropout(flatten(d), 0.25) W + b",
      "loss = softmax_cross_entropy(z, y) + 0.1 * hinge(z, y) + 0.01 * sumsq(W)",
    ].join("\n");
    const r = runGrad("grad.nn", src);
    if (!r.grad) throw new Error(r.diagnostics.sorted().map((d) => d.message).join("\n"));
    const gg = r.grad;
    const dims = bindDims(gg, { batch: 2 });
    const params = initParams(gg, dims, 5);
    const feeds = new Map([
      ["img", randT([2, 7, 7, 2], 41)],
      ["y", t([2, 2], [0, 1, 1, 0])],
    ]);
    const env = { dims, feeds, training: true, seed: 3, step: 1 };
    const values = interpret(gg, { ...env, params });
    const lossAt = (ps: ReadonlyMap<string, Tensor>) => interpret(gg, { ...env, params: ps, roots: [gg.loss!.node] })[gg.loss!.node]!.data[0]!;
    expect(gg.gradients.map((x) => x.name).sort()).toEqual(["K1", "K2", "W", "b"]);
    for (const grad of gg.gradients) {
      const p = params.get(grad.name)!;
      const analytic = values[grad.node]!;
      expect(analytic.shape).toEqual(p.shape);
      for (let i = 0; i < p.data.length; i++) {
        const nudged = (h: number) => {
          const data = p.data.slice();
          data[i]! += h;
          return lossAt(new Map(params).set(grad.name, { shape: p.shape, data }));
        };
        const numeric = (nudged(1e-6) - nudged(-1e-6)) / 2e-6;
        expect(analytic.data[i], `${grad.name}[${i}]`).toBeCloseTo(numeric, 7);
      }
    }
  });
});
