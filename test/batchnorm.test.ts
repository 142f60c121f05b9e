// Batch normalisation's running statistics: params that no optimizer
// trains, moved by each training step towards the batch's statistics (the
// variance unbiased), used by inference, kept by checkpoints, and left alone
// by gradients(). Against hand-computed values, on the interpreter and the
// emitted CPU module.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { emitCpuModule } from "../src/backend/cpu/emit-module.ts";
import { initParams } from "../src/interp/init.ts";
import { bindDims, interpret } from "../src/interp/interpret.ts";
import { applyStatUpdates, statUpdateRoots } from "../src/interp/running-stats.ts";
import { tensor } from "../src/interp/tensor.ts";
import { runGrad } from "../src/pipeline.ts";
import { rendered } from "./helpers.ts";

const MODEL = `model bn
dim batch
input x: [batch, 2]
target y: [batch, 2]
param g: [2] = uniform(0.5, 1.5)
param b: [2] = uniform(-1, 1)
h = batchnorm(x, g, b, momentum = 0.25, eps = 0.01)
output h
loss = mse(h, y)
train adamw(lr = 0.1, weight_decay = 0.5)
`;

// Four rows: column 0 (1, 2, 3, 4) has mean 2.5, squared deviations summing to 5; column 1 (1, −3, 1, −3) mean −1, 16.
const X = [1, 1, 2, -3, 3, 1, 4, -3];
const MEAN = [2.5, -1];
const UNBIASED = [5 / 3, 16 / 3];
const BIASED = [5 / 4, 16 / 4];

interface Module {
  createModel(o: { dims: Record<string, number>; seed?: number }): {
    params: Record<string, Float32Array>;
    forward(i: Record<string, Float32Array>, o?: { training?: boolean }): Record<string, Float32Array>;
    gradients(b: Record<string, Float32Array>): Record<string, Float32Array>;
    trainStep(b: Record<string, Float32Array>): number;
    setParams(v: Record<string, Float32Array>): void;
    saveCheckpoint(): Uint8Array;
    loadCheckpoint(bytes: Uint8Array): void;
  };
}

const r = runGrad("bn.nn", MODEL);

async function compile(): Promise<Module> {
  if (!r.grad) throw new Error(rendered(r));
  const dir = join(import.meta.dirname, ".generated");
  mkdirSync(dir, { recursive: true });
  const path = join(dir, "batchnorm-stats.ts");
  writeFileSync(path, emitCpuModule(r.grad));
  return (await import(pathToFileURL(path).href)) as Module;
}

describe("batchnorm's running statistics", () => {
  it("are params named after the definition, with no gradient", () => {
    const g = r.grad!;
    expect(g.params.map((p) => p.name)).toEqual(["g", "b", "h.running_mean", "h.running_var"]);
    expect(g.runningStats!.map((s) => s.name)).toEqual(["h.running_mean", "h.running_var"]);
    expect(g.gradients.map((x) => x.name)).toEqual(["g", "b"]);
  });

  it("move by momentum towards the batch's mean and unbiased variance in the interpreter", () => {
    const g = r.grad!;
    const dims = bindDims(g, { batch: 4 });
    const params = initParams(g, dims, 1);
    const feeds = new Map([["x", tensor([4, 2], X)], ["y", tensor([4, 2])]]);
    const values = interpret(g, { dims, feeds, params, training: true, seed: 1, roots: statUpdateRoots(g) });
    applyStatUpdates(g, values, params);
    expect([...params.get("h.running_mean")!.data]).toEqual(MEAN.map((m) => 0.25 * m));
    const v = [...params.get("h.running_var")!.data];
    UNBIASED.forEach((u, j) => expect(v[j]).toBeCloseTo(0.75 + 0.25 * u, 12));
  });

  it("are updated by trainStep only (not by the optimizer's weight decay, nor by gradients) and used by inference", async () => {
    const mod = await compile();
    const model = mod.createModel({ dims: { batch: 4 }, seed: 1 });
    const x = Float32Array.from(X);
    const y = new Float32Array(8);
    expect([...model.params["h.running_mean"]!]).toEqual([0, 0]);
    expect([...model.params["h.running_var"]!]).toEqual([1, 1]);
    model.gradients({ x, y });
    expect([...model.params["h.running_mean"]!]).toEqual([0, 0]);

    model.trainStep({ x, y });
    MEAN.forEach((m, j) => expect(model.params["h.running_mean"]![j]).toBeCloseTo(0.25 * m, 6));
    UNBIASED.forEach((u, j) => expect(model.params["h.running_var"]![j]).toBeCloseTo(0.75 + 0.25 * u, 6));

    // Inference normalises with the running statistics; training mode with the batch's (biased variance).
    const [g0, g1] = model.params["g"]!;
    const [b0, b1] = model.params["b"]!;
    const rm = [...model.params["h.running_mean"]!];
    const rv = [...model.params["h.running_var"]!];
    const inference = model.forward({ x })["h"]!;
    expect(inference[0]).toBeCloseTo(((X[0]! - rm[0]!) / Math.sqrt(rv[0]! + 0.01)) * g0! + b0!, 5);
    expect(inference[1]).toBeCloseTo(((X[1]! - rm[1]!) / Math.sqrt(rv[1]! + 0.01)) * g1! + b1!, 5);
    const training = model.forward({ x }, { training: true })["h"]!;
    expect(training[0]).toBeCloseTo(((X[0]! - MEAN[0]!) / Math.sqrt(BIASED[0]! + 0.01)) * g0! + b0!, 5);
    expect(training[1]).toBeCloseTo(((X[1]! - MEAN[1]!) / Math.sqrt(BIASED[1]! + 0.01)) * g1! + b1!, 5);
  });

  it("are saved in checkpoints and loaded back", async () => {
    const mod = await compile();
    const model = mod.createModel({ dims: { batch: 4 }, seed: 1 });
    model.trainStep({ x: Float32Array.from(X), y: new Float32Array(8) });
    const bytes = model.saveCheckpoint();
    const fresh = mod.createModel({ dims: { batch: 4 }, seed: 2 });
    fresh.loadCheckpoint(bytes);
    expect([...fresh.params["h.running_mean"]!]).toEqual([...model.params["h.running_mean"]!]);
    expect([...fresh.params["h.running_var"]!]).toEqual([...model.params["h.running_var"]!]);
    expect([...fresh.forward({ x: Float32Array.from(X) })["h"]!]).toEqual([...model.forward({ x: Float32Array.from(X) })["h"]!]);
  });
});
