// Every derivative rule against central finite differences in float64, over
// several shapes (broadcasting included): the gradient of sum(f(A, B) ⊙ R)
// for a random cotangent R, element by element, and the full Jacobian (one
// basis cotangent at a time) for tiny outputs. Then every example.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { formatGradCheck, gradcheck } from "../src/check/gradcheck.ts";
import { interpret } from "../src/interp/interpret.ts";
import { tensor } from "../src/interp/tensor.ts";
import { runGrad } from "../src/pipeline.ts";
import { NARROW, rendered } from "./helpers.ts";

const POS = "uniform(0.5, 1.5)";
const ANY = "uniform(-1, 1)";

interface Case {
  /** The expression, over params A and B (and C). */
  expr: string;
  a: string;
  b?: string;
  c?: string;
  /** Initializers, for ops defined only on part of the line. */
  initA?: string;
  initB?: string;
  /** The result's shape; [] for losses. */
  out: number[];
  extra?: string;
}

const CASES: Case[] = [
  { expr: "A + B", a: "[2, 3]", b: "[3]", out: [2, 3] },
  { expr: "A + B", a: "[2, 1]", b: "[1, 3]", out: [2, 3] },
  { expr: "A - B", a: "[2, 3]", b: "[]", out: [2, 3] },
  { expr: "A * B", a: "[2, 3]", b: "[2, 1]", out: [2, 3] },
  { expr: "A / B", a: "[2, 3]", b: "[3]", initB: POS, out: [2, 3] },
  { expr: "A ^ 3", a: "[2, 3]", out: [2, 3] },
  { expr: "A ^ B", a: "[2, 3]", b: "[3]", initA: POS, out: [2, 3] },
  { expr: "maximum(A, B)", a: "[2, 3]", b: "[3]", out: [2, 3] },
  { expr: "minimum(A, B)", a: "[2, 3]", b: "[2, 3]", out: [2, 3] },
  { expr: "-A", a: "[4]", out: [4] },
  { expr: "relu(A)", a: "[2, 3]", out: [2, 3] },
  { expr: "leaky_relu(A, slope = 0.2)", a: "[2, 3]", out: [2, 3] },
  { expr: "sigmoid(A)", a: "[2, 3]", out: [2, 3] },
  { expr: "tanh(A)", a: "[2, 3]", out: [2, 3] },
  { expr: "exp(A)", a: "[2, 3]", out: [2, 3] },
  { expr: "log(A)", a: "[2, 3]", initA: POS, out: [2, 3] },
  { expr: "sqrt(A)", a: "[2, 3]", initA: POS, out: [2, 3] },
  { expr: "abs(A)", a: "[2, 3]", out: [2, 3] },
  { expr: "gelu(A)", a: "[2, 3]", initA: "uniform(-3, 3)", out: [2, 3] },
  { expr: 'gelu(A, approximate = "tanh")', a: "[2, 3]", initA: "uniform(-3, 3)", out: [2, 3] },
  { expr: "silu(A)", a: "[2, 3]", initA: "uniform(-3, 3)", out: [2, 3] },
  { expr: "softplus(A)", a: "[2, 3]", initA: "uniform(-3, 3)", out: [2, 3] },
  { expr: "elu(A)", a: "[2, 3]", initA: "uniform(-3, 3)", out: [2, 3] },
  { expr: "elu(A, alpha = 0.5)", a: "[2, 3]", initA: "uniform(-3, 3)", out: [2, 3] },
  { expr: "A B", a: "[2, 3]", b: "[3, 4]", out: [2, 4] },
  { expr: "A B", a: "[3]", b: "[3, 4]", out: [4] },
  { expr: "A B", a: "[2, 3]", b: "[3]", out: [2] },
  { expr: "A B", a: "[3]", b: "[3]", out: [] },
  { expr: "A B", a: "[2, 2, 3]", b: "[3, 4]", out: [2, 2, 4] },
  { expr: "A B", a: "[2, 2, 3]", b: "[2, 3, 2]", out: [2, 2, 2] },
  { expr: "A B", a: "[3]", b: "[2, 3, 2]", out: [2, 2] },
  { expr: "A.T B", a: "[3, 2]", b: "[3, 4]", out: [2, 4] },
  // Batch axes that broadcast: each gradient is summed back to its operand's shape.
  { expr: "A B", a: "[2, 1, 2, 3]", b: "[3, 3, 2]", out: [2, 3, 2, 2] },
  { expr: "A B", a: "[3, 2, 3]", b: "[2, 1, 3, 2]", out: [2, 3, 2, 2] },
  { expr: "A B", a: "[2, 1, 2, 3]", b: "[1, 2, 3, 2]", out: [2, 2, 2, 2] },
  { expr: "A B C", a: "[2, 1, 2, 3]", b: "[2, 3, 2]", out: [2, 2, 2, 3], extra: "param C: [2, 2, 3] = uniform(-1, 1)" },
  { expr: "A B", a: "[3]", b: "[2, 1, 3, 2]", out: [2, 1, 2] },
  { expr: "transpose(A)", a: "[2, 3]", out: [3, 2] },
  { expr: "reshape(A, [3, 2])", a: "[2, 3]", out: [3, 2] },
  { expr: "flatten(A)", a: "[2, 2, 2]", out: [2, 4] },
  { expr: "softmax(A)", a: "[2, 3]", out: [2, 3] },
  { expr: "softmax(A, axis = 0)", a: "[2, 3]", out: [2, 3] },
  { expr: "log_softmax(A)", a: "[2, 3]", out: [2, 3] },
  { expr: "sum(A)", a: "[2, 3]", out: [] },
  { expr: "sum(A, axis = 0)", a: "[2, 3]", out: [3] },
  { expr: "sum(A, axis = -1, keepdims = true)", a: "[2, 3]", out: [2, 1] },
  { expr: "mean(A, axis = 1)", a: "[2, 3, 2]", out: [2, 2] },
  { expr: "mean(A)", a: "[2, 3]", out: [] },
  { expr: "max(A, axis = -1)", a: "[2, 3]", out: [2] },
  { expr: "max(A)", a: "[2, 3]", out: [] },
  { expr: "logsumexp(A, axis = -1)", a: "[2, 3]", out: [2] },
  { expr: "logsumexp(A, axis = 0, keepdims = true)", a: "[2, 3]", out: [1, 3] },
  { expr: "logsumexp(A)", a: "[2, 3]", out: [] },
  { expr: "dropout(A, 0.5)", a: "[4, 4]", out: [4, 4] },
  // Structural ops (src/ops/structure.ts) and reductions over several axes.
  { expr: "concat(A, B)", a: "[2, 3]", b: "[2, 2]", out: [2, 5] },
  { expr: "concat(A, B, A, axis = 0)", a: "[2, 3]", b: "[1, 3]", out: [5, 3] },
  { expr: "concat(A, B, axis = 1)", a: "[2, 1, 2]", b: "[2, 2, 2]", out: [2, 3, 2] },
  { expr: "slice(A, 1, 3)", a: "[2, 4]", out: [2, 2] },
  { expr: "slice(A, -2, axis = 0)", a: "[3, 2]", out: [2, 2] },
  { expr: "slice(A, 0, -1, axis = 1)", a: "[2, 3, 2]", out: [2, 2, 2] },
  { expr: "take(A, -1, axis = 1)", a: "[2, 3, 2]", out: [2, 2] },
  { expr: "take(A, 0, axis = 0) * B", a: "[3, 2]", b: "[2]", out: [2] },
  { expr: "permute(A, [2, 0, 1])", a: "[2, 3, 2]", out: [2, 2, 3] },
  { expr: "permute(A, [1, 0])", a: "[2, 3]", out: [3, 2] },
  { expr: "sum(A, axis = [0, 2])", a: "[2, 3, 2]", out: [3] },
  { expr: "mean(A, axis = [-1, 1], keepdims = true)", a: "[2, 3, 2]", out: [2, 1, 1] },
  { expr: "max(A, axis = [1, 2])", a: "[2, 3, 2]", out: [2] },
  { expr: "var(A)", a: "[2, 3]", out: [] },
  { expr: "var(A, axis = -1)", a: "[2, 3]", out: [2] },
  { expr: "var(A, axis = [0, 2], keepdims = true)", a: "[2, 3, 2]", out: [1, 3, 1] },
  { expr: "where(greater(A, B), A, B)", a: "[2, 3]", b: "[3]", out: [2, 3] },
  { expr: "where(less(A, 0), A * B, 2)", a: "[2, 3]", b: "[2, 1]", out: [2, 3] },
  { expr: "greater(A, B) * A + less(A, B) * B", a: "[2, 3]", b: "[2, 3]", out: [2, 3] },
  { expr: "causal_mask(A)", a: "[3, 3]", out: [3, 3] },
  { expr: "causal_mask(A, fill = 0)", a: "[2, 2, 3]", out: [2, 2, 3] },
  { expr: "softmax(causal_mask(A B))", a: "[2, 3, 2]", b: "[2, 3]", out: [2, 3, 3] },
  { expr: "logsumexp(A, axis = [0, 2])", a: "[2, 3, 2]", out: [3] },
  { expr: "A[:, -1] * B[0]", a: "[2, 3]", b: "[2, 2]", out: [2] },
  { expr: "A[..., 1:] + A[1:, ..., :-1]", a: "[2, 3]", out: [2, 2] },
  { expr: "A[0][1:]", a: "[2, 3, 2]", out: [2, 2] },
  { expr: "conv2d(A, B)", a: "[1, 4, 4, 2]", b: "[3, 3, 2, 2]", out: [1, 2, 2, 2] },
  { expr: 'conv2d(A, B, padding = "same")', a: "[1, 3, 3, 1]", b: "[2, 2, 1, 2]", out: [1, 3, 3, 2] },
  { expr: 'conv2d(A, B, stride = 2, padding = "same")', a: "[2, 5, 5, 1]", b: "[3, 3, 1, 1]", out: [2, 3, 3, 1] },
  { expr: "maxpool2d(A)", a: "[1, 4, 4, 2]", out: [1, 2, 2, 2] },
  { expr: "embed(ids, A)", a: "[5, 3]", out: [2, 3, 3], extra: "input ids: int[2, 3]" },
  { expr: "mse(A, B)", a: "[2, 3]", b: "[2, 3]", out: [] },
  { expr: "cross_entropy(softmax(A), y)", a: "[2, 3]", out: [], extra: "target y: [2, 3]" },
  { expr: "cross_entropy(exp(A) / sum(exp(A), axis = -1, keepdims = true), y)", a: "[2, 3]", out: [], extra: "target y: [2, 3]" },
  { expr: "softmax_cross_entropy(A, y)", a: "[2, 3]", out: [], extra: "target y: [2, 3]" },
  { expr: "binary_cross_entropy(sigmoid(A), t)", a: "[2, 3]", out: [], extra: "target t: [2, 1]\nt3 = t * ones3", c: "ones3" },
  { expr: "binary_cross_entropy(sigmoid(A) * 0.8 + 0.1, B)", a: "[2, 3]", b: "[2, 3]", initB: "uniform(0.1, 0.9)", out: [] },
  { expr: "hinge(A, y)", a: "[2, 3]", out: [], extra: "target y: [2, 3]" },
  { expr: "sumsq(A)", a: "[2, 3]", out: [] },
  { expr: "sumabs(A)", a: "[2, 3]", out: [] },
  { expr: "layernorm(A, B, C)", a: "[2, 3, 4]", b: "[4]", out: [2, 3, 4], extra: "param C: [4] = uniform(-1, 1)" },
  { expr: "layernorm(A, B, C, eps = 0.5)", a: "[3, 4]", b: "[4]", out: [3, 4], extra: "param C: [_] = uniform(-1, 1)" },
  { expr: "batchnorm(A, B, C)", a: "[4, 3]", b: "[3]", out: [4, 3], extra: "param C: [3] = uniform(-1, 1)" },
  { expr: "batchnorm(A, B, C, momentum = 0.5, eps = 0.1)", a: "[2, 2, 3, 2]", b: "[_]", out: [2, 2, 3, 2], extra: "param C: [_] = uniform(-1, 1)" },
  { expr: "avgpool2d(A)", a: "[2, 4, 4, 2]", out: [2, 2, 2, 2] },
  { expr: "avgpool2d(A, size = 2)", a: "[1, 5, 3, 2]", out: [1, 2, 1, 2] },
  { expr: "global_avgpool(A)", a: "[2, 3, 2, 3]", out: [2, 3] },
  { expr: "sparse_cross_entropy(A, y)", a: "[3, 4]", out: [], extra: "target y: int[3]" },
  { expr: "sparse_cross_entropy(A, y)", a: "[2, 3, 4]", out: [], extra: "target y: int[2, 3]" },
  { expr: "sumsq(A) + sum(A B)", a: "[2, 3]", b: "[3]", out: [] },
];

