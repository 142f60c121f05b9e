// examples/mnist_resnet.nn and what it needed from layers: a batchnorm in a
// layer's `return` (or in a use's argument) makes running statistics named
// after that use, not after whatever definition came before it; and the
// example's running statistics are what inference reads, so a model
// reloaded from a checkpoint predicts what the trained one does.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { emitCpuModule } from "../src/backend/cpu/emit-module.ts";
import { runGrad } from "../src/pipeline.ts";
import { rendered } from "./helpers.ts";

const ROOT = join(import.meta.dirname, "..");

function grad(path: string, text: string) {
  const r = runGrad(path, text);
  if (!r.grad) throw new Error(rendered(r));
  return r.grad;
}

const statNames = (text: string) => grad("stats.nn", text).runningStats!.map((s) => s.name);

describe("running statistics of a batchnorm in a layer", () => {
  const head = `dim batch
input x: [batch, 3]
target y: [batch, 3]
param g: [3] = ones
param b: [3] = zeros
`;
  const tail = `loss = mse(h2, y)
`;

  it("in the returned expression, are named after the use", () => {
    const text = `${head}layer bn_relu(h):
    param g1: [3] = ones
    param b1: [3] = zeros
    return relu(batchnorm(h, g1, b1))

h1 = x + 1
h2 = bn_relu(h1)
${tail}`;
    expect(statNames(text)).toEqual(["h2.running_mean", "h2.running_var"]);
  });

  it("with repeat, are numbered with the use; in a body definition, nest under it", () => {
    const text = `${head}layer block(h):
    param g1: [3] = ones
    param b1: [3] = zeros
    z = batchnorm(h, g1, b1)
    return h + batchnorm(z, g1, b1)

h1 = x + 1
h2 = repeat 2 block(h1)
${tail}`;
    expect(statNames(text)).toEqual([
      "h2.0.z.running_mean", "h2.0.z.running_var", "h2.0.running_mean", "h2.0.running_var",
      "h2.1.z.running_mean", "h2.1.z.running_var", "h2.1.running_mean", "h2.1.running_var",
    ]);
  });

  it("in a use's argument, are named after the use being defined", () => {
    const text = `${head}layer affine(h):
    param w: [3] = ones
    return h * w

h1 = x + 1
h2 = affine(batchnorm(h1, g, b))
${tail}`;
    expect(statNames(text)).toEqual(["h2.running_mean", "h2.running_var"]);
  });
});

interface Module {
  createModel(o: { dims: Record<string, number>; seed?: number }): {
    params: Record<string, Float32Array>;
    forward(i: Record<string, Float32Array | Int32Array>, o?: { training?: boolean }): Record<string, Float32Array>;
    trainStep(b: Record<string, Float32Array | Int32Array>): number;
    saveCheckpoint(): Uint8Array;
    loadCheckpoint(bytes: Uint8Array): void;
  };
}

describe("examples/mnist_resnet.nn", () => {
  const g = grad("examples/mnist_resnet.nn", readFileSync(join(ROOT, "examples", "mnist_resnet.nn"), "utf8"));

  it("has one pair of running statistics per batchnorm, named after its use", () => {
    expect(g.runningStats!.map((s) => s.name).filter((n) => n.endsWith("running_mean"))).toEqual([
      "stem.running_mean",
      "stage1.0.y.running_mean", "stage1.0.z.running_mean",
      "stage1.1.y.running_mean", "stage1.1.z.running_mean",
      "widen.running_mean",
      "stage2.y.running_mean", "stage2.z.running_mean",
    ]);
    // Trained params get gradients; running statistics do not.
    const trained = g.gradients.map((x) => x.name);
    expect(trained).toContain("stage1.1.K2");
    expect(trained.some((n) => n.includes("running_"))).toBe(false);
  });

  it("infers with the running statistics, which a checkpoint carries", async () => {
    const dir = join(import.meta.dirname, ".generated");
    mkdirSync(dir, { recursive: true });
    const path = join(dir, "mnist-resnet.ts");
    writeFileSync(path, emitCpuModule(g));
    const mod = (await import(pathToFileURL(path).href)) as Module;
    const batch = 4;
    const pixels = Float32Array.from({ length: batch * 784 }, (_, i) => ((i * 37) % 256) / 255);
    const label = Int32Array.from([3, 1, 4, 1]);
    const model = mod.createModel({ dims: { batch }, seed: 3 });
    const before = model.forward({ pixels }).logits!.slice();
    model.trainStep({ pixels, label });
    model.trainStep({ pixels, label });
    // The steps moved the running statistics away from (0, 1).
    expect(Math.max(...model.params["stem.running_mean"]!.map(Math.abs))).toBeGreaterThan(0);
    const trained = model.forward({ pixels }).logits!.slice();
    expect(trained).not.toEqual(before);
    // Inference differs from training mode: one uses running, the other batch statistics.
    expect(model.forward({ pixels }, { training: true }).logits).not.toEqual(trained);
    // A fresh model loaded from the checkpoint predicts exactly what the trained one does.
    const reloaded = mod.createModel({ dims: { batch }, seed: 9 });
    reloaded.loadCheckpoint(model.saveCheckpoint());
    expect(reloaded.params["widen.running_var"]).toEqual(model.params["widen.running_var"]);
    expect(reloaded.forward({ pixels }).logits).toEqual(trained);
  });
});
