// The benchmark's peers compute what nnc computes, on tiny shapes: the
// PyTorch peer (bench/peers/torch_peer.py, the code `npm run bench` times)
// against the emitted CPU module, in inference and over two SGD steps fed
// nnc's own dropout masks (loss and every param within 1e-5), and ONNX
// Runtime on the exported forward graph (bench/ort-peer.ts) against nnc's
// forward pass, natively and, where onnxruntime-web is installed (it is not
// a dependency; $NNC_BENCH_MODULES may point at a folder that has it), on
// WebAssembly. Without PyTorch or onnxruntime-web those parts are reported
// skipped with the install command. The PyTorch peer reports its errors (and
// stops) rather than hanging the bench.
import { beforeAll, describe, expect, it } from "vitest";
import { DROPOUT_STREAM, uniform01 } from "../src/backend/cpu/runtime/rng.ts";
import { compileExample, type CompiledExample } from "../bench/nnc-models.ts";
import { exportedForward, inferRunner, loadOrt, oneThreadSession } from "../bench/ort-peer.ts";
import { filled, oneHot } from "../bench/timing.ts";
import { TorchPeer, torchAvailable } from "../bench/torch-peer.ts";
import { relError } from "./helpers.ts";

const TOLERANCE = 1e-5;
const SEED = 3;

interface Case {
  kind: "mlp" | "conv";
  file: string;
  dims: Record<string, number>;
  input: string;
  output: string;
  /** Inputs per example. */
  features: number;
}

const CASES: Case[] = [
  { kind: "mlp", file: "mnist_tanh.nn", dims: { batch: 4, hidden: 8 }, input: "l0", output: "l2", features: 784 },
  { kind: "conv", file: "mnist_conv.nn", dims: { batch: 2 }, input: "pixels", output: "p", features: 784 },
];

/** The multipliers (0 or 1/(1 − p)) nnc's dropout applies at `step`, in nnc's layout. */
function dropoutMask(ex: CompiledExample, dims: Record<string, number>, step: number): Float32Array {
  const drops = ex.graph.nodes.filter((n) => n.op === "dropout");
  expect(drops).toHaveLength(1); // both examples have one dropout; the peer takes one mask
  const { p, stream } = drops[0]!.attrs as { p: number; stream: number };
  const n = ex.graph.shapes[drops[0]!.id]!.reduce<number>((a, d) => a * (typeof d === "number" ? d : dims[String(d)]!), 1);
  return Float32Array.from({ length: n }, (_, i) => (uniform01(SEED, DROPOUT_STREAM + stream, step, i) >= p ? 1 / (1 - p) : 0));
}

const compiled = new Map<string, CompiledExample>();
beforeAll(async () => {
  for (const c of CASES) compiled.set(c.kind, await compileExample(c.file));
}, 60_000);

function fixture(c: Case) {
  const ex = compiled.get(c.kind)!;
  const batch = c.dims["batch"]!;
  const model = ex.createModel({ dims: c.dims, seed: SEED });
  const x = filled(batch * c.features, 5 + batch);
  const y = oneHot(batch, 10);
  const params = Object.fromEntries(Object.entries(model.params).map(([k, v]) => [k, v.slice()]));
  return { ex, batch, model, x, y, params };
}

const torch = torchAvailable();
if (torch !== true) console.warn(`bench-peers: PyTorch part ${torch}`);

