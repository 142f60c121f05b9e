// The emitted WebGPU module of every example, run on a real WebGPU device
// (Dawn; in CI the SwiftShader software driver), against the float64
// reference interpreter and the CPU module: params as drawn, forward
// outputs, the loss, the gradients, and three training steps.
//
// Tolerance: relative error ≤ 1e-4 of each tensor's largest magnitude, as on
// the CPU: the GPU computes in f32 like the CPU module; its sums run in a
// different order (tiles, workgroup trees) and its exp/log/tanh are the
// driver's, each within a few ulps, far inside 1e-4 at these sizes.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { emitCpuModule } from "../src/backend/cpu/emit-module.ts";
import { emitWebgpuModule } from "../src/backend/webgpu/emit-module.ts";
import { randomFeeds } from "../src/check/gradcheck.ts";
import type { GradGraph } from "../src/ir/graph.ts";
import { initParams } from "../src/interp/init.ts";
import { bindDims, interpret } from "../src/interp/interpret.ts";
import { optimizerStep } from "../src/interp/optim.ts";
import { applyStatUpdates, statUpdateRoots } from "../src/interp/running-stats.ts";
import { tensor, type Tensor } from "../src/interp/tensor.ts";
import { runGrad } from "../src/pipeline.ts";
import { NARROW, relError, rendered } from "./helpers.ts";
import { REQUIRED, SETUP_COMMAND, webgpuDevice } from "./webgpu-device.ts";
import { PARITY_MODELS } from "./parity-models.ts";
import { WIDE } from "./webgpu-models.ts";

const ROOT = join(import.meta.dirname, "..");
const OUT = join(import.meta.dirname, ".generated", "webgpu");
const EXAMPLES = readdirSync(join(ROOT, "examples")).filter((f) => f.endsWith(".nn")).sort();
export const WEBGPU_TOLERANCE = 1e-4;

type Data = Record<string, Float32Array | Int32Array>;
interface GpuModel {
  step: number;
  forward(i: Data, o?: { training?: boolean }): Promise<Data>;
  loss(b: Data): Promise<number>;
  gradients(b: Data): Promise<Record<string, Float32Array>>;
  trainStep(b: Data, o?: Record<string, unknown>): Promise<number>;
  enqueueTrainStep(b: Data, o?: Record<string, unknown>): void;
  readLosses(): Promise<Float32Array>;
  getParams(): Promise<Record<string, Float32Array>>;
  setParams(p: Record<string, Float32Array>): void;
  saveCheckpoint(): Promise<Uint8Array>;
  loadCheckpoint(b: Uint8Array): void;
  destroy(): void;
}
interface GpuModule {
  createModel(o: { dims: Record<string, number>; seed?: number; device?: GPUDevice }): Promise<GpuModel>;
  spec: { train: { optimizer: string; lr: number } };
}
interface CpuModule {
  createModel(o: { dims: Record<string, number>; seed?: number }): {
    forward(i: Data): Data;
    loss(b: Data): number;
    gradients(b: Data): Record<string, Float32Array>;
    trainStep(b: Data): number;
    params: Record<string, Float32Array>;
  };
}

function testDims(g: GradGraph, file: string): Record<string, number> {
  return { ...Object.fromEntries(g.dims.map((d) => [d.name, Math.min(d.default ?? 3, 24)])), ...NARROW[file] };
}

async function load<T>(name: string, code: string): Promise<T> {
  mkdirSync(OUT, { recursive: true });
  const path = join(OUT, name);
  writeFileSync(path, code);
  return (await import(pathToFileURL(path).href)) as T;
}

export async function compileExampleForWebgpu(file: string): Promise<{ g: GradGraph; gpu: GpuModule; cpu: CpuModule }> {
  const r = runGrad(`examples/${file}`, readFileSync(join(ROOT, "examples", file), "utf8"));
  if (!r.grad) throw new Error(rendered(r));
  const base = file.replace(/\.nn$/, "");
  return { g: r.grad, gpu: await load<GpuModule>(`${base}.ts`, emitWebgpuModule(r.grad).code), cpu: await load<CpuModule>(`${base}.cpu.ts`, emitCpuModule(r.grad)) };
}

