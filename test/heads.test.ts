// Matrix products whose batch axes broadcast (numpy's matmul): the shapes the
// front end infers and refuses, the plan the lowering makes (the common
// forms unchanged), the CPU and WebGPU modules against the float64
// interpreter (forward and gradients) on attention with the heads as an
// axis and on the other broadcast forms, and that attention in that form
// trains.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { emitCpuModule } from "../src/backend/cpu/emit-module.ts";
import { formatGradCheck, gradcheck } from "../src/check/gradcheck.ts";
import type { GradGraph } from "../src/ir/graph.ts";
import { lower } from "../src/lower/lower.ts";
import { sizeText } from "../src/backend/common.ts";
import type { GemmStep } from "../src/lower/steps.ts";
import { runGrad } from "../src/pipeline.ts";
import { codes, frontEnd, namedShapes, NARROW, only, relError, rendered } from "./helpers.ts";
import { BROADCAST_PRODUCTS, HEADS } from "./structure-models.ts";
import { expectCpuMatchesInterpreter, expectWebgpuMatchesInterpreter, interpreterReference, loadGenerated, type Data } from "./module-harness.ts";
import { REQUIRED, SETUP_COMMAND, webgpuDevice } from "./webgpu-device.ts";

const ROOT = join(import.meta.dirname, "..");
const OUT = join(import.meta.dirname, ".generated", "heads");
const TOLERANCE = 1e-4;
const MODELS: [string, string][] = [
  ["heads", HEADS],
  ["broadcast_products", BROADCAST_PRODUCTS],
];

interface CpuModel {
  forward(i: Data): Data;
  loss(b: Data): number;
  gradients(b: Data): Record<string, Float32Array>;
  trainStep(b: Data): number;
}

function graph(text: string): GradGraph {
  const r = runGrad("heads.nn", text);
  if (!r.grad) throw new Error(rendered(r));
  return r.grad;
}

const shapeOf = (decls: string, expr: string) => namedShapes(frontEnd(`dim batch\n${decls}\nout = ${expr}\nloss = sum(out)\n`))["out"];

describe("the shapes of products whose batch axes broadcast", () => {
  const decls = "input x: [batch, 1, 5, 4]\nparam W: [3, 4, 2]\nparam V: [1, 3, 4, 2]\nparam S: [3, 1, 1, 4, 2]\ninput v: [4]\ninput z: [7, 1, 1, 5, 4]";
  it.each([
    ["x W", "[batch, 3, 5, 2]"],
    ["x V", "[batch, 3, 5, 2]"],
    ["W.T x.T", "[batch, 3, 2, 5]"],
    ["x S", "[3, batch, 1, 5, 2]"],
    ["z W", "[7, 1, 3, 5, 2]"],
    ["v W", "[3, 2]"],
    ["x v", "[batch, 1, 5]"],
  ])("%s : %s", (e, want) => expect(shapeOf(decls, e)).toBe(want));

  it("refuses batch axes that do not broadcast, naming both operands", () => {
    const r = frontEnd("param A: [2, 3, 4]\nparam B: [5, 4, 6]\nout = A B\nloss = sum(out)\n");
    const d = only(r, "NNC202");
    expect(d.message).toBe("the batch axes of [2, 3, 4] and [5, 4, 6] cannot be broadcast: 2 ≠ 5");
    expect(d.notes.map((n) => n.message)).toEqual(["`A` is declared as [2, 3, 4] here", "`B` is declared as [5, 4, 6] here"]);
    expect(codes(frontEnd("dim batch\ndim n\ninput x: [batch, 3, 4]\nparam W: [n, 4, 6]\nout = x W\nloss = sum(out)\n"))).toEqual(["NNC202"]);
  });

  it("solves an unknown batch axis from the other operand", () => {
    expect(namedShapes(frontEnd("dim batch\ninput x: [batch, 2, 3, 4]\nparam W: [_, 4, 5]\nout = x W\nloss = sum(out)\n"))["W"]).toBe("[2, 4, 5]");
  });
});

