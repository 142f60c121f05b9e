// `npm run bench -- --target webgpu`: per-step times of the emitted WebGPU
// module of mnist_tanh (784-hidden-10, softmax cross-entropy, sgd) on the
// device Dawn finds (a GPU, or SwiftShader after `npm run setup:webgpu`),
// against TensorFlow.js's WebGPU backend on the same device where it runs.
// On a software adapter the numbers only catch regressions: they say
// nothing about a GPU.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { emitWebgpuModule } from "../src/backend/webgpu/emit-module.ts";
import { runGrad } from "../src/pipeline.ts";
import { webgpuDevice } from "../test/webgpu-device.ts";
import { markdownTable } from "./table.ts";
import type { TimingOptions } from "./timing.ts";

const ROOT = join(import.meta.dirname, "..");
const BATCH = 32;
const HIDDEN = 100;

/** Median milliseconds per call of an async function, after warm-ups. */
async function time(f: () => Promise<unknown>, o: TimingOptions): Promise<number> {
  for (let i = 0; i < o.warmup; i++) await f();
  const samples: number[] = [];
  for (let s = 0; s < o.samples; s++) {
    const t0 = performance.now();
    await f();
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)]!;
}

function data(): { x: Float32Array; y: Float32Array } {
  const x = Float32Array.from({ length: BATCH * 784 }, (_, i) => ((i * 2654435761) % 1000) / 1000);
  const y = new Float32Array(BATCH * 10);
  for (let r = 0; r < BATCH; r++) y[r * 10 + (r % 10)] = 1;
  return { x, y };
}

async function nncRows(device: GPUDevice, o: TimingOptions): Promise<Record<string, number>> {
  const file = "examples/mnist_tanh.nn";
  const r = runGrad(file, readFileSync(join(ROOT, file), "utf8"));
  const dir = join(ROOT, "bench", "results", "generated");
  mkdirSync(dir, { recursive: true });
  const path = join(dir, "mnist_tanh.webgpu.ts");
  writeFileSync(path, emitWebgpuModule(r.grad!).code);
  const mod = (await import(pathToFileURL(path).href)) as { createModel(o: object): Promise<any> };
  const model = await mod.createModel({ dims: { batch: BATCH, hidden: HIDDEN }, seed: 1, device });
  const { x, y } = data();
  const batch = { l0: x, y };
  const steps = 8;
  const rows = {
    "trainStep, loss read every step": await time(() => model.trainStep(batch), o),
    [`enqueueTrainStep ×${steps} + readLosses, per step`]: (await time(async () => {
      for (let s = 0; s < steps; s++) model.enqueueTrainStep(batch);
      await model.readLosses();
    }, o)) / steps,
    "forward (outputs read)": await time(() => model.forward({ l0: x }), o),
  };
  model.destroy();
  return rows;
}

async function tfjsRows(gpu: GPU, o: TimingOptions): Promise<Record<string, number> | string> {
  try {
    (globalThis as { navigator?: unknown }).navigator ??= { gpu };
    const tf = await import("@tensorflow/tfjs");
    await import("@tensorflow/tfjs-backend-webgpu");
    if (!(await tf.setBackend("webgpu"))) return "tfjs-backend-webgpu did not initialise";
    await tf.ready();
    const { x, y } = data();
    const xs = tf.tensor2d(x, [BATCH, 784]);
    const ys = tf.tensor2d(y, [BATCH, 10]);
    const w0 = tf.variable(tf.randomUniform([784, HIDDEN], -0.01, 0.01));
    const w1 = tf.variable(tf.randomUniform([HIDDEN, 10], -0.1, 0.1));
    const opt = tf.train.sgd(0.02);
    const logits = () => tf.matMul(tf.tanh(tf.matMul(xs, w0)), w1);
    const step = async () => {
      const loss = opt.minimize(() => tf.losses.softmaxCrossEntropy(ys, logits()), true)!;
      await loss.data();
      loss.dispose();
    };
    const forward = async () => {
      const p = tf.tidy(() => tf.softmax(logits()));
      await p.data();
      p.dispose();
    };
    return { "trainStep, loss read every step": await time(step, o), "forward (outputs read)": await time(forward, o) };
  } catch (e) {
    return `tfjs-backend-webgpu does not run here: ${(e as Error).message.split("\n")[0]}`;
  }
}

export async function webgpuSuite(o: TimingOptions): Promise<unknown> {
  const ctx = await webgpuDevice();
  if (typeof ctx === "string") {
    console.log(`webgpu: skipped: ${ctx}`);
    return { skipped: ctx };
  }
  console.log(`\nWebGPU: mnist_tanh, batch ${BATCH}, hidden ${HIDDEN}, on ${ctx.adapterInfo}${/swiftshader/i.test(ctx.adapterInfo) ? " (software: for regressions only)" : ""}`);
  const nnc = await nncRows(ctx.device, o);
  const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu ?? (await import("webgpu")).create([]);
  const tfjs = await tfjsRows(gpu, o);
  const fmt = (ms: number | undefined) => (ms === undefined ? "–" : `${ms.toFixed(2)} ms`);
  const rows = Object.keys(nnc).map((k) => [k, fmt(nnc[k]), typeof tfjs === "string" ? "–" : fmt(tfjs[k])]);
  console.log(markdownTable(["per step", "nnc webgpu", "tfjs webgpu"], rows));
  if (typeof tfjs === "string") console.log(tfjs);
  return { adapter: ctx.adapterInfo, batch: BATCH, hidden: HIDDEN, nnc, tfjs };
}
