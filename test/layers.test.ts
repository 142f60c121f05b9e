// Layers with their own params (`layer NAME(args):`): each use declares fresh
// params named after it, `_` is solved per use, sizes pass as arguments,
// `repeat` numbers its uses, a layer may use a top-level param (weight tying),
// and errors point at both the use and the definition. The dotted names that
// result go everywhere a param name goes: a model with them is compiled for
// the CPU and WebGPU and trained a step against the float64 interpreter.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { emitCpuModule } from "../src/backend/cpu/emit-module.ts";
import { emitWebgpuModule } from "../src/backend/webgpu/emit-module.ts";
import { formatGradCheck, gradcheck, randomFeeds } from "../src/check/gradcheck.ts";
import { spanLine } from "../src/diag/source.ts";
import type { GradGraph } from "../src/ir/graph.ts";
import { initParams } from "../src/interp/init.ts";
import { bindDims, interpret } from "../src/interp/interpret.ts";
import { optimizerStep } from "../src/interp/optim.ts";
import { tensor, type Tensor } from "../src/interp/tensor.ts";
import { runGrad } from "../src/pipeline.ts";
import { codes, frontEnd, namedShapes, only, relError, rendered, spanText } from "./helpers.ts";
import { REQUIRED, SETUP_COMMAND, webgpuDevice } from "./webgpu-device.ts";

// Nested layers (block → attn, mlp → dense), sizes passed down, a repeat, and
// the output tied to the embedding: the names go three levels deep.
const NESTED = `model nested
dim batch
dim d = 8
input ids: int[batch, 5]
target y: [batch, 5, 20]
param E: [20, d]

layer dense(x, n):
  param W: [_, n]
  param b: [n] = uniform(-0.1, 0.1)
  return x W + b

layer mlp(x, hidden):
  up = dense(x, hidden)
  down = dense(relu(up), d)
  return x + down

layer attn(x):
  param Wq: [d, d]
  param Wk: [d, d]
  q = x Wq
  k = x Wk
  s = softmax(q k.T / sqrt(d))
  return x + s x

layer block(x, hidden):
  a = attn(x)
  m = mlp(a, hidden)
  return m

h0 = embed(ids, E)
b1 = block(h0, 16)
hs = repeat 2 block(b1, hidden = 12)
logits = hs E.T
output logits
loss = softmax_cross_entropy(logits, y)
train adam(lr = 0.01)
`;

// A smaller model for WebGPU (SwiftShader compiles every kernel on the CPU):
// two levels of names (`hs.1.up.W`), a repeat, and a param tied on both sides.
const SMALL = `model small
dim batch
input x: [batch, 6]
target y: [batch, 6]
param E: [6, 4]

layer dense(h, n):
  param W: [_, n]
  param b: [n] = uniform(-0.1, 0.1)
  return h W + b

layer block(h):
  up = dense(h, 8)
  down = dense(tanh(up), 4)
  return h + down

hs = repeat 2 block(x E)
out = hs E.T
output out
loss = mse(out, y)
train adam(lr = 0.01)
`;

function grad(text: string, path = "nested.nn"): GradGraph {
  const r = runGrad(path, text);
  if (!r.grad) throw new Error(rendered(r));
  return r.grad;
}