describe("the plan of a product whose batch axes broadcast", () => {
  const gemms = (text: string): GemmStep[] =>
    lower(graph(text)).forward.steps.filter((s): s is GemmStep => s.kind === "gemm");
  const axes = (s: GemmStep) => s.geometry.broadcast?.map((x) => [sizeText(x.size), x.a && sizeText(x.a), x.b && sizeText(x.b)]);

  it("steps each operand by its own strides, merging axes that step alike", () => {
    const [forward] = gemms("dim batch\ninput x: [batch, 7, 1, 1, 5, 4]\nparam W: [2, 3, 4, 6]\nout = x W\noutput out\nloss = sum(out)\n");
    // batch and 7: only x steps (merged); 2 and 3: only W steps (merged).
    expect(axes(forward!)).toEqual([
      ["dim_batch * 7", "20", null],
      ["6", null, "24"],
    ]);
    expect(sizeText(forward!.geometry.batch!)).toBe("dim_batch * 42");
    const [mixed] = gemms("dim batch\ninput x: [batch, 3, 5, 4]\nparam W: [3, 4, 6]\nout = x W\noutput out\nloss = sum(out)\n");
    expect(axes(mixed!)).toEqual([
      ["dim_batch", "60", null],
      ["3", "20", "24"],
    ]);
  });

  it("keeps the common forms as they were: equal batch axes, a plain matrix, a vector", () => {
    for (const [decls, expr] of [
      ["input x: [batch, 3, 5, 4]\nparam W: [batch, 3, 4, 6]", "x W"],
      ["input x: [batch, 5, 4]\nparam W: [4, 6]", "x W"],
      ["input x: [5, 4]\nparam W: [batch, 4, 6]", "x W"],
      ["input x: [4]\nparam W: [batch, 4, 6]", "x W"],
    ] as const) {
      const [forward] = gemms(`dim batch\n${decls}\nout = ${expr}\noutput out\nloss = sum(out)\n`);
      expect(forward!.geometry.broadcast, decls).toBeNull();
    }
  });
});

describe("the plan of a weight's gradient through a batch", () => {
  it("is one product over the batch's rows folded together, x read transposed: no transposed copy, no product per entry, no sum after", () => {
    const plan = lower(graph("dim batch\ninput x: [batch, 5, 4]\nparam W: [4, 6]\nout = x W\noutput out\nloss = sum(out)\n")).train;
    const weight = plan.steps.filter((s): s is GemmStep => s.kind === "gemm" && s.transA);
    expect(weight).toHaveLength(1);
    const { m, n, k, lda, ldb, batch } = weight[0]!.geometry;
    expect([m, n, k, lda, ldb].map(sizeText)).toEqual(["4", "6", "dim_batch * 5", "4", "6"]);
    expect(batch).toBeNull();
    // The kernels left are the loss's sum and its backward's broadcast.
    const g = graph("dim batch\ninput x: [batch, 5, 4]\nparam W: [4, 6]\nout = x W\noutput out\nloss = sum(out)\n");
    expect(lower(g).train.steps.flatMap((s) => (s.kind === "kernel" ? [g.nodes[s.node]!.op] : []))).toEqual(["sum", "broadcast_to"]);
  });
});

describe.each(MODELS)("products whose batch axes broadcast, on the CPU (%s)", (name, text) => {
  it("match the interpreter: every output and gradient", async () => {
    await expectCpuMatchesInterpreter(graph(text), OUT, name, TOLERANCE);
  });
});

describe("attention with the heads as an axis", () => {
  it("trains: the loss on a fixed batch falls over 30 adam steps", async () => {
    const g = graph(HEADS);
    const mod = await loadGenerated<{ createModel(o: { dims: Record<string, number>; seed: number }): CpuModel }>(OUT, "heads-train.cpu.ts", emitCpuModule(g));
    const model = mod.createModel({ dims: { batch: 8 }, seed: 1 });
    const { batch } = interpreterReference(g, 8);
    const before = model.loss(batch);
    const losses = Array.from({ length: 30 }, () => model.trainStep(batch));
    const after = model.loss(batch);
    expect(losses[0]).toBeCloseTo(before, 5);
    expect(after).toBeLessThan(0.5 * before);
  });
});

