// What the tests that compare emitted modules with the float64 interpreter
// on models of their own share (test/structure.test.ts, test/heads.test.ts):
// writing a generated module where it can be imported, the interpreter's
// outputs and gradients for a random batch, and the check of a CPU or
// WebGPU module against them.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { expect } from "vitest";
import { emitCpuModule } from "../src/backend/cpu/emit-module.ts";
import { emitWebgpuModule } from "../src/backend/webgpu/emit-module.ts";
import { randomFeeds } from "../src/check/gradcheck.ts";
import type { GradGraph } from "../src/ir/graph.ts";
import { initParams } from "../src/interp/init.ts";
import { bindDims, interpret } from "../src/interp/interpret.ts";
import { tensor, type Tensor } from "../src/interp/tensor.ts";
import { relError } from "./helpers.ts";

export type Data = Record<string, Float32Array | Int32Array>;

/** Writes `code` as `dir/name` and imports it. */
export async function loadGenerated<T>(dir: string, name: string, code: string): Promise<T> {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileSync(path, code);
  return (await import(pathToFileURL(path).href)) as T;
}

/** A tensor's values rounded to float32, as the modules hold them, so both sides start from the same numbers. */
export const rounded = (t: Tensor): Tensor => tensor(t.shape, Float64Array.from(t.data, Math.fround));

/** The interpreter's outputs and gradients for a random batch (params seed 7, feeds seed 3), and that batch as the modules take it. */
export function interpreterReference(g: GradGraph, batchSize: number, more: Record<string, number> = {}) {
  const dims = bindDims(g, { batch: batchSize, ...more });
  const params = new Map([...initParams(g, dims, 7)].map(([k, v]) => [k, rounded(v)]));
  const feeds = new Map([...randomFeeds(g, dims, 3)].map(([k, v]) => [k, rounded(v)]));
  const declared = (name: string) => (g.inputs.find((d) => d.name === name) ?? g.targets.find((d) => d.name === name))!.node;
  const batch: Data = Object.fromEntries([...feeds].map(([k, v]) => [k, g.dtypes[declared(k)] === "i32" ? Int32Array.from(v.data) : Float32Array.from(v.data)]));
  const env = { dims, feeds, params, seed: 7 };
  const outs = interpret(g, { ...env, training: false, roots: g.outputs.map((o) => o.node) });
  const grads = interpret(g, { ...env, training: true, step: 0, roots: g.gradients.map((x) => x.node) });
  return { batch, outs, grads };
}

type Grads = Record<string, Float32Array>;
interface CpuParityModel {
  forward(i: Data): Data;
  gradients(b: Data): Grads;
}
interface GpuParityModel {
  forward(i: Data): Promise<Data>;
  gradients(b: Data): Promise<Grads>;
  destroy(): void;
}

/** Each output of a module for the reference batch against the interpreter's, within `tolerance` (relative). */
function expectOutputs(g: GradGraph, ref: ReturnType<typeof interpreterReference>, outs: Data, tolerance: number): void {
  for (const o of g.outputs) expect(relError(outs[o.name]!, ref.outs[o.node]!.data), `output ${o.name}`).toBeLessThanOrEqual(tolerance);
}

/** Each gradient, likewise. */
function expectGradients(g: GradGraph, ref: ReturnType<typeof interpreterReference>, grads: Grads, tolerance: number): void {
  for (const x of g.gradients) expect(relError(grads[x.name]!, ref.grads[x.node]!.data), `gradient ${x.name}`).toBeLessThanOrEqual(tolerance);
}

/** The CPU module of `g` (written as `dir/name.cpu.ts`) at batch 3, seed 7, against the interpreter. */
export async function expectCpuMatchesInterpreter(g: GradGraph, dir: string, name: string, tolerance: number): Promise<void> {
  const mod = await loadGenerated<{ createModel(o: { dims: Record<string, number>; seed: number }): CpuParityModel }>(dir, `${name}.cpu.ts`, emitCpuModule(g));
  const model = mod.createModel({ dims: { batch: 3 }, seed: 7 });
  const ref = interpreterReference(g, 3);
  // Outputs are views valid until the next call: compared before gradients() runs.
  expectOutputs(g, ref, model.forward(ref.batch), tolerance);
  expectGradients(g, ref, model.gradients(ref.batch), tolerance);
}

/** The WebGPU module of `g` (written as `dir/name.ts`) on `device` at batch 3, seed 7, against the interpreter. */
export async function expectWebgpuMatchesInterpreter(g: GradGraph, dir: string, name: string, device: GPUDevice, tolerance: number): Promise<void> {
  const mod = await loadGenerated<{ createModel(o: { dims: Record<string, number>; seed: number; device: GPUDevice }): Promise<GpuParityModel> }>(dir, `${name}.ts`, emitWebgpuModule(g).code);
  const model = await mod.createModel({ dims: { batch: 3 }, seed: 7, device });
  try {
    const ref = interpreterReference(g, 3);
    expectOutputs(g, ref, await model.forward(ref.batch), tolerance);
    expectGradients(g, ref, await model.gradients(ref.batch), tolerance);
  } finally {
    model.destroy();
  }
}