describe("layer uses", () => {
  it("name their params after the value they define, nested uses after both, repeats by index", () => {
    const g = grad(NESTED);
    const layerParams = ["a.Wq", "a.Wk", "m.up.W", "m.up.b", "m.down.W", "m.down.b"];
    expect(g.params.map((p) => p.name)).toEqual(["E", ...["b1", "hs.0", "hs.1"].flatMap((use) => layerParams.map((p) => `${use}.${p}`))]);
  });

  it("solve each `_` per use, and take sizes from numbers, dims and keyword arguments", () => {
    const shapes = namedShapes(frontEnd(NESTED));
    expect(shapes["b1.m.up.W"]).toBe("[d, 16]");
    expect(shapes["hs.0.m.up.W"]).toBe("[d, 12]");
    expect(shapes["hs.1.m.down.W"]).toBe("[12, d]");
    expect(shapes["hs.0"]).toBe("[batch, 5, d]");
    expect(shapes["hs"]).toBe("[batch, 5, d]");
  });

  it("solve a `_` differently at each use", () => {
    const r = frontEnd(`dim batch
input x: [batch, 784]
target y: [batch, 10]
layer dense(h, n):
  param W: [_, n]
  return relu(h W)
d1 = dense(x, 100)
d2 = dense(d1, 10)
output d2
loss = mse(d2, y)
`);
    expect(codes(r)).toEqual([]);
    const shapes = namedShapes(r);
    expect([shapes["d1.W"], shapes["d2.W"]]).toEqual(["[784, 100]", "[100, 10]"]);
  });

  it("draw each param from its own stream, so two uses start from different values", () => {
    const g = grad(NESTED);
    const params = initParams(g, bindDims(g, { batch: 2 }), 1);
    expect(params.get("b1.a.Wq")!.data).not.toEqual(params.get("hs.0.a.Wq")!.data);
  });

  it("tie weights explicitly: the top-level param a layer names gets every use's gradient, checked in float64", () => {
    const g = grad(NESTED);
    const check = gradcheck(g, { dims: { batch: 2 }, seed: 3 });
    expect(check.ok, formatGradCheck(check)).toBe(true);
    expect(check.params.map((p) => p.name)).toContain("hs.1.m.down.b");
  });

  it("use a size argument as a value, as a dim name is", () => {
    const r = frontEnd(`dim batch
input x: [batch, 4]
target y: [batch, 4]
layer scaled(h, n):
  param W: [_, n]
  return h W / n
s = scaled(x, 4)
output s
loss = mse(s, y)
`);
    expect(codes(r)).toEqual([]);
  });
});

describe("layer syntax", () => {
  const head = "dim batch\ninput x: [batch, 4]\ntarget y: [batch, 4]\n";
  const tail = "a = sq(x)\noutput a\nloss = mse(a, y)\n";

  it("a body runs to the first line indented no further than the header; blank and comment lines do not end it", () => {
    const r = frontEnd(`${head}layer sq(h):\n  param W: [4, 4]\n\n  # a comment\n  z = maximum(h W,\n      h)\n  return z\n${tail}`);
    expect(codes(r)).toEqual([]);
    expect(namedShapes(r)["a.W"]).toBe("[4, 4]");
  });

  it("a header that does not parse takes its body with it: one error, and its uses stay quiet", () => {
    const r = frontEnd(`${head}layer sq(h)\n  param W: [4, 4]\n  return h W\n${tail}`);
    expect(codes(r)).toEqual(["NNC102"]);
    expect(only(r, "NNC102").message).toBe("expected `:` in a `layer` header, found the end of the statement");
  });

  it("a body line that does not parse is its one error; the layer's uses stay quiet", () => {
    const r = frontEnd(`${head}layer sq(h):\n  param W: [4, 4\n  return h W\n${tail}`);
    expect(codes(r)).toEqual(["NNC102"]);
  });

  it("layer, return and repeat are keywords", () => {
    expect(codes(frontEnd(`${head}repeat = x\noutput repeat\nloss = mse(x, y)\n`))).toContain("NNC107");
  });
});

