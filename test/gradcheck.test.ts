// gradcheck must be a checker a user can trust: correct gradients pass on
// every example and seed (also beside the kinks of relu, abs, max), kinks are
// reported as non-smooth rather than as failures, zero gradients are held to
// an absolute tolerance, and a wrong gradient still fails.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { formatGradCheck, gradcheck } from "../src/check/gradcheck.ts";
import { tensor } from "../src/interp/tensor.ts";
import { runGrad } from "../src/pipeline.ts";
import { NARROW, rendered } from "./helpers.ts";

const dir = join(import.meta.dirname, "..", "examples");
const examples = readdirSync(dir).filter((f) => f.endsWith(".nn")).sort();

function grad(path: string, text: string) {
  const r = runGrad(path, text);
  expect(r.grad, rendered(r)).toBeDefined();
  return r.grad!;
}

describe("every example passes with seeds 1 to 10", () => {
  it.each(examples)("%s", (file) => {
    const g = grad(file, readFileSync(join(dir, file), "utf8"));
    // The dims a user gets by default, capped so that ten seeds stay quick (batch 2; hidden 512 → 64).
    const dims = { ...Object.fromEntries(g.dims.map((d) => [d.name, d.default === undefined ? 2 : Math.min(d.default, 64)])), ...NARROW[file] };
    for (let seed = 1; seed <= 10; seed++) {
      const check = gradcheck(g, { dims, seed });
      expect(check.ok, `seed ${seed}\n${formatGradCheck(check)}`).toBe(true);
    }
    // Ten float64 checks of a convnet (mnist_resnet.nn: about 10 s alone) outlast the default minute on a loaded machine.
  }, 300_000);
});

describe("the issue's false alarms", () => {
  it("keras_mnist.nn with the default dims and seed: W0's finite difference straddles a relu kink", () => {
    const g = grad("keras_mnist.nn", readFileSync(join(dir, "keras_mnist.nn"), "utf8"));
    const check = gradcheck(g);
    expect(check.ok, formatGradCheck(check)).toBe(true);
  });

  it("a gradient that is zero up to rounding passes (softmax over equal weight columns)", () => {
    const text = "dim batch\ninput x: [batch, 4]\ntarget y: [batch, 3]\nparam W0: [4, 5] = uniform(-1, 1)\nparam W1: [5, 3] = ones\nh = tanh(x W0)\np = softmax(h W1)\nloss = cross_entropy(p, y)\n";
    const check = gradcheck(grad("zero.nn", text));
    expect(check.ok, formatGradCheck(check)).toBe(true);
    expect(check.params.find((p) => p.name === "W0")!.maxAbsError).toBeLessThan(1e-12);
  });
});

describe("kinks and wrong gradients", () => {
  const text = "param A: [2, 3] = zeros\ninput R: [2, 3]\nf = relu(A)\nloss = sum(f * R)\n";
  const r = tensor([2, 3], [1, 2, 3, 4, 5, 6]);

  it("reports a point on a kink as non-smooth, not as a failure", () => {
    const check = gradcheck(grad("kink.nn", text), { fullLimit: 100, feeds: new Map([["R", r]]) });
    expect(check.ok).toBe(true);
    expect(check.params[0]!.nonSmooth).toBe(6);
    expect(formatGradCheck(check)).toContain("6 of 6 non-smooth");
  });

  it("fails a wrong gradient beside a kink, and a wrong smooth gradient", () => {
    // Q only adds a constant to the loss; pointing A's gradient at Q = 2R makes it wrong by R.
    const g = grad("kink.nn", text.replace("input R", "input Q: [2, 3]\ninput R").replace("sum(f * R)", "sum(f * R) + mean(Q)"));
    const q = g.nodes.find((n) => n.op === "input" && n.attrs.name === "Q")!.id;
    const wrong = { ...g, gradients: [{ ...g.gradients[0]!, node: q }] };
    const feeds = new Map([["R", r], ["Q", tensor([2, 3], [...r.data].map((v) => 2 * v))]]);
    // 1e-7 from the kink: inside the first step (1e-6), outside the smallest (1e-8).
    const beside = gradcheck(wrong, { fullLimit: 100, feeds, params: new Map([["A", tensor([2, 3], [1e-7, 1e-7, 1e-7, -1e-7, -1e-7, -1e-7])]]) });
    expect(beside.ok).toBe(false);
    expect(beside.params[0]!.nonSmooth).toBe(0);
    expect(formatGradCheck(beside)).toContain("FAILED");
    const off = gradcheck(wrong, { fullLimit: 100, feeds, params: new Map([["A", tensor([2, 3], [1, 1, 1, 1, 1, 1])]]) });
    expect(off.ok).toBe(false);
    expect(off.params[0]!.nonSmooth).toBe(0);
  });

  it("reports a point where many kinks meet as non-smooth (mnist_relu with W0 = zeros)", () => {
    const text = readFileSync(join(dir, "mnist_relu.nn"), "utf8").replace(/param W0: \[784, hidden\] = [^#\n]+/, "param W0: [784, hidden] = zeros ");
    const check = gradcheck(grad("zeros.nn", text), { dims: { batch: 2, hidden: 8 }, directions: 2 });
    expect(check.ok, formatGradCheck(check)).toBe(true);
    expect(check.params.find((p) => p.name === "W0")!.nonSmooth).toBeGreaterThan(0);
  });
});
