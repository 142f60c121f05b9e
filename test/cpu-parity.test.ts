// The emitted CPU module of every example against the float64 reference
// interpreter: params as drawn, forward outputs, the loss, the gradients, and
// three training steps. Tolerance: relative error ≤ 1e-4 of each tensor's
// largest magnitude (float32 arithmetic against float64).
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { emitCpuModule } from "../src/backend/cpu/emit-module.ts";
import { randomFeeds } from "../src/check/gradcheck.ts";
import type { GradGraph } from "../src/ir/graph.ts";
import { initParams } from "../src/interp/init.ts";
import { bindDims, interpret } from "../src/interp/interpret.ts";
import { optimizerStep } from "../src/interp/optim.ts";
import { applyStatUpdates, statUpdateRoots } from "../src/interp/running-stats.ts";
import { tensor, type Tensor } from "../src/interp/tensor.ts";
import { runGrad } from "../src/pipeline.ts";
import { relError, rendered } from "./helpers.ts";
import { PARITY_MODELS } from "./parity-models.ts";

const ROOT = join(import.meta.dirname, "..");
const OUT = join(import.meta.dirname, ".generated");
const EXAMPLES = readdirSync(join(ROOT, "examples")).filter((f) => f.endsWith(".nn")).sort();
export const TOLERANCE = 1e-4;

/** Small sizes keep the test quick; the generated code does not depend on them. */
function testDims(g: GradGraph): Record<string, number> {
  return Object.fromEntries(g.dims.map((d) => [d.name, Math.min(d.default ?? 3, 24)]));
}

interface Generated {
  createModel(o: { dims: Record<string, number>; seed?: number; wasm?: boolean }): {
    params: Record<string, Float32Array>;
    wasm: boolean;
    step: number;
    forward(i: Record<string, Float32Array | Int32Array>, o?: { training?: boolean }): Record<string, Float32Array | Int32Array>;
    loss(b: Record<string, Float32Array | Int32Array>): number;
    gradients(b: Record<string, Float32Array | Int32Array>): Record<string, Float32Array>;
    trainStep(b: Record<string, Float32Array | Int32Array>, o?: Record<string, unknown>): number;
  };
  spec: { train: { optimizer: string; lr: number } };
}

export async function compileExample(file: string): Promise<{ g: GradGraph; mod: Generated; path: string }> {
  return compileSource(`examples/${file}`, readFileSync(join(ROOT, "examples", file), "utf8"), file.replace(/\.nn$/, ".ts"));
}

async function compileSource(path: string, text: string, outName: string): Promise<{ g: GradGraph; mod: Generated; path: string }> {
  const r = runGrad(path, text);
  if (!r.grad) throw new Error(rendered(r));
  mkdirSync(OUT, { recursive: true });
  const out = join(OUT, outName);
  writeFileSync(out, emitCpuModule(r.grad));
  const mod = (await import(pathToFileURL(out).href)) as Generated;
  return { g: r.grad, mod, path: out };
}

const toF32 = (t: Tensor) => Float32Array.from(t.data);
const rounded = (t: Tensor): Tensor => tensor(t.shape, Float64Array.from(t.data, Math.fround));

/**
 * The module against the interpreter: params as drawn, forward outputs
 * (also in training mode when asked), the loss, the gradients, three
 * training steps, then inference again with the params (running statistics
 * included) the steps left.
 */
