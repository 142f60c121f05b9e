// The WGSL optimizer shaders (src/backend/webgpu/optim.ts) run on a WebGPU
// device against the runtime's reference step in float64: for every optimizer
// of the one table, the uniform filled by optimizerHyper, the shader it picks,
// three steps over more than one workgroup. Skipped, with the reason, where
// there is no WebGPU adapter (see test/webgpu-device.ts).
import { describe, expect, it } from "vitest";
import { newOptimizerSettings, OPTIMIZERS, optimizerHyper, optimizerSettings, optimizerStep, type OptimizerMethod, type OptimizerOptions, type OptimizerShader } from "../src/backend/cpu/runtime/optim.ts";
import { HYPER_FIELDS, optimizerShader, STATE } from "../src/backend/webgpu/optim.ts";
import { THREADS_PER_GROUP } from "../src/backend/webgpu/kernels.ts";
import { bindGroup, computePipeline, dispatch, MAP_MODE, storageBuffer, uniformBuffer, USAGE, workgroups } from "../src/backend/webgpu/runtime.ts";
import { seededRandom } from "./helpers.ts";
import { REQUIRED, SETUP_COMMAND, webgpuDevice } from "./webgpu-device.ts";

const ctx = await webgpuDevice();
if (typeof ctx === "string" && REQUIRED) throw new Error(`NNC_REQUIRE_WEBGPU=1 but WebGPU is unavailable: ${ctx}`);
if (typeof ctx === "string") console.warn(`WGSL optimizer tests skipped: ${ctx}. To run them without a GPU: ${SETUP_COMMAND}`);

async function readBuffer(device: GPUDevice, buffer: GPUBuffer, n: number): Promise<Float32Array> {
  const staging = device.createBuffer({ size: 4 * n, usage: USAGE.MAP_READ | USAGE.COPY_DST });
  const encoder = device.createCommandEncoder();
  encoder.copyBufferToBuffer(buffer, 0, staging, 0, 4 * n);
  device.queue.submit([encoder.finish()]);
  await staging.mapAsync(MAP_MODE.READ);
  const out = new Float32Array(staging.getMappedRange().slice(0));
  staging.unmap();
  staging.destroy();
  return out;
}

function maxRelError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let scale = 1e-6;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]!));
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!) / scale);
  return Number.isNaN(worst) ? Infinity : worst;
}

const CASES: [OptimizerMethod, OptimizerOptions][] = [
  ...(Object.keys(OPTIMIZERS) as OptimizerMethod[]).map((m): [OptimizerMethod, OptimizerOptions] => [m, { lr: 0.05, weightDecay: 0.1 }]),
  ["sgd", { lr: 0.05, momentum: 0.5, weightDecay: 0.1 }],
];

describe.skipIf(typeof ctx === "string")("the WGSL optimizers against the runtime's reference step", () => {
  const device = typeof ctx === "string" ? undefined : ctx.device;
  const pipelines = new Map<OptimizerShader, Promise<GPUComputePipeline>>();
  const pipeline = (shader: OptimizerShader) => pipelines.get(shader) ?? pipelines.set(shader, computePipeline(device!, shader, optimizerShader(shader), {})).get(shader)!;

  for (const [method, call] of CASES) {
    it(`${method} ${JSON.stringify(call)}: three steps in f32 track float64`, async () => {
      const gpu = device!;
      const n = 3 * THREADS_PER_GROUP + 5;
      const r = seededRandom(method.length + (call.momentum ?? 0) * 10);
      const p32 = Float32Array.from({ length: n }, () => 2 * r() - 1);
      const p64 = Float64Array.from(p32);
      const [m64, v64] = [new Float64Array(n), new Float64Array(n)];
      const buffer = (label: string, data: Float32Array) => {
        const b = storageBuffer(gpu, label, 4 * n, {});
        gpu.queue.writeBuffer(b, 0, data);
        return b;
      };
      const [p, g, m, v] = [buffer("p", p32), buffer("g", new Float32Array(n)), buffer("m", new Float32Array(n)), buffer("v", new Float32Array(n))];
      const hyper = uniformBuffer(gpu, "hyper", 4 * HYPER_FIELDS.length);
      const hyperData = new Float32Array(HYPER_FIELDS.length);
      const s = optimizerSettings({ ...call, optimizer: method }, {}, newOptimizerSettings());
      for (let t = 1; t <= 3; t++) {
        const grad = Float32Array.from({ length: n }, (_, i) => (2 * r() - 1) * 10 ** -(i % 3));
        gpu.queue.writeBuffer(g, 0, grad);
        const shader = optimizerHyper(s, t, hyperData);
        gpu.queue.writeBuffer(hyper, 0, hyperData);
        const pipe = await pipeline(shader);
        const state = STATE[shader].map((k) => (k === "m" ? m : v));
        const encoder = gpu.createCommandEncoder();
        const pass = encoder.beginComputePass();
        dispatch(pass, pipe, bindGroup(gpu, pipe, [hyper, p, g, ...state]), workgroups(gpu, "optimizer", n, THREADS_PER_GROUP));
        pass.end();
        gpu.queue.submit([encoder.finish()]);
        optimizerStep(s, p64, 0, Float64Array.from(grad), 0, m64, 0, v64, 0, n, t);
      }
      expect(maxRelError(await readBuffer(gpu, p, n), p64), "params").toBeLessThan(2e-5);
      expect(maxRelError(await readBuffer(gpu, m, n), m64), "first state").toBeLessThan(2e-5);
      expect(maxRelError(await readBuffer(gpu, v, n), v64), "second state").toBeLessThan(2e-5);
      for (const b of [p, g, m, v, hyper]) b.destroy();
    });
  }
});