/**
 * examples/gpt.nn with its attention written as docs/language.md shows it:
 * the block after the marker replaces the per-head layer and the layer of
 * four uses of it (the file is read, not changed).
 */
function gptWithHeadsAxis(): string {
  const doc = readFileSync(join(ROOT, "docs", "language.md"), "utf8");
  const at = doc.indexOf("<!-- test/heads.test.ts");
  expect(at).toBeGreaterThan(0);
  const block = /```\n([\s\S]*?)```/.exec(doc.slice(at))![1]!;
  const gpt = readFileSync(join(ROOT, "examples", "gpt.nn"), "utf8");
  const from = gpt.indexOf("# One head of causal self-attention");
  const to = gpt.indexOf("layer mlp(x):");
  expect(from).toBeGreaterThan(0);
  expect(to).toBeGreaterThan(from);
  return gpt.slice(0, from) + block + "\n" + gpt.slice(to);
}

describe("the GPT with the attention layer of docs/language.md", () => {
  it("compiles, has one [heads, width, head] param per projection and block, and passes gradcheck", () => {
    const r = runGrad("gpt_heads.nn", gptWithHeadsAxis());
    if (!r.grad) throw new Error(rendered(r));
    const params = Object.fromEntries(r.grad.params.map((p) => [p.name, r.grad!.shapes[p.node]!.join(", ")]));
    expect(params["blocks.0.a.Wq"]).toBe("heads, width, head");
    expect(params["blocks.3.a.Wo"]).toBe("heads, head, width");
    expect(Object.keys(params).some((n) => n.includes(".h1."))).toBe(false);
    const check = gradcheck(r.grad, { dims: { batch: 2, heads: 2, ...NARROW["gpt.nn"] }, seed: 11 });
    expect(check.ok, formatGradCheck(check)).toBe(true);
  });

  it("runs on the CPU as the interpreter does: logits and every gradient", async () => {
    const g = graph(gptWithHeadsAxis());
    const dims = { heads: 2, ...NARROW["gpt.nn"] };
    const mod = await loadGenerated<{ createModel(o: { dims: Record<string, number>; seed: number }): CpuModel }>(OUT, "gpt_heads.cpu.ts", emitCpuModule(g));
    const model = mod.createModel({ dims: { batch: 2, ...dims }, seed: 7 });
    const ref = interpreterReference(g, 2, dims);
    const outs = model.forward(ref.batch);
    for (const o of g.outputs) expect(relError(outs[o.name]!, ref.outs[o.node]!.data), `output ${o.name}`).toBeLessThanOrEqual(TOLERANCE);
    const grads = model.gradients(ref.batch);
    for (const x of g.gradients) expect(relError(grads[x.name]!, ref.grads[x.node]!.data), `gradient ${x.name}`).toBeLessThanOrEqual(TOLERANCE);
  });
});

const ctx = await webgpuDevice();
if (typeof ctx === "string" && REQUIRED) throw new Error(`NNC_REQUIRE_WEBGPU=1 but WebGPU is unavailable: ${ctx}`);
if (typeof ctx === "string") {
  describe("products whose batch axes broadcast, on WebGPU", () => {
    it.skip(`skipped: ${ctx}; to run it without a GPU: ${SETUP_COMMAND}`, () => {});
  });
} else {
  describe.each(MODELS)("products whose batch axes broadcast, on WebGPU (%s)", (name, text) => {
    it("match the interpreter: every output and gradient", async () => {
      await expectWebgpuMatchesInterpreter(graph(text), OUT, name, ctx.device, TOLERANCE);
    });
  });
}
