// The optimizers against references written here, independently of the
// runtime: PyTorch's update rules (torch.optim SGD, RMSprop, Adam, AdamW,
// Adagrad, as its documentation states them) in float64 over plain arrays.
// Then the one option table: the front end, the interpreter, the emitted
// CPU and WebGPU modules and docs/language.md all follow OPTIMIZERS. The WGSL
// shaders are run against the runtime in test/optim-webgpu.test.ts; PyTorch
// itself, where it is installed, at the end of this file.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { emitCpuModule } from "../src/backend/cpu/emit-module.ts";
import { newOptimizerSettings, OPTIMIZERS, optimizerSettings, optimizerStep, type OptimizerMethod, type OptimizerOptions } from "../src/backend/cpu/runtime/optim.ts";
import { emitWebgpuModule } from "../src/backend/webgpu/emit-module.ts";
import { initParams } from "../src/interp/init.ts";
import { bindDims, interpret } from "../src/interp/interpret.ts";
import { optimizerStep as interpStep } from "../src/interp/optim.ts";
import { tensor } from "../src/interp/tensor.ts";
import { runGrad } from "../src/pipeline.ts";
import { codes, frontEnd, rendered, seededRandom } from "./helpers.ts";

const ROOT = join(import.meta.dirname, "..");
const METHODS = Object.keys(OPTIMIZERS) as OptimizerMethod[];

interface Hyper {
  lr: number;
  wd: number;
  momentum: number;
  rho: number;
  beta1: number;
  beta2: number;
  eps: number;
}

/** PyTorch's rules, step by step over whole arrays; `state` holds the method's buffers, created on the first step. */
function referenceStep(method: OptimizerMethod, h: Hyper, p: number[], grad: number[], state: Map<string, number[]>, t: number): number[] {
  const buf = (name: string) => state.get(name) ?? state.set(name, p.map(() => 0)).get(name)!;
  // L2 weight decay as torch.optim adds it to the gradient (all but AdamW).
  const g = method === "adamw" ? grad : grad.map((gi, i) => gi + h.wd * p[i]!);
  switch (method) {
    case "sgd":
    case "momentum": {
      const mu = h.momentum;
      if (mu === 0) return p.map((pi, i) => pi - h.lr * g[i]!);
      // torch: buf = g on the first step, then buf = mu·buf + g (dampening 0, not Nesterov).
      const b = buf("momentum_buffer");
      g.forEach((gi, i) => (b[i] = t === 1 ? gi : mu * b[i]! + gi));
      return p.map((pi, i) => pi - h.lr * b[i]!);
    }
    case "rmsprop": {
      const sq = buf("square_avg");
      g.forEach((gi, i) => (sq[i] = h.rho * sq[i]! + (1 - h.rho) * gi * gi));
      return p.map((pi, i) => pi - (h.lr * g[i]!) / (Math.sqrt(sq[i]!) + h.eps));
    }
    case "adam":
    case "adamw": {
      // torch: θ ← θ·(1 − lr·wd) first (AdamW only), then step_size = lr / (1 − β1ᵗ), denom = √v / √(1 − β2ᵗ) + eps.
      const decayed = method === "adamw" ? p.map((pi) => pi * (1 - h.lr * h.wd)) : p;
      const m = buf("exp_avg");
      const v = buf("exp_avg_sq");
      g.forEach((gi, i) => {
        m[i] = h.beta1 * m[i]! + (1 - h.beta1) * gi;
        v[i] = h.beta2 * v[i]! + (1 - h.beta2) * gi * gi;
      });
      const stepSize = h.lr / (1 - h.beta1 ** t);
      const root2 = Math.sqrt(1 - h.beta2 ** t);
      return decayed.map((pi, i) => pi - (stepSize * m[i]!) / (Math.sqrt(v[i]!) / root2 + h.eps));
    }
    case "adagrad": {
      const sum = buf("sum");
      g.forEach((gi, i) => (sum[i] = sum[i]! + gi * gi));
      return p.map((pi, i) => pi - (h.lr * g[i]!) / (Math.sqrt(sum[i]!) + h.eps));
    }
  }
}

function maxRelError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let scale = 1e-12;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]!));
  let worst = actual.length === expected.length ? 0 : Infinity;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!) / scale);
  return Number.isNaN(worst) ? Infinity : worst;
}