async function matchesInterpreter(g: GradGraph, mod: Generated, dimsGiven: Record<string, number>, wasm: boolean, trainingForward = false): Promise<void> {
  const dims = bindDims(g, dimsGiven);
  const seed = 7;
  const model = mod.createModel({ dims: dimsGiven, seed, wasm });
  expect(model.wasm).toBe(wasm);

  // The initializers draw the same numbers.
  const params = new Map([...initParams(g, dims, seed)].map(([k, v]) => [k, rounded(v)]));
  for (const p of g.params) expect(relError(model.params[p.name]!, params.get(p.name)!.data), `param ${p.name}`).toBe(0);

  // Same inputs for both, exactly representable in float32.
  const feeds = new Map([...randomFeeds(g, dims, 3)].map(([k, v]) => [k, rounded(v)]));
  const batch: Record<string, Float32Array | Int32Array> = {};
  for (const d of [...g.inputs, ...g.targets]) {
    const t = feeds.get(d.name)!;
    batch[d.name] = g.dtypes[d.node] === "i32" ? Int32Array.from(t.data) : toF32(t);
  }
  const env = { dims, feeds, training: false, seed };

  const outs = model.forward(batch);
  const ref = interpret(g, { ...env, params, roots: g.outputs.map((o) => o.node) });
  for (const o of g.outputs) expect(relError(outs[o.name]!, ref[o.node]!.data), `output ${o.name}`).toBeLessThanOrEqual(TOLERANCE);
  if (trainingForward) {
    const trained = model.forward(batch, { training: true });
    const refTrained = interpret(g, { ...env, training: true, step: 0, params, roots: g.outputs.map((o) => o.node) });
    for (const o of g.outputs) expect(relError(trained[o.name]!, refTrained[o.node]!.data), `output ${o.name} in training mode`).toBeLessThanOrEqual(TOLERANCE);
  }

  const loss = model.loss(batch);
  const refLoss = interpret(g, { ...env, params, roots: [g.loss!.node] })[g.loss!.node]!.data[0]!;
  expect(relError([loss], [refLoss]), "loss").toBeLessThanOrEqual(TOLERANCE);

  const grads = model.gradients(batch);
  const refGrads = interpret(g, { ...env, training: true, step: 0, params, roots: g.gradients.map((x) => x.node) });
  for (const x of g.gradients) expect(relError(grads[x.name]!, refGrads[x.node]!.data), `gradient ${x.name}`).toBeLessThanOrEqual(TOLERANCE);

  // Three steps of the model's own optimizer, against the same steps in float64.
  const current = new Map([...params].map(([k, v]) => [k, tensor(v.shape, Float64Array.from(v.data))]));
  const state = new Map([...current].map(([k, v]) => [k, [new Float64Array(v.data.length), new Float64Array(v.data.length)] as const]));
  for (let s = 0; s < 3; s++) {
    const value = model.trainStep(batch);
    const vals = interpret(g, { ...env, training: true, step: s, params: current, roots: [g.loss!.node, ...g.gradients.map((x) => x.node), ...statUpdateRoots(g)] });
    expect(relError([value], vals[g.loss!.node]!.data), `loss at step ${s}`).toBeLessThanOrEqual(TOLERANCE);
    for (const x of g.gradients) {
      const [m, v] = state.get(x.name)!;
      optimizerStep(g.train, undefined, current.get(x.name)!.data, vals[x.node]!.data, m, v, s + 1);
    }
    applyStatUpdates(g, vals, current);
  }
  expect(model.step).toBe(3);
  for (const p of g.params) expect(relError(model.params[p.name]!, current.get(p.name)!.data), `param ${p.name} after 3 steps`).toBeLessThanOrEqual(TOLERANCE);

  // Inference with what the steps left (batchnorm: the running statistics they moved).
  const after = model.forward(batch);
  const refAfter = interpret(g, { ...env, params: current, roots: g.outputs.map((o) => o.node) });
  for (const o of g.outputs) expect(relError(after[o.name]!, refAfter[o.node]!.data), `output ${o.name} after 3 steps`).toBeLessThanOrEqual(TOLERANCE);
}

// Every example on the WebAssembly kernels (the default), and on the JavaScript ones (wasm: false).
describe.each(EXAMPLES.flatMap((file) => [true, false].map((wasm) => ({ file, wasm }))))("$file on the CPU (wasm: $wasm)", ({ file, wasm }) => {
  it("matches the interpreter: params, forward, loss, gradients, three training steps, inference after them", async () => {
    const { g, mod } = await compileExample(file);
    await matchesInterpreter(g, mod, testDims(g), wasm);
  });
});

// The cases no example reaches (test/parity-models.ts), the same way.
describe.each(Object.keys(PARITY_MODELS).flatMap((name) => [true, false].map((wasm) => ({ name, wasm }))))("$name on the CPU (wasm: $wasm)", ({ name, wasm }) => {
  it("matches the interpreter: params, forward, loss, gradients, three training steps, inference after them", async () => {
    const m = PARITY_MODELS[name]!;
    const { g, mod } = await compileSource(`${name}.nn`, m.text, `parity-${name}.ts`);
    await matchesInterpreter(g, mod, { ...m.dims }, wasm, m.trainingForward);
  });
});