function model(c: Case): string {
  const lines = [`param A: ${c.a} = ${c.initA ?? ANY}`];
  if (c.b) lines.push(`param B: ${c.b} = ${c.initB ?? ANY}`);
  if (c.extra) lines.push(c.extra);
  if (c.c) lines.push(`input ${c.c}: [2, 3]`);
  const expr = c.c ? c.expr.replace(", t)", ", t3)") : c.expr;
  if (c.out.length === 0) lines.push(`loss = ${expr}`);
  else lines.push(`input R: [${c.out.join(", ")}]`, `f = ${expr}`, "loss = sum(f * R)");
  return lines.join("\n") + "\n";
}

describe.each(CASES)("d/dA, d/dB of $expr with A: $a, B: $b", (c) => {
  const text = model(c);
  const r = runGrad("op.nn", text);

  it("differentiates", () => {
    expect(r.grad, rendered(r) + text).toBeDefined();
  });

  it("matches finite differences, element by element", () => {
    const check = gradcheck(r.grad!, { fullLimit: 10_000, seed: 3 });
    expect(check.ok, formatGradCheck(check) + text).toBe(true);
  });

  it("matches along random directions", () => {
    const check = gradcheck(r.grad!, { fullLimit: 0, directions: 3, seed: 5 });
    expect(check.ok, formatGradCheck(check) + text).toBe(true);
  });

  const outSize = c.out.reduce((a, b) => a * b, 1);
  // Tiny non-scalar results only: a loss's Jacobian is its gradient, checked above.
  if (c.out.length > 0 && outSize <= 12) it("has the right full Jacobian", () => {
    // One basis cotangent at a time: each row of the Jacobian against finite differences.
    for (let k = 0; k < outSize; k++) {
      const basis = new Float64Array(outSize);
      basis[k] = 1;
      const check = gradcheck(r.grad!, { fullLimit: 10_000, seed: 7, feeds: new Map([["R", tensor(c.out, basis)]]) });
      expect(check.ok, `row ${k}\n` + formatGradCheck(check) + text).toBe(true);
    }
  });
});