/** Five steps of the runtime over Float64Array and of the reference, from the same params and gradients. */
function runBoth(method: OptimizerMethod, call: OptimizerOptions, seed: number): { runtime: Float64Array; reference: number[] } {
  const s = optimizerSettings({ ...call, optimizer: method }, {}, newOptimizerSettings());
  const h: Hyper = { lr: s.lr, wd: s.weightDecay, momentum: s.momentum, rho: s.rho, beta1: s.beta1, beta2: s.beta2, eps: s.eps };
  const r = seededRandom(seed);
  const n = 64;
  const p = Float64Array.from({ length: n }, () => 2 * r() - 1);
  const [m, v] = [new Float64Array(n), new Float64Array(n)];
  let reference = [...p];
  const state = new Map<string, number[]>();
  for (let t = 1; t <= 5; t++) {
    // Gradients over several magnitudes, some tiny, where eps matters.
    const g = Float64Array.from({ length: n }, (_, i) => (2 * r() - 1) * 10 ** -(i % 6));
    optimizerStep(s, p, 0, g, 0, m, 0, v, 0, n, t);
    reference = referenceStep(method, h, reference, [...g], state, t);
  }
  return { runtime: p, reference };
}

describe("each optimizer against PyTorch's rule, written independently", () => {
  for (const method of METHODS) {
    for (const call of [{ lr: 0.05 }, { lr: 0.05, weightDecay: 0.1 }, { lr: 0.01, momentum: 0.5, rho: 0.8, beta1: 0.8, beta2: 0.99, eps: 1e-3 }]) {
      it(`${method} ${JSON.stringify(call)}: five steps agree in float64`, () => {
        const { runtime, reference } = runBoth(method, call, method.length * 7 + Object.keys(call).length);
        expect(maxRelError(runtime, reference)).toBeLessThan(1e-12);
      });
    }
  }

  it("adamw decays decoupled from the gradient: unlike adam's L2, and equal to adam without decay", () => {
    const decoupled = runBoth("adamw", { lr: 0.05, weightDecay: 0.1 }, 3).runtime;
    const l2 = runBoth("adam", { lr: 0.05, weightDecay: 0.1 }, 3).runtime;
    expect(maxRelError(decoupled, l2)).toBeGreaterThan(1e-3);
    expect([...runBoth("adamw", { lr: 0.05, weightDecay: 0 }, 3).runtime]).toEqual([...runBoth("adam", { lr: 0.05 }, 3).runtime]);
  });

  it("adamw moves a weight with zero gradient by exactly lr·wd·θ", () => {
    const s = optimizerSettings({ optimizer: "adamw", lr: 0.1, weightDecay: 0.5 }, {}, newOptimizerSettings());
    const p = Float64Array.of(2, -4);
    optimizerStep(s, p, 0, new Float64Array(2), 0, new Float64Array(2), 0, new Float64Array(2), 0, 2, 1);
    expect([...p]).toEqual([2 * (1 - 0.05), -4 * (1 - 0.05)]);
  });
});