describe("layer errors", () => {
  it("a shape mistake inside a layer points at the definition, with the use in a note", () => {
    const r = frontEnd(`dim batch
input x: [batch, 784]
target y: [batch, 10]
layer block(h, n):
  param W: [_, n]
  return h + relu(h W)
param W_out: [64, 10]
b1 = block(x, 64)
p = softmax(b1 W_out)
output p
loss = cross_entropy(p, y)
`);
    const d = only(r, "NNC202");
    expect(spanLine(d.span)).toBe(6);
    const use = d.notes.find((n) => n.message.includes("a use of layer `block`"));
    expect(use?.span && spanText({ ...d, span: use.span })).toBe("block(x, 64)");
  });

  it("a tensor where a size is wanted is NNC243, pointing at the argument and the shape", () => {
    const r = frontEnd(`dim batch
input x: [batch, 4]
target y: [batch, 4]
layer dense(h, n):
  param W: [_, n]
  return h W
d1 = dense(x, x)
output d1
loss = mse(d1, y)
`);
    const d = only(r, "NNC243");
    expect(spanText(d)).toBe("x");
    expect(d.notes[0]!.span && spanLine(d.notes[0]!.span)).toBe(5);
  });

  it("repeat needs a whole number of times and a layer", () => {
    const head = "dim batch\ninput x: [batch, 4]\ntarget y: [batch, 4]\nfn f(a) = relu(a)\nlayer sq(h):\n  param W: [4, 4]\n  return h W\nconst half = 0.5\n";
    const tail = "output z\nloss = mse(z, y)\n";
    expect(codes(frontEnd(`${head}z = repeat 0 sq(x)\n${tail}`))).toEqual(["NNC105"]);
    expect(codes(frontEnd(`${head}z = repeat half sq(x)\n${tail}`))).toEqual(["NNC244"]);
    expect(codes(frontEnd(`${head}z = repeat 2 f(x)\n${tail}`))).toEqual(["NNC244"]);
    expect(codes(frontEnd(`${head}z = repeat 2 sq(x)\n${tail}`))).toEqual([]);
  });

  it("a layer param no use needs is one warning naming every use's copy; an unsolved `_` notes the use", () => {
    const head = "dim batch\ninput x: [batch, 4]\ntarget y: [batch, 4]\nlayer sq(h):\n  param W: [4, 4]\n";
    const unused = frontEnd(`${head}  param V: [4, 4]\n  return h W\na = sq(x)\nb = sq(a)\noutput b\nloss = mse(b, y)\n`);
    expect(only(unused, "NNC212").message).toBe("params `a.V` and `b.V` are never used by an output or the loss");
    const unsolved = only(frontEnd(`${head}  param V: [_, 4]\n  return h W + sum(V)\na = sq(x)\noutput a\nloss = mse(a, y)\n`), "NNC210");
    expect(unsolved.notes.map((n) => n.message)).toEqual(["in `a`, a use of layer `sq`"]);
  });

  it("a repeat too large to build stops at a bound, with one error", () => {
    const r = frontEnd("dim batch\ninput x: [batch, 4]\ntarget y: [batch, 4]\nlayer sq(h):\n  param W: [4, 4]\n  return h W\nz = repeat 100000000 sq(x)\noutput z\nloss = mse(z, y)\n");
    expect(codes(r)).toEqual(["NNC247"]);
  });

  it("a statement that belongs at the top level is NNC246 inside a layer, reported once for all uses", () => {
    const r = frontEnd(`dim batch
input x: [batch, 4]
target y: [batch, 4]
layer bad(h):
  dim k
  return h
a = bad(x)
b = bad(a)
output b
loss = mse(b, y)
`);
    expect(codes(r)).toEqual(["NNC246"]);
  });

  it("a layer mistake is reported once, however many uses it has", () => {
    const r = frontEnd(`dim batch
input x: [batch, 4]
target y: [batch, 4]
layer loop(h):
  inner = loop(h)
  return inner
a = loop(x)
b = loop(a)
output b
loss = mse(b, y)
`);
    expect(codes(r)).toEqual(["NNC242"]);
  });

  it("a layer is not a value, and an unindented line after a layer is back at the top level", () => {
    const r = frontEnd(`dim batch
input x: [batch, 4]
target y: [batch, 4]
layer id(h):
  return h
z = id
output x
loss = mse(x, y)
`);
    expect(codes(r)).toEqual(["NNC203"]);
    expect(only(r, "NNC203").message).toContain("is a layer");
  });
});

// ---- Both backends, on the dotted names ----

type Data = Record<string, Float32Array | Int32Array>;
interface CpuModel {
  trainStep(b: Data): number;
  params: Record<string, Float32Array>;
  saveCheckpoint(): Uint8Array;
  loadCheckpoint(b: Uint8Array): void;
}
interface GpuModel {
  trainStep(b: Data): Promise<number>;
  getParams(): Promise<Record<string, Float32Array>>;
  destroy(): void;
}