const ctx = await webgpuDevice();
if (typeof ctx === "string" && REQUIRED) throw new Error(`NNC_REQUIRE_WEBGPU=1 but WebGPU is unavailable: ${ctx}`);
const device = typeof ctx === "string" ? undefined : ctx.device;

const toF32 = (t: Tensor) => Float32Array.from(t.data);
const rounded = (t: Tensor): Tensor => tensor(t.shape, Float64Array.from(t.data, Math.fround));

function batchOf(g: GradGraph, dims: ReturnType<typeof bindDims>, seed: number): { feeds: Map<string, Tensor>; batch: Data } {
  const feeds = new Map([...randomFeeds(g, dims, seed)].map(([k, v]) => [k, rounded(v)]));
  const batch: Data = {};
  for (const d of [...g.inputs, ...g.targets]) {
    const t = feeds.get(d.name)!;
    batch[d.name] = g.dtypes[d.node] === "i32" ? Int32Array.from(t.data) : toF32(t);
  }
  return { feeds, batch };
}

if (typeof ctx === "string") {
  console.warn(`WebGPU suite skipped: ${ctx}. To run it without a GPU: ${SETUP_COMMAND}`);
  describe("WebGPU", () => {
    it.skip(`skipped: ${ctx}; to run it without a GPU: ${SETUP_COMMAND}`, () => {});
  });
} else {
  describe("WebGPU device", () => {
    it("has an adapter", () => {
      console.log(`WebGPU adapter: ${ctx.adapterInfo}`);
      expect(device).toBeDefined();
    });
  });

  /**
   * The module against the interpreter and the CPU module: params as drawn,
   * forward outputs (also in training mode when asked), the loss, the
   * gradients, three training steps, then inference again with the params
   * (running statistics included) the steps left.
   */
  async function matchesInterpreter(g: GradGraph, gpu: GpuModule, cpu: CpuModule, dimsGiven: Record<string, number>, trainingForward = false): Promise<void> {
    const dims = bindDims(g, dimsGiven);
    const seed = 7;
    const model = await gpu.createModel({ dims: dimsGiven, seed, device: device! });
    const cpuModel = cpu.createModel({ dims: dimsGiven, seed });
    try {
      // The initializers draw the same numbers: exactly.
      const params = new Map([...initParams(g, dims, seed)].map(([k, v]) => [k, rounded(v)]));
      const drawn = await model.getParams();
      for (const p of g.params) expect(relError(drawn[p.name]!, params.get(p.name)!.data), `param ${p.name}`).toBe(0);

      const { feeds, batch } = batchOf(g, dims, 3);
      const env = { dims, feeds, training: false, seed };

      const outs = await model.forward(batch);
      const ref = interpret(g, { ...env, params, roots: g.outputs.map((o) => o.node) });
      const cpuOuts = cpuModel.forward(batch);
      for (const o of g.outputs) {
        expect(relError(outs[o.name]!, ref[o.node]!.data), `output ${o.name} against the interpreter`).toBeLessThanOrEqual(WEBGPU_TOLERANCE);
        expect(relError(outs[o.name]!, cpuOuts[o.name]!), `output ${o.name} against the CPU module`).toBeLessThanOrEqual(WEBGPU_TOLERANCE);
      }
      if (trainingForward) {
        const trained = await model.forward(batch, { training: true });
        const refTrained = interpret(g, { ...env, training: true, step: 0, params, roots: g.outputs.map((o) => o.node) });
        for (const o of g.outputs) expect(relError(trained[o.name]!, refTrained[o.node]!.data), `output ${o.name} in training mode`).toBeLessThanOrEqual(WEBGPU_TOLERANCE);
      }

      const loss = await model.loss(batch);
      const refLoss = interpret(g, { ...env, params, roots: [g.loss!.node] })[g.loss!.node]!.data[0]!;
      expect(relError([loss], [refLoss]), "loss against the interpreter").toBeLessThanOrEqual(WEBGPU_TOLERANCE);
      expect(relError([loss], [cpuModel.loss(batch)]), "loss against the CPU module").toBeLessThanOrEqual(WEBGPU_TOLERANCE);

      const grads = await model.gradients(batch);
      const refGrads = interpret(g, { ...env, training: true, step: 0, params, roots: g.gradients.map((x) => x.node) });
      const cpuGrads = cpuModel.gradients(batch);
      for (const x of g.gradients) {
        expect(relError(grads[x.name]!, refGrads[x.node]!.data), `gradient ${x.name} against the interpreter`).toBeLessThanOrEqual(WEBGPU_TOLERANCE);
        expect(relError(grads[x.name]!, cpuGrads[x.name]!), `gradient ${x.name} against the CPU module`).toBeLessThanOrEqual(WEBGPU_TOLERANCE);
      }

      // Three steps of the model's own optimizer, against the same steps in float64.
      const current = new Map([...params].map(([k, v]) => [k, tensor(v.shape, Float64Array.from(v.data))]));
      const state = new Map([...current].map(([k, v]) => [k, [new Float64Array(v.data.length), new Float64Array(v.data.length)] as const]));
      for (let s = 0; s < 3; s++) {
        const value = await model.trainStep(batch);
        const cpuValue = cpuModel.trainStep(batch);
        const vals = interpret(g, { ...env, training: true, step: s, params: current, roots: [g.loss!.node, ...g.gradients.map((x) => x.node), ...statUpdateRoots(g)] });
        expect(relError([value], vals[g.loss!.node]!.data), `loss at step ${s}`).toBeLessThanOrEqual(WEBGPU_TOLERANCE);
        expect(relError([value], [cpuValue]), `loss at step ${s} against the CPU module`).toBeLessThanOrEqual(WEBGPU_TOLERANCE);
        for (const x of g.gradients) {
          const [m, v] = state.get(x.name)!;
          optimizerStep(g.train, undefined, current.get(x.name)!.data, vals[x.node]!.data, m, v, s + 1);
        }
        applyStatUpdates(g, vals, current);
      }
      expect(model.step).toBe(3);
      const after = await model.getParams();
      for (const p of g.params) {
        expect(relError(after[p.name]!, current.get(p.name)!.data), `param ${p.name} after 3 steps`).toBeLessThanOrEqual(WEBGPU_TOLERANCE);
        expect(relError(after[p.name]!, cpuModel.params[p.name]!), `param ${p.name} after 3 steps against the CPU module`).toBeLessThanOrEqual(WEBGPU_TOLERANCE);
      }

      // Inference with what the steps left (batchnorm: the running statistics they moved).
      const outsAfter = await model.forward(batch);
      const refAfter = interpret(g, { ...env, params: current, roots: g.outputs.map((o) => o.node) });
      for (const o of g.outputs) expect(relError(outsAfter[o.name]!, refAfter[o.node]!.data), `output ${o.name} after 3 steps`).toBeLessThanOrEqual(WEBGPU_TOLERANCE);
    } finally {
      model.destroy();
    }
  }

  describe.each(EXAMPLES)("%s on WebGPU", (file) => {
    it("matches the interpreter and the CPU module: params, forward, loss, gradients, three training steps, inference after them", async () => {
      const { g, gpu, cpu } = await compileExampleForWebgpu(file);
      await matchesInterpreter(g, gpu, cpu, testDims(g, file));
    }, 240_000); // the GPT compiles some hundred shaders on SwiftShader, most of a minute on two busy cores
  });

  // The cases no example reaches (test/parity-models.ts), the same way.
  describe.each(Object.keys(PARITY_MODELS))("%s on WebGPU", (name) => {
    it("matches the interpreter and the CPU module: params, forward, loss, gradients, three training steps, inference after them", async () => {
      const m = PARITY_MODELS[name]!;
      const { g, gpu, cpu } = await compileText(`parity-${name}`, m.text);
      await matchesInterpreter(g, gpu, cpu, { ...m.dims }, m.trainingForward);
    }, 120_000);
  });

  async function compileText(name: string, text: string): Promise<{ g: GradGraph; gpu: GpuModule; cpu: CpuModule }> {
    const r = runGrad(`${name}.nn`, text);
    if (!r.grad) throw new Error(rendered(r));
    return { g: r.grad, gpu: await load<GpuModule>(`${name}.ts`, emitWebgpuModule(r.grad).code), cpu: await load<CpuModule>(`${name}.cpu.ts`, emitCpuModule(r.grad)) };
  }

  describe("the WebGPU module's API", () => {
    it("computes a fused chain split to fit the storage-buffer limit", async () => {
      const { g, gpu } = await compileText("wide", WIDE);
      const dims = bindDims(g, { batch: 3 });
      const model = await gpu.createModel({ dims: { batch: 3 }, seed: 5, device: device! });
      try {
        const { feeds, batch } = batchOf(g, dims, 4);
        const params = new Map([...initParams(g, dims, 5)].map(([k, v]) => [k, rounded(v)]));
        const outs = await model.forward(batch);
        const ref = interpret(g, { dims, feeds, training: false, seed: 5, params, roots: [g.outputs[0]!.node] });
        expect(relError(outs["s"]!, ref[g.outputs[0]!.node]!.data)).toBeLessThanOrEqual(WEBGPU_TOLERANCE);
        const grads = await model.gradients(batch);
        const refGrads = interpret(g, { dims, feeds, training: true, step: 0, seed: 5, params, roots: g.gradients.map((x) => x.node) });
        expect(relError(grads["w"]!, refGrads[g.gradients[0]!.node]!.data)).toBeLessThanOrEqual(WEBGPU_TOLERANCE);
      } finally {
        model.destroy();
      }
    });

    it("runs every optimizer like the CPU module, reads losses every N steps, and saves and loads checkpoints", async () => {
      const { g, gpu, cpu } = await compileExampleForWebgpu("mnist_dropout.nn");
      const dims = bindDims(g, { batch: 2, hidden: 8 });
      const { batch } = batchOf(g, dims, 9);
      for (const optimizer of ["sgd", "momentum", "rmsprop", "adam", "adamw", "adagrad"]) {
        const options = { optimizer, lr: 0.01, weightDecay: 0.001 };
        const model = await gpu.createModel({ dims: { batch: 2, hidden: 8 }, seed: 2, device: device! });
        const ref = cpu.createModel({ dims: { batch: 2, hidden: 8 }, seed: 2 });
        try {
          // Steps submitted without reading, then their losses read at once.
          for (let s = 0; s < 3; s++) model.enqueueTrainStep(batch, options);
          const expected = [0, 1, 2].map(() => (ref as unknown as { trainStep(b: Data, o: object): number }).trainStep(batch, options));
          const losses = await model.readLosses();
          expect(Array.from(losses).length).toBe(3);
          expect(relError(losses, expected), `${optimizer}: losses`).toBeLessThanOrEqual(WEBGPU_TOLERANCE);
          expect((await model.readLosses()).length).toBe(0);
          const params = await model.getParams();
          for (const p of g.params) expect(relError(params[p.name]!, ref.params[p.name]!), `${optimizer}: ${p.name}`).toBeLessThanOrEqual(WEBGPU_TOLERANCE);
          if (optimizer === "adam") {
            // The checkpoint carries params, optimizer state, step and seed: the next steps agree exactly.
            const bytes = await model.saveCheckpoint();
            const other = await gpu.createModel({ dims: { batch: 2, hidden: 8 }, seed: 99, device: device! });
            other.loadCheckpoint(bytes);
            expect(other.step).toBe(3);
            expect(await other.trainStep(batch, options)).toBe(await model.trainStep(batch, options));
            expect(Array.from((await other.getParams())["W1"]!)).toEqual(Array.from((await model.getParams())["W1"]!));
            other.destroy();
          }
        } finally {
          model.destroy();
        }
      }
      // Six optimizers, each a model whose pipelines are compiled afresh: slow on a software driver.
    }, 180_000);

    it("checks inputs and options, and refuses a second read before the first has finished", async () => {
      const { gpu } = await compileExampleForWebgpu("mnist_tanh.nn");
      const model = await gpu.createModel({ dims: { batch: 2 }, device: device! });
      try {
        await expect(model.forward({ l0: new Float32Array(10) })).rejects.toThrow("l0: expected shape [batch, 784] (1568 values with batch = 2, hidden = 100), got 10 values");
        const batch = { l0: new Float32Array(1568).fill(0.1), y: new Float32Array(20).fill(0.1) };
        expect(() => model.enqueueTrainStep(batch, { lr: -1 })).toThrow("lr must be a finite non-negative number");
        const first = model.loss(batch);
        await expect(model.loss(batch)).rejects.toThrow("loss: loss has not finished; await it first");
        expect(Number.isFinite(await first)).toBe(true);
        expect(Number.isFinite(await model.loss(batch))).toBe(true);
      } finally {
        model.destroy();
      }
    });
  });
}