describe("every example", () => {
  const dir = join(import.meta.dirname, "..", "examples");
  const files = readdirSync(dir).filter((f) => f.endsWith(".nn")).sort();
  it.each(files)("%s passes gradcheck", (file) => {
    const r = runGrad(file, readFileSync(join(dir, file), "utf8"));
    expect(r.grad, rendered(r)).toBeDefined();
    // Small sizes keep it quick; the derivation does not depend on them.
    const dims = { ...Object.fromEntries(r.grad!.dims.map((d) => [d.name, Math.min(d.default ?? 3, 24)])), ...NARROW[file] };
    const check = gradcheck(r.grad!, { dims, seed: 11 });
    expect(check.ok, formatGradCheck(check)).toBe(true);
  });
});

describe("stability", () => {
  it("keeps softmax + cross-entropy finite for logits of ±1e4, in value and gradient", () => {
    const r = runGrad("big.nn", "dim batch\ninput x: [batch, 3]\ntarget y: [batch, 3]\nparam W: [3, 3]\np = softmax(x W)\nloss = cross_entropy(p, y)\n");
    const w = tensor([3, 3], [1e4, -1e4, 0, -1e4, 1e4, 0, 0, 0, 1e4]);
    const check = gradcheck(r.grad!, { dims: { batch: 2 }, params: new Map([["W", w]]), feeds: new Map([["x", tensor([2, 3], [1, 0, 0, 0, 1, 0])], ["y", tensor([2, 3], [0, 0, 1, 1, 0, 0])]]) });
    expect(Number.isFinite(check.loss)).toBe(true);
    expect(check.loss).toBeCloseTo(1.5e4, 6); // rows: logsumexp − z_label = 1e4 and 2e4
    expect(check.ok, formatGradCheck(check)).toBe(true);
  });
});

