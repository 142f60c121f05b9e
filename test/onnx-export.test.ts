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
import { ProtoWriter } from "../src/export/proto.ts";
import type { GradGraph } from "../src/ir/graph.ts";
import type { Shape } from "../src/ops/types.ts";
import { bindDims, interpret } from "../src/interp/interpret.ts";
import { resolveShape, size, tensor } from "../src/interp/tensor.ts";
import { runGrad } from "../src/pipeline.ts";
import { DROPOUT_STREAM, uniform01 } from "../src/backend/cpu/runtime/rng.ts";
import { relError, rendered } from "./helpers.ts";
import { BROADCAST_PRODUCTS, HEADS, IDS, STRUCTURE } from "./structure-models.ts";

const ROOT = join(import.meta.dirname, "..");
const OUT = join(import.meta.dirname, ".generated");
const EXAMPLES = readdirSync(join(ROOT, "examples")).filter((f) => f.endsWith(".nn")).sort();
const TOLERANCE = 1e-5;
/**
 * Params after training steps, where a looser bound is explained: these two
 * train with Adam, whose first steps move each weight by about lr times the
 * sign of its gradient. Where a gradient is a sum that cancels to ~1e-8 (conv
 * kernels under batch normalisation; attention values under layer
 * normalisation), float32 rounding in another summation order (ONNX Runtime's
 * against the module's) changes g/(√v + eps) by a percent: about 3e-5 of the
 * largest weight, measured (mnist_resnet 2.9e-5, gpt 2.5e-5).
 */
const STEP_TOLERANCE: Readonly<Record<string, number>> = { "mnist_resnet.nn": 1e-4, "gpt.nn": 1e-4 };
const SEED = 7;

type Arr = Float32Array | Int32Array;
interface Module {
  createModel(o: { dims: Record<string, number>; seed?: number }): {
    forward(i: Record<string, Arr>): Record<string, Arr>;
    trainStep(b: Record<string, Arr>): number;
    getParams(): Record<string, Float32Array>;
  };
}

/** Layers, losses and optimizers no example uses: conv2d "same" with a stride and an even kernel, a
 * valid strided conv2d that leaves rows unread, maxpool2d, the other losses and optimizers (adamw
 * with the activations written from their scalar formulas), average pooling that leaves a row and
 * a column unread, layernorm and the integer-label cross-entropy. */
const EXTRA: Record<string, string> = {
  "structure.nn": STRUCTURE,
  "ids.nn": IDS,
  // ONNX MatMul broadcasts batch axes as numpy does: exported as is.
  "heads.nn": HEADS,
  "broadcast_products.nn": BROADCAST_PRODUCTS,
  "layers_hinge_adam.nn": `model layers_hinge_adam
dim batch
input x: [batch, 64]
target y: [batch, 3]
param K1: [3, 3, 1, 4] = uniform(-1, 1)
param K2: [2, 2, 4, 2] = uniform(-1, 1)
param W: [_, 3] = uniform(-1, 1)
param b: [3] = uniform(-1, 1)
img = reshape(x, [batch, 8, 8, 1])
c1 = leaky_relu(conv2d(img, K1, stride = 2, padding = "same"), 0.1)
p1 = maxpool2d(c1, 2)
c2 = sigmoid(conv2d(p1, K2, padding = "same"))
s = flatten(c2) W + b
acc = accuracy(s, y)
output s
output acc
loss = hinge(s, y)
train adam(lr = 0.01, weight_decay = 0.01)
`,
  "layers_bce_momentum.nn": `model layers_bce_momentum
dim batch
dim hidden = 5
input x: [batch, 81]
target y: [batch, 1]
param K: [3, 3, 1, 2] = uniform(-1, 1)
param W: [_, hidden] = uniform(-1, 1)
param v: [hidden, 1] = uniform(-1, 1)
img = reshape(x, [batch, 9, 9, 1])
c = abs(conv2d(img, K, stride = 3)) + maximum(conv2d(img, K, stride = 3), 0.1)
h = exp(-sqrt(flatten(c) ^ 2 + 1)) W
m = h - mean(h, axis = 1, keepdims = true) + max(h, axis = 0) / sum(h)
p = sigmoid(m v)
output p
loss = binary_cross_entropy(p, y) + 0.01 * sumsq(W) + 0.01 * sumabs(v)
train momentum(lr = 0.1, momentum = 0.8)
`,
  "layers_mse_adagrad.nn": `model layers_mse_adagrad
dim batch
input x: [batch, 4]
target y: [batch, 3]
param W: [4, 3] = uniform(-1, 1)
param c: [3] = ones
z = log_softmax(x W + c) - minimum(step(x W) * sign(x W), 0.5)
output z
loss = mse(z, y) + sumsq(stop_gradient(W) * W)
train adagrad(lr = 0.1)
`,
  "pool_sparse_sgd.nn": `model pool_sparse_sgd
dim batch
input x: [batch, 50]
target y: int[batch]
param K: [3, 3, 2, 3] = uniform(-1, 1)
param g: [3] = uniform(0.5, 1.5)
param b: [3] = uniform(-1, 1)
param W: [3, 4] = uniform(-1, 1)
img = reshape(x, [batch, 5, 5, 2])
c = conv2d(img, K, padding = "same")
a = avgpool2d(c)
n = layernorm(c, g, b, eps = 0.01)
s = global_avgpool(n) W + mean(flatten(a), axis = 1, keepdims = true)
output s
loss = sparse_cross_entropy(s, y)
train sgd(lr = 0.1)
`,
  // accuracy against integer class ids (scores of rank 2 and 3) and against one-hot rows: outputs that read targets.
  "accuracy_labels_sgd.nn": `model accuracy_labels_sgd
dim batch
input x: [batch, 6]
target y: int[batch]
target t: int[batch, 2]
param W: [6, 4] = uniform(-1, 1)
param V: [6, 8] = uniform(-1, 1)
s = x W
u = reshape(x V, [batch, 2, 4])
acc = accuracy(s, y)
acc3 = accuracy(u, t)
hot = accuracy(s, one_hot(y, 4))
output s, acc, acc3, hot
loss = sparse_cross_entropy(s, y) + sparse_cross_entropy(u, t)
train sgd(lr = 0.1)
`,
  "activations_adamw.nn": `model activations_adamw
dim batch
input x: [batch, 6]
target y: [batch, 4]
param W0: [6, 5] = uniform(-1, 1)
param W1: [5, 4] = uniform(-1, 1)
h = elu(gelu(x W0, approximate = "tanh") + silu(x W0), 0.5)
z = softplus(h W1) - gelu(h W1)
output z
loss = mse(z, y)
train adamw(lr = 0.05, weight_decay = 0.1)
`,
};

