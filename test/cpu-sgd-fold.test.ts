// The plain SGD step folded into the weights' last products (sgdFolds in
// src/backend/cpu/emit-steps.ts): trainStep with plain SGD computes what
// gradients() followed by W − lr·g computes, on every kernel path; a weight
// read after its gradient's product is not folded; every other optimizer,
// and gradients() after a folded step, see the gradients as before.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { emitCpuModule } from "../src/backend/cpu/emit-module.ts";
import { sgdFolds } from "../src/backend/cpu/emit-steps.ts";
import { lower } from "../src/lower/lower.ts";
import { runGrad } from "../src/pipeline.ts";
import { rendered, seededRandom } from "./helpers.ts";

const ROOT = join(import.meta.dirname, "..");
const OUT = join(import.meta.dirname, ".generated", "sgd-fold");

/** A weight used twice: its gradient is the sum of two products, and the second product reads W after the first. */
const TIED = `model tied
dim batch
input x: [batch, 6]
target y: [batch, 6]
param W: [6, 6] = uniform(-0.5, 0.5)
param V: [6, 6] = uniform(-0.5, 0.5)
h = tanh(x W)
o = (h W) V
output o
loss = sum((o - y)^2) / 2
train sgd(lr = 0.05)
`;

function grad(path: string, text: string) {
  const r = runGrad(path, text);
  if (!r.grad) throw new Error(rendered(r));
  return r.grad;
}

async function load(name: string, text: string): Promise<Record<string, any>> {
  mkdirSync(OUT, { recursive: true });
  const path = join(OUT, `${name}.ts`);
  writeFileSync(path, emitCpuModule(grad(`${name}.nn`, text)));
  return (await import(pathToFileURL(path).href)) as Record<string, any>;
}

const fill = (n: number, r: () => number) => Float32Array.from({ length: n }, () => r() * 2 - 1);
const mnist = readFileSync(join(ROOT, "examples", "mnist_tanh.nn"), "utf8");

describe("sgdFolds", () => {
  it("folds both weights of mnist_tanh, and only V of a model whose W is read after its gradient's first product", () => {
    const g = grad("mnist_tanh.nn", mnist);
    expect([...sgdFolds(g, lower(g).train).values()].sort()).toEqual([0, 1]);
    const t = grad("tied.nn", TIED);
    expect([...sgdFolds(t, lower(t).train).values()]).toEqual([1]);
  });
});

describe.each([
  ["mnist_tanh", mnist, { l0: 784, y: 10 }],
  ["tied", TIED, { x: 6, y: 6 }],
] as const)("%s: a folded SGD step", (name, text, widths) => {
  // The unfolded step: weight decay 1e-30 adds nothing a float sees, but is no plain SGD step.
  it.each([true, false])("equals the unfolded step, W − lr·g from the written gradient (wasm: %s, one and two threads)", async (wasm) => {
    const mod = await load(name, text);
    const batch = 8;
    const r = seededRandom(3);
    const data = Object.fromEntries(Object.entries(widths).map(([k, w]) => [k, fill(batch * w, r)]));
    for (const threads of [1, 2]) {
      const folded = mod.createModel({ dims: { batch }, seed: 5, wasm, threads });
      const plain = mod.createModel({ dims: { batch }, seed: 5, wasm, threads });
      const lr = 0.05;
      for (let step = 0; step < 3; step++) {
        const loss = plain.trainStep(data, { lr, weightDecay: 1e-30 });
        expect(folded.trainStep(data, { lr })).toBe(loss);
        for (const [k, p] of Object.entries(folded.params as Record<string, Float32Array>)) {
          let worst = 0;
          p.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - plain.params[k][i]))));
          expect(worst, `${k} after step ${step + 1}`).toBeLessThan(1e-6);
          plain.params[k].set(p);
        }
        // gradients() after a folded step writes the gradients again, the same as the unfolded model's.
        const again = folded.gradients(data);
        const want = plain.gradients(data);
        for (const k of Object.keys(want)) expect(Array.from(again[k]), k).toEqual(Array.from(want[k]));
      }
      folded.dispose();
      plain.dispose();
    }
  });

  it("leaves every other optimizer on the written gradients: a first momentum step after folded ones is W − lr·g", async () => {
    const mod = await load(name, text);
    const r = seededRandom(4);
    const data = Object.fromEntries(Object.entries(widths).map(([k, w]) => [k, fill(4 * w, r)]));
    const a = mod.createModel({ dims: { batch: 4 }, seed: 2 });
    a.trainStep(data, { lr: 0.05 }); // folded
    a.trainStep(data, { lr: 0.05 });
    // The same step's gradients (dropout draws by step: gradients() at this step draws what trainStep will).
    const g = Object.fromEntries(Object.entries(a.gradients(data) as Record<string, Float32Array>).map(([k, v]) => [k, v.slice()]));
    const expected = Object.fromEntries(Object.entries(a.params as Record<string, Float32Array>).map(([k, p]) => [k, Float64Array.from(p, (v, i) => v - 0.05 * g[k]![i]!)]));
    a.trainStep(data, { optimizer: "momentum", lr: 0.05, momentum: 0.5 });
    for (const [k, p] of Object.entries(a.params as Record<string, Float32Array>)) {
      let worst = 0;
      p.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - expected[k]![i]!))));
      expect(worst, k).toBeLessThan(1e-7);
      expect(Array.from(g[k]!).some((x) => x !== 0), `${k} has a gradient`).toBe(true);
    }
  });
});