describe("logsumexp", () => {
  it("stays finite for values of ±1e4, with the softmax as its slope", () => {
    const r = runGrad("lse.nn", "param W: [2, 3]\nloss = sum(logsumexp(W, axis = -1))\n");
    const w = tensor([2, 3], [1e4, -1e4, 0, 1e4, 1e4, -1e4]);
    const check = gradcheck(r.grad!, { params: new Map([["W", w]]) });
    expect(check.loss).toBeCloseTo(1e4 + 1e4 + Math.log(2), 6);
    expect(check.ok, formatGradCheck(check)).toBe(true);
  });
});

describe("stop_gradient: a backward pass written by hand", () => {
  const text = "param A: [2, 3] = uniform(-1, 1)\ninput R: [2, 3]\nf = A + stop_gradient(relu(A) - A)\nloss = sum(f * R)\n";
  const r = runGrad("sg.nn", text);
  const g = r.grad!;
  const a = tensor([2, 3], [-1, -0.5, 0.25, 0.5, -0.75, 1]);
  const rr = tensor([2, 3], [1, 2, 3, 4, 5, 6]);
  const values = interpret(g, { dims: new Map(), params: new Map([["A", a]]), feeds: new Map([["R", rr]]), seed: 1, step: 0, training: true });

  it("computes the forward function: relu(A)", () => {
    const f = g.nodes.find((n) => n.name === "f")!;
    expect([...values[f.id]!.data]).toEqual([0, 0, 0.25, 0.5, 0, 1]);
  });

  it("differentiates as the identity: dA = R, also where relu is flat", () => {
    expect([...values[g.gradients.find((x) => x.name === "A")!.node]!.data]).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("passes gradcheck, which holds every stop_gradient at its value", () => {
    const check = gradcheck(g, { fullLimit: 10_000, seed: 3, params: new Map([["A", a]]) });
    expect(check.ok, formatGradCheck(check)).toBe(true);
  });
});

describe("tied inputs: the tie rules of docs/language.md", () => {
  /** The gradients of a model at given params, by name, and its gradcheck. */
  function at(text: string, params: Record<string, [number[], number[]]>, feeds: Record<string, [number[], number[]]> = {}) {
    const r = runGrad("tie.nn", text);
    expect(r.grad, rendered(r)).toBeDefined();
    const g = r.grad!;
    const p = new Map(Object.entries(params).map(([k, [s, d]]) => [k, tensor(s, d)]));
    const f = new Map(Object.entries(feeds).map(([k, [s, d]]) => [k, tensor(s, d)]));
    const values = interpret(g, { dims: new Map(), params: p, feeds: f, seed: 1, step: 0, training: true });
    const grads = Object.fromEntries(g.gradients.map((x) => [x.name, [...values[x.node]!.data]]));
    return { grads, check: gradcheck(g, { fullLimit: 10_000, params: p, feeds: f }) };
  }

  it("max(x, axis) splits the gradient evenly between two tied maxima (the issue's repro: dL/dw = [1, 1])", () => {
    const text = "param w: [1, 2] = ones\ninput x: [1, 1]\ntarget y: [1, 1]\nh = max(x w, axis = 1, keepdims = true)\nloss = mse(h, y)\n";
    const { grads, check } = at(text, { w: [[1, 2], [1, 1]] }, { x: [[1, 1], [1]], y: [[1, 1], [0]] });
    expect(grads.w).toEqual([1, 1]);
    // Two ties: the central difference is exactly the even split, so nothing is non-smooth.
    expect(check.ok, formatGradCheck(check)).toBe(true);
    expect(check.params[0]!.nonSmooth).toBe(0);
  });

  it("max with no axis and three ties in a row of four: each tie gets a third", () => {
    const text = "param A: [2, 4]\ninput R: []\nloss = max(A) * R\n";
    const { grads, check } = at(text, { A: [[2, 4], [1, 0, 1, 0.5, 1, -1, 0, 0]] }, { R: [[], [3]] });
    expect(grads.A).toEqual([1, 0, 1, 0, 1, 0, 0, 0]);
    // Three ties: one-sided slopes 3 and 0 bracket the analytic 1, a kink.
    expect(check.ok, formatGradCheck(check)).toBe(true);
    expect(check.params[0]!.nonSmooth).toBe(3);
  });

  it("max(x, axis) counts ties per row", () => {
    const text = "param A: [2, 3]\ninput R: [2]\nf = max(A, axis = -1)\nloss = sum(f * R)\n";
    const { grads } = at(text, { A: [[2, 3], [2, 2, 1, 0, 5, 0]] }, { R: [[2], [4, 6]] });
    expect(grads.A).toEqual([2, 2, 0, 0, 6, 0]);
  });

  it("maximum and minimum send a tie's whole gradient to b", () => {
    for (const fn of ["maximum", "minimum"]) {
      const text = `param A: [3]\nparam B: [3]\ninput R: [3]\nf = ${fn}(A, B)\nloss = sum(f * R)\n`;
      const { grads, check } = at(text, { A: [[3], [1, 2, 3]], B: [[3], [1, 0, 4]] }, { R: [[3], [1, 1, 1]] });
      const first = fn === "maximum" ? [0, 1, 0] : [0, 0, 1];
      expect(grads.A, fn).toEqual(first);
      expect(grads.B, fn).toEqual(first.map((v) => 1 - v));
      expect(check.ok, formatGradCheck(check)).toBe(true);
      expect(check.params.map((p) => p.nonSmooth), fn).toEqual([1, 1]);
    }
  });

  it("maxpool2d sends a tie's whole gradient to the first maximum of the window, in row-major order", () => {
    const text = "param A: [1, 2, 2, 1]\ninput R: [1, 1, 1, 1]\nf = maxpool2d(A)\nloss = sum(f * R)\n";
    const { grads, check } = at(text, { A: [[1, 2, 2, 1], [0, 1, 1, 1]] }, { R: [[1, 1, 1, 1], [2]] });
    expect(grads.A).toEqual([0, 2, 0, 0]);
    expect(check.ok, formatGradCheck(check)).toBe(true);
  });
});