describe.skipIf(torch !== true)("the PyTorch peer against nnc", () => {
  it.each(CASES)("$file: inference and two SGD steps with nnc's dropout masks agree within 1e-5", async (c) => {
    const { ex, batch, model, x, y, params } = fixture(c);
    const masks = [0, 1].map((t) => dropoutMask(ex, c.dims, t));
    const arrays: Record<string, { data: Float32Array; shape: number[] }> = {
      x: { data: x, shape: [batch, c.features] },
      y: { data: y, shape: [batch, 10] },
      mask0: { data: masks[0]!, shape: [masks[0]!.length] },
      mask1: { data: masks[1]!, shape: [masks[1]!.length] },
    };
    const shapeOf = (name: string) => ex.graph.shapes[ex.graph.params.find((p) => p.name === name)!.node]!.map((d) => (typeof d === "number" ? d : c.dims[String(d)]!));
    for (const [k, v] of Object.entries(params)) arrays[`param_${k}`] = { data: v, shape: shapeOf(k) };
    const peer = await TorchPeer.start({
      arrays,
      nets: [{ id: "net", kind: c.kind, batch, lr: ex.spec.train.lr, params: Object.fromEntries(Object.keys(params).map((k) => [k, `param_${k}`])) }],
    });
    try {
      const want = (await model.forward({ [c.input]: x }))[c.output] as Float32Array;
      expect(relError(await peer.predict("net", "x"), want), "probabilities").toBeLessThanOrEqual(TOLERANCE);
      for (const t of [0, 1]) {
        const got = await peer.step("net", "x", "y", `mask${t}`);
        const loss = await model.trainStep({ [c.input]: x, y }, { lr: ex.spec.train.lr });
        expect(relError([got.loss], [loss]), `loss at step ${t}`).toBeLessThanOrEqual(TOLERANCE);
        expect(Object.keys(got.params).sort()).toEqual(Object.keys(params).sort());
        for (const [k, v] of Object.entries(got.params)) expect(relError(v, model.params[k]!), `${k} after step ${t + 1}`).toBeLessThanOrEqual(TOLERANCE);
      }
      // The comparison can fail: the steps moved the params, and a step without nnc's masks lands elsewhere.
      expect(relError(model.params[Object.keys(params)[0]!]!, params[Object.keys(params)[0]!]!)).toBeGreaterThan(0);
      const free = await peer.step("net", "x", "y");
      const next = await model.trainStep({ [c.input]: x, y }, { lr: ex.spec.train.lr });
      expect(relError([free.loss], [next])).toBeGreaterThan(TOLERANCE);
    } finally {
      peer.close();
    }
  }, 60_000);
});

describe.skipIf(torch !== true)("the PyTorch peer's errors", () => {
  it("answers a bad request with Python's error and stops the child when setup fails", async () => {
    await expect(TorchPeer.start({ arrays: {}, nets: [{ id: "n", kind: "rnn" as "mlp", batch: 1, lr: 1, params: {} }] })).rejects.toThrow(/^PyTorch peer: KeyError: 'rnn'$/);
    const peer = await TorchPeer.start({ arrays: {}, nets: [] });
    await expect(peer.sample("no such case", 1)).rejects.toThrow(/KeyError: 'no such case'/);
    peer.close();
    await expect(peer.sample("no such case", 1)).rejects.toThrow(/^the PyTorch peer was closed$/);
  });
});

describe.each(["node", "web"] as const)("the ONNX Runtime peer (onnxruntime-%s) against nnc", (flavour) => {
  // it.for, not it.each: it hands the test its context, whose skip() names the reason.
  it.for(CASES)("$file: the exported forward graph on one thread gives nnc's probabilities at batch $dims.batch and 1", { timeout: 60_000 }, async (c, ctx) => {
    const ort = await loadOrt(flavour);
    if (typeof ort === "string") {
      // onnxruntime-node is a devDependency, so missing is a broken install; onnxruntime-web is optional.
      if (flavour === "node") throw new Error(ort);
      console.warn(`bench-peers: onnxruntime-web ${ort}`);
      return ctx.skip(ort);
    }
    const { ex, batch, model, x, params } = fixture(c);
    const { batch: _b, ...fixed } = c.dims;
    const session = await oneThreadSession(ort, exportedForward(ex, params, fixed), flavour);
    const want = (await model.forward({ [c.input]: x }))[c.output] as Float32Array;
    const got = await inferRunner(ort, session, c.input, c.output, x, [batch, c.features])();
    expect(relError(got, want)).toBeLessThanOrEqual(TOLERANCE);
    const one = await inferRunner(ort, session, c.input, c.output, x.slice(0, c.features), [1, c.features])();
    expect(relError(one, want.slice(0, 10))).toBeLessThanOrEqual(TOLERANCE);
    await session.release();
  });
});

describe("a missing peer", () => {
  it("is a 'skipped: install …' line naming what to install, never a silent gap", async () => {
    expect(torchAvailable("/nonexistent/python3")).toMatch(/^skipped: install PyTorch \(apt install python3-torch\); \/nonexistent\/python3 cannot import torch \(.+\)$/);
    expect(await loadOrt("web", "onnxruntime-web-not-installed")).toMatch(/^skipped: install onnxruntime-web-not-installed \(npm install --save-dev onnxruntime-web-not-installed\); it did not load: /);
  });
});
