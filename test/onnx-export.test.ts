// Every example exported to ONNX and run by ONNX Runtime (onnxruntime-node,
// on the CPU): the forward graph against the emitted CPU module's forward
// pass, and three exported training steps against three of its trainSteps,
// each tensor within 1e-5 of its largest magnitude. Dropout in the training
// steps: the module's own masks (drawn from the seed and step) are fed to
// the exported graph's `dropout/K/mask` inputs.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { emitCpuModule } from "../src/backend/cpu/emit-module.ts";
import { randomFeeds } from "../src/check/gradcheck.ts";
import { DiagnosticBag } from "../src/diag/diagnostic.ts";
import { exportForward, exportTraining } from "../src/export/onnx-export.ts";
import { optimizerOf } from "../src/export/onnx-optim.ts";
import type { GradGraph } from "../src/ir/graph.ts";
import { bindDims } from "../src/interp/interpret.ts";
import { resolveShape, size } from "../src/interp/tensor.ts";
import { runGrad } from "../src/pipeline.ts";
import { DROPOUT_STREAM, uniform01 } from "../src/runtime/rng.ts";
import { rendered } from "./helpers.ts";

const ROOT = join(import.meta.dirname, "..");
const OUT = join(import.meta.dirname, ".generated");
const EXAMPLES = readdirSync(join(ROOT, "examples")).filter((f) => f.endsWith(".nn")).sort();
const TOLERANCE = 1e-5;
const SEED = 7;

type Arr = Float32Array | Int32Array;
interface Module {
  createModel(o: { dims: Record<string, number>; seed?: number }): {
    forward(i: Record<string, Arr>): Record<string, Arr>;
    trainStep(b: Record<string, Arr>): number;
    getParams(): Record<string, Float32Array>;
  };
}

function relError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) return Infinity;
  let scale = 1e-6;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]!));
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(Number(actual[i]!) - Number(expected[i]!)) / scale);
  return Number.isNaN(worst) ? Infinity : worst;
}

async function compile(file: string): Promise<{ g: GradGraph; mod: Module }> {
  const r = runGrad(`examples/${file}`, readFileSync(join(ROOT, "examples", file), "utf8"));
  if (!r.grad) throw new Error(rendered(r));
  mkdirSync(OUT, { recursive: true });
  const path = join(OUT, `onnx-${file.replace(/\.nn$/, ".ts")}`);
  writeFileSync(path, emitCpuModule(r.grad));
  return { g: r.grad, mod: (await import(pathToFileURL(path).href)) as Module };
}

/** Small sizes keep the test quick; dims without a default (batch) stay symbolic in the export. */
const testDims = (g: GradGraph) => Object.fromEntries(g.dims.map((d) => [d.name, Math.min(d.default ?? 3, 24)]));
const fixedDims = (g: GradGraph, dims: Record<string, number>) => Object.fromEntries(g.dims.filter((d) => d.default !== undefined).map((d) => [d.name, dims[d.name]!]));

function ortTensor(a: Arr, shape: readonly number[]): ort.Tensor {
  return a instanceof Int32Array ? new ort.Tensor("int32", a, shape) : new ort.Tensor("float32", a, shape);
}

describe.each(EXAMPLES)("%s exported to ONNX", (file) => {
  it("runs in ONNX Runtime: the forward graph and three training steps match the CPU module", async () => {
    const { g, mod } = await compile(file);
    const dimsGiven = testDims(g);
    const dims = bindDims(g, dimsGiven);
    const model = mod.createModel({ dims: dimsGiven, seed: SEED });
    const batch: Record<string, Arr> = {};
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of randomFeeds(g, dims, 3)) {
      const decl = [...g.inputs, ...g.targets].find((d) => d.name === name)!;
      batch[name] = g.dtypes[decl.node] === "i32" ? Int32Array.from(t.data) : Float32Array.from(t.data);
      feeds[name] = ortTensor(batch[name]!, t.shape);
    }

    // The forward graph, with the module's initial params.
    const diags = new DiagnosticBag();
    const fwd = exportForward(g, new Map(Object.entries(model.getParams())), diags, { dims: fixedDims(g, dimsGiven) });
    expect(diags.items).toEqual([]);
    const session = await ort.InferenceSession.create(fwd!);
    const inputs = Object.fromEntries(g.inputs.map((d) => [d.name, feeds[d.name]!]));
    const got = await session.run(inputs);
    const want = model.forward(batch);
    for (const o of g.outputs) expect(relError(got[o.name]!.data as Arr, want[o.name]!), `output ${o.name}`).toBeLessThanOrEqual(TOLERANCE);

    // Three training steps.
    const train = exportTraining(g, diags, { dims: fixedDims(g, dimsGiven) });
    expect(diags.items).toEqual([]);
    const step = await ort.InferenceSession.create(train!);
    const { slots } = optimizerOf(g.train);
    const state: Record<string, ort.Tensor> = {};
    for (const [name, v] of Object.entries(model.getParams())) {
      state[name] = ortTensor(v, resolveShape(g.shapes[g.params.find((p) => p.name === name)!.node]!, dims));
      for (let k = 1; k <= slots; k++) state[`state/${name}/${k}`] = ortTensor(new Float32Array(v.length), state[name]!.dims);
    }
    for (let t = 0; t < 3; t++) {
      const masks: Record<string, ort.Tensor> = {};
      for (const n of g.nodes) {
        if (n.op !== "dropout" || !step.inputNames.includes(`dropout/${n.attrs.stream}/mask`)) continue;
        const shape = resolveShape(g.shapes[n.id]!, dims);
        const { p, stream } = n.attrs;
        const mask = Float32Array.from({ length: size(shape) }, (_, i) => (uniform01(SEED, DROPOUT_STREAM + stream, t, i) >= p ? 1 / (1 - p) : 0));
        masks[`dropout/${stream}/mask`] = ortTensor(mask, shape);
      }
      const data = Object.fromEntries(step.inputNames.filter((n) => n in feeds).map((n) => [n, feeds[n]!]));
      const out = await step.run({ ...data, ...state, ...masks, "train/step": new ort.Tensor("float32", Float32Array.of(t), []) });
      const loss = model.trainStep(batch);
      expect(relError(out["loss"]!.data as Float32Array, [loss]), `loss at step ${t}`).toBeLessThanOrEqual(TOLERANCE);
      const params = model.getParams();
      for (const name of Object.keys(params)) expect(relError(out[`new/${name}`]!.data as Float32Array, params[name]!), `${name} after step ${t + 1}`).toBeLessThanOrEqual(TOLERANCE);
      for (const name of Object.keys(state)) state[name] = out[`new/${name}`]!;
      expect((out["new/train/step"]!.data as Float32Array)[0]).toBe(t + 1);
    }
  });
});