describe("the one option table", () => {
  it("resolves each option from the call, else the train statement, else the method's default", () => {
    const s = newOptimizerSettings();
    expect(optimizerSettings(undefined, { optimizer: "rmsprop" }, s)).toMatchObject({ method: "rmsprop", lr: 0.01, rho: 0.9, eps: 1e-7, weightDecay: 0 });
    expect(optimizerSettings({ eps: 1e-3 }, { optimizer: "rmsprop", eps: 1e-5, lr: 0.2 }, s)).toMatchObject({ eps: 1e-3, lr: 0.2 });
    // A call that switches optimizer gets that optimizer's defaults, not the file's method's.
    expect(optimizerSettings({ optimizer: "adam" }, { optimizer: "rmsprop" }, s)).toMatchObject({ method: "adam", eps: 1e-8, beta2: 0.999 });
    expect(optimizerSettings({ optimizer: "adamw" }, {}, s).weightDecay).toBe(0.01);
    expect(optimizerSettings({ optimizer: "momentum" }, { optimizer: "sgd" }, s).momentum).toBe(0.9);
    expect(() => optimizerSettings({ optimizer: "lamb" }, {}, s)).toThrow(/unknown optimizer "lamb"; use sgd, momentum, rmsprop, adam, adamw, adagrad/);
    expect(() => optimizerSettings({ lr: -1 }, {}, s)).toThrow(/lr must be a finite non-negative number/);
  });

  it("is what the front end accepts: each optimizer's own options and no other's", () => {
    const model = (train: string) => `model m\ndim batch\ninput x: [batch, 2]\ntarget y: [batch, 1]\nparam W: [2, 1]\nloss = mse(x W, y)\n${train}\n`;
    for (const method of METHODS) {
      const own = Object.keys(OPTIMIZERS[method]).map((k) => `${k === "weightDecay" ? "weight_decay" : k} = 0.5`);
      expect(codes(frontEnd(model(`train ${method}(lr = 0.1, ${own.join(", ")})`))), method).toEqual([]);
    }
    expect(codes(frontEnd(model("train adamw(rho = 0.9)")))).toEqual(["NNC219"]);
    expect(rendered(frontEnd(model("train adamw(rho = 0.9)")))).toContain("options: lr, batch, epochs, weight_decay, seed, beta1, beta2, eps");
  });

  it("drives both emitted modules: one call of the runtime's resolver, no switch of their own", () => {
    const r = runGrad("examples/keras_mnist.nn", readFileSync(join(ROOT, "examples/keras_mnist.nn"), "utf8"));
    if (!r.grad) throw new Error(rendered(r));
    const cpu = emitCpuModule(r.grad);
    const gpu = emitWebgpuModule(r.grad).code;
    for (const code of [cpu, gpu]) {
      // The CPU module resolves a step's options in trainStep (before the step: a plain SGD step is folded into it).
      expect(code).toMatch(/optimizerSettings\((o|options), TRAIN_DEFAULTS, /);
      expect(code).not.toMatch(/TRAIN_DEFAULTS\.\w/);
      // The module's copy of the table is the runtime's declaration, verbatim.
      const table = /export (const OPTIMIZERS = \{[\s\S]*?\} as const;)/.exec(readFileSync(join(ROOT, "src/backend/cpu/runtime/optim.ts"), "utf8"))![1]!;
      expect(code).toContain(table);
      // The file's own options only: rho, eps and lr as keras_mnist.nn states them.
      expect(code).toContain('const TRAIN_DEFAULTS: OptimizerOptions = { optimizer: "rmsprop", lr: 0.001, rho: 0.9, eps: 1e-7 };');
    }
  });

  it("is what docs/language.md states: each optimizer's defaults in its row", () => {
    const doc = readFileSync(join(ROOT, "docs/language.md"), "utf8");
    for (const method of METHODS) {
      const row = doc.split("\n").find((l) => l.startsWith(`| \`${method}\` |`));
      expect(row, `a row for ${method}`).toBeDefined();
      for (const [k, v] of Object.entries(OPTIMIZERS[method])) expect(row, `${method} ${k}`).toContain(`\`${k === "weightDecay" ? "weight_decay" : k} = ${v}\``);
    }
  });
});

describe("a model trained with adamw", () => {
  const text = [
    "model tiny",
    "dim batch",
    "input x: [batch, 3]",
    "target y: [batch, 2]",
    "param W: [3, 2] = xavier",
    "param b: [2] = normal(0, 0.1)",
    "p = x W + b",
    "output p",
    "loss = mse(p, y)",
    "train adamw(lr = 0.05, weight_decay = 0.2)",
  ].join("\n");

  it("takes the same steps in the CPU module, the interpreter and the reference rule", async () => {
    const r = runGrad("tiny.nn", text);
    if (!r.grad) throw new Error(rendered(r));
    const g = r.grad;
    const out = join(import.meta.dirname, ".generated");
    mkdirSync(out, { recursive: true });
    const path = join(out, "optim-adamw.ts");
    writeFileSync(path, emitCpuModule(g));
    type Data = Record<string, Float32Array>;
    const mod = (await import(pathToFileURL(path).href)) as { createModel(o: { dims: Record<string, number>; seed: number }): { params: Data; trainStep(b: Data): number } };
    const model = mod.createModel({ dims: { batch: 4 }, seed: 3 });
    const rnd = seededRandom(11);
    const batch = { x: Float32Array.from({ length: 12 }, () => 2 * rnd() - 1), y: Float32Array.from({ length: 8 }, () => rnd()) };
    const dims = bindDims(g, { batch: 4 });
    const feeds = new Map([["x", tensor([4, 3], Float64Array.from(batch.x))], ["y", tensor([4, 2], Float64Array.from(batch.y))]]);
    const current = new Map([...initParams(g, dims, 3)].map(([k, v]) => [k, tensor(v.shape, Float64Array.from(v.data, Math.fround))]));
    const interpState = new Map(g.params.map((p) => [p.name, [new Float64Array(current.get(p.name)!.data.length), new Float64Array(current.get(p.name)!.data.length)] as const]));
    const reference = new Map([...current].map(([k, v]) => [k, [...v.data]]));
    const refState = new Map(g.params.map((p) => [p.name, new Map<string, number[]>()]));
    const h: Hyper = { lr: 0.05, wd: 0.2, momentum: 0, rho: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8 };
    for (let t = 1; t <= 3; t++) {
      model.trainStep(batch);
      const vals = interpret(g, { dims, feeds, training: true, step: t - 1, seed: 3, params: current, roots: g.gradients.map((x) => x.node) });
      for (const x of g.gradients) {
        const [m, v] = interpState.get(x.name)!;
        interpStep(g.train, undefined, current.get(x.name)!.data, vals[x.node]!.data, m, v, t);
        reference.set(x.name, referenceStep("adamw", h, reference.get(x.name)!, [...vals[x.node]!.data], refState.get(x.name)!, t));
      }
    }
    for (const p of g.params) {
      expect(maxRelError(current.get(p.name)!.data, reference.get(p.name)!), `interpreter ${p.name}`).toBeLessThan(1e-12);
      expect(maxRelError(model.params[p.name]!, reference.get(p.name)!), `CPU module ${p.name}`).toBeLessThan(1e-5);
    }
  });
});

/** Whether PyTorch can be imported, or why not. */
function torchAvailable(): true | string {
  try {
    execFileSync("/usr/bin/python3", ["-c", "import torch"], { stdio: "pipe" });
    return true;
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    return (err.stderr?.toString().trim().split("\n").pop() ?? err.message) || "python3 failed";
  }
}

const torch = torchAvailable();
if (torch !== true) console.warn(`PyTorch comparison skipped: /usr/bin/python3 cannot import torch (${torch})`);

describe.skipIf(torch !== true)("each optimizer against PyTorch itself", () => {
  const TORCH_CLASS: { readonly [M in OptimizerMethod]: string } = { sgd: "SGD", momentum: "SGD", rmsprop: "RMSprop", adam: "Adam", adamw: "AdamW", adagrad: "Adagrad" };
  for (const method of METHODS) {
    it(`${method}: five steps agree with torch.optim.${TORCH_CLASS[method]} in float64`, () => {
      const s = optimizerSettings({ optimizer: method, lr: 0.05, weightDecay: 0.1 }, {}, newOptimizerSettings());
      const r = seededRandom(5);
      const p0 = Array.from({ length: 16 }, () => 2 * r() - 1);
      const grads = Array.from({ length: 5 }, () => Array.from({ length: 16 }, (_, i) => (2 * r() - 1) * 10 ** -(i % 5)));
      const kwargs: Record<OptimizerMethod, string> = {
        sgd: `momentum=${s.momentum}`,
        momentum: `momentum=${s.momentum}`,
        rmsprop: `alpha=${s.rho}, eps=${s.eps}`,
        adam: `betas=(${s.beta1}, ${s.beta2}), eps=${s.eps}`,
        adamw: `betas=(${s.beta1}, ${s.beta2}), eps=${s.eps}`,
        adagrad: `eps=${s.eps}`,
      };
      const script = [
        "import json, sys, torch",
        "d = json.load(sys.stdin)",
        "p = torch.tensor(d['p'], dtype=torch.float64, requires_grad=True)",
        `opt = torch.optim.${TORCH_CLASS[method]}([p], lr=${s.lr}, weight_decay=${s.weightDecay}, ${kwargs[method]})`,
        "for g in d['grads']:",
        "    p.grad = torch.tensor(g, dtype=torch.float64)",
        "    opt.step()",
        "print(json.dumps(p.detach().tolist()))",
      ].join("\n");
      const want = JSON.parse(execFileSync("/usr/bin/python3", ["-c", script], { input: JSON.stringify({ p: p0, grads }) }).toString()) as number[];
      const p = Float64Array.from(p0);
      const [m, v] = [new Float64Array(16), new Float64Array(16)];
      grads.forEach((g, t) => optimizerStep(s, p, 0, Float64Array.from(g), 0, m, 0, v, 0, 16, t + 1));
      expect(maxRelError(p, want)).toBeLessThan(1e-12);
    });
  }
});