function source(file: string): string {
  return EXTRA[file] ?? readFileSync(join(ROOT, "examples", file), "utf8");
}

async function compile(file: string): Promise<{ g: GradGraph; mod: Module }> {
  const r = runGrad(EXTRA[file] !== undefined ? file : `examples/${file}`, source(file));
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

describe.each([...EXAMPLES, ...Object.keys(EXTRA)])("%s exported to ONNX", (file) => {
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
    // An output may read a target (accuracy): the graph's inputs are whatever data its outputs need.
    const got = await session.run(Object.fromEntries(session.inputNames.map((n) => [n, feeds[n]!])));
    const want = model.forward(batch);
    // The module's forward reads no targets, so an output that does (accuracy) is checked against the float64 interpreter.
    const fromTargets = new Set(g.targets.map((d) => d.name).filter((n) => session.inputNames.includes(n)));
    const tensors = (values: Record<string, Arr>, shapeOf: (name: string) => Shape) => new Map(Object.entries(values).map(([k, v]) => [k, tensor(resolveShape(shapeOf(k), dims), v)]));
    const shapeOf = (name: string) => g.shapes[[...g.inputs, ...g.targets, ...g.params].find((d) => d.name === name)!.node]!;
    const reference = interpret(g, { dims, feeds: tensors(batch, shapeOf), params: tensors(model.getParams(), shapeOf), training: false, seed: SEED });
    for (const o of g.outputs) {
      const expected = fromTargets.size > 0 ? reference[o.node]!.data : want[o.name]!;
      expect(relError(got[o.name]!.data as Arr, expected), `output ${o.name}`).toBeLessThanOrEqual(TOLERANCE);
    }

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
      for (const name of Object.keys(params)) expect(relError(out[`new/${name}`]!.data as Float32Array, params[name]!), `${name} after step ${t + 1}`).toBeLessThanOrEqual(STEP_TOLERANCE[file] ?? TOLERANCE);
      for (const name of Object.keys(state)) state[name] = out[`new/${name}`]!;
      expect((out["new/train/step"]!.data as Float32Array)[0]).toBe(t + 1);
    }
  });
});

describe("what has no ONNX form", () => {
  // The size of `batch` is used, but the only output reads no input that carries it.
  const text = "model m\ndim batch\ninput x: [batch, 2]\nparam W: [2] = ones\ns = W / batch\noutput s\n";

  it("is NNC402 at its line, and no file", () => {
    const r = runGrad("m.nn", text);
    const diags = new DiagnosticBag();
    expect(exportForward(r.shaped!, new Map([["W", Float32Array.of(1, 1)]]), diags)).toBeUndefined();
    expect(diags.items.map((d) => [d.code, r.file.lineCol(d.span.start).line])).toEqual([["NNC402", 5]]);
    expect(diags.items[0]!.message).toContain("dim `batch`");
  });

  it("exports once the size is fixed with --dim", async () => {
    const r = runGrad("m.nn", text);
    const diags = new DiagnosticBag();
    const bytes = exportForward(r.shaped!, new Map([["W", Float32Array.of(1, 1)]]), diags, { dims: { batch: 4 } });
    const out = await (await ort.InferenceSession.create(bytes!)).run({});
    expect([...(out["s"]!.data as Float32Array)]).toEqual([0.25, 0.25]);
  });
});

describe("the protobuf writer", () => {
  it("writes varints (negative int64 as ten bytes), fixed32 floats, strings and packed ints as the wire format says", () => {
    const bytes = new ProtoWriter().int(1, 300).int(3, -1).float(2, 1.5).string(4, "é").packedInts(8, [1, 128]).finish();
    // tag 1·8+0, 300 = 0xac 0x02; tag 3·8+0, −1 as 2⁶⁴ − 1; tag 2·8+5, 1.5f LE; tag 4·8+2, length 2, UTF-8; tag 8·8+2, length 3, 1, 128.
    expect([...bytes]).toEqual([0x08, 0xac, 0x02, 0x18, ...Array(9).fill(0xff), 0x01, 0x15, 0, 0, 0xc0, 0x3f, 0x22, 2, 0xc3, 0xa9, 0x42, 3, 1, 0x80, 0x01]);
  });
});