const OUT = join(import.meta.dirname, ".generated", "layers");
async function load<T>(name: string, code: string): Promise<T> {
  mkdirSync(OUT, { recursive: true });
  const path = join(OUT, name);
  writeFileSync(path, code);
  return (await import(pathToFileURL(path).href)) as T;
}

const rounded = (t: Tensor): Tensor => tensor(t.shape, Float64Array.from(t.data, Math.fround));

/** One Adam step in float64 from the same params and batch: the reference both backends must match. */
function referenceStep(g: GradGraph, dimsGiven: Record<string, number>, seed: number) {
  const dims = bindDims(g, dimsGiven);
  const feeds = new Map([...randomFeeds(g, dims, 4)].map(([k, v]) => [k, rounded(v)]));
  const batch: Data = {};
  for (const d of [...g.inputs, ...g.targets]) batch[d.name] = g.dtypes[d.node] === "i32" ? Int32Array.from(feeds.get(d.name)!.data) : Float32Array.from(feeds.get(d.name)!.data);
  const params = new Map([...initParams(g, dims, seed)].map(([k, v]) => [k, tensor(v.shape, Float64Array.from(v.data, Math.fround))]));
  const vals = interpret(g, { dims, feeds, training: true, step: 0, seed, params, roots: [g.loss!.node, ...g.gradients.map((x) => x.node)] });
  for (const x of g.gradients) {
    const p = params.get(x.name)!;
    optimizerStep(g.train, undefined, p.data, vals[x.node]!.data, new Float64Array(p.data.length), new Float64Array(p.data.length), 1);
  }
  return { batch, loss: vals[g.loss!.node]!.data[0]!, params };
}

describe("a model with dotted param names on the CPU", () => {
  it("trains a step as the interpreter does, and keeps the names in params and checkpoints", async () => {
    const g = grad(NESTED);
    const cpu = await load<{ createModel(o: { dims: Record<string, number>; seed: number }): CpuModel }>("nested.cpu.ts", emitCpuModule(g));
    const ref = referenceStep(g, { batch: 3 }, 5);
    const model = cpu.createModel({ dims: { batch: 3 }, seed: 5 });
    expect(Object.keys(model.params)).toEqual(g.params.map((p) => p.name));
    expect(relError([model.trainStep(ref.batch)], [ref.loss])).toBeLessThanOrEqual(1e-4);
    for (const p of g.params) expect(relError(model.params[p.name]!, ref.params.get(p.name)!.data), p.name).toBeLessThanOrEqual(1e-4);
    const again = cpu.createModel({ dims: { batch: 3 }, seed: 9 });
    again.loadCheckpoint(model.saveCheckpoint());
    expect(again.params["hs.1.m.down.W"]).toEqual(model.params["hs.1.m.down.W"]);
  });
});

const ctx = await webgpuDevice();
if (typeof ctx === "string" && REQUIRED) throw new Error(`NNC_REQUIRE_WEBGPU=1 but WebGPU is unavailable: ${ctx}`);

describe("a model with dotted param names on WebGPU", () => {
  it.skipIf(typeof ctx === "string")(`trains a step as the interpreter does${typeof ctx === "string" ? ` (skipped: ${ctx}; ${SETUP_COMMAND})` : ""}`, async () => {
    const device = (ctx as Exclude<typeof ctx, string>).device;
    const g = grad(SMALL, "small.nn");
    expect(g.params.map((p) => p.name)).toContain("hs.1.up.W");
    const gpu = await load<{ createModel(o: { dims: Record<string, number>; seed: number; device: GPUDevice }): Promise<GpuModel> }>("small.webgpu.ts", emitWebgpuModule(g).code);
    const ref = referenceStep(g, { batch: 3 }, 5);
    const model = await gpu.createModel({ dims: { batch: 3 }, seed: 5, device });
    try {
      expect(relError([await model.trainStep(ref.batch)], [ref.loss])).toBeLessThanOrEqual(1e-4);
      const after = await model.getParams();
      expect(Object.keys(after)).toEqual(g.params.map((p) => p.name));
      for (const p of g.params) expect(relError(after[p.name]!, ref.params.get(p.name)!.data), p.name).toBeLessThanOrEqual(1e-4);
    } finally {
      model.destroy();
    }
  }, 120_000);
});
