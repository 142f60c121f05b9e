// Matrix-product epilogues: the lowering absorbs the elementwise chain after a
// 2-D product (a bias along the rows, any scalar op, constants), and both
// backends render it through their one scalar rendering; the CPU module's
// numbers match the interpreter on both kernel families.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { emitCpuModule } from "../src/backend/cpu/emit-module.ts";
import { emitWebgpuModule } from "../src/backend/webgpu/emit-module.ts";
import { randomFeeds } from "../src/check/gradcheck.ts";
import { initParams } from "../src/interp/init.ts";
import { bindDims, interpret } from "../src/interp/interpret.ts";
import { tensor, type Tensor } from "../src/interp/tensor.ts";
import { lower } from "../src/lower/lower.ts";
import type { GemmStep } from "../src/lower/steps.ts";
import { runGrad } from "../src/pipeline.ts";
import { relError, rendered } from "./helpers.ts";

const OUT = join(import.meta.dirname, ".generated", "epilogue");
/** float32 arithmetic against float64: the worst error relative to the largest expected magnitude. */
const TOLERANCE = 1e-4;

// A chain of a bias, an op with an attribute and a constant after the first product;
// the second product's bias is added on the left, and its result is used twice (no epilogue past it).
const MODEL = `model chain
dim batch
input x: [batch, 40]
target y: [batch, 3]
param W: [40, 30]
param b: [30]
param V: [30, 3]
param c: [3]
h = leaky_relu(x W + b, 0.2) * 3
z = c + h V
p = z * sigmoid(z)
output p
loss = mse(p, y)
`;

function compiled() {
  const r = runGrad("chain.nn", MODEL);
  if (!r.grad) throw new Error(rendered(r));
  return r.grad;
}

describe("matrix-product epilogues", () => {
  it("absorb a bias, scalar ops and constants, and stop at a value used twice", () => {
    const g = compiled();
    const plan = lower(g);
    const products = plan.forward.steps.filter((s): s is GemmStep => s.kind === "gemm");
    expect(products.map((s) => s.epilogue.map((id) => g.nodes[id]!.op))).toEqual([["add", "leaky_relu", "mul"], ["add"]]);
    // Nothing else computes the first layer: one step for `h`, the product itself.
    expect(plan.forward.steps.filter((s) => s.out === products[0]!.out)).toHaveLength(1);
  });

  it("are one loop over the product on the CPU, and part of the product's kernel on WebGPU", () => {
    const g = compiled();
    const plan = lower(g);
    const code = emitCpuModule(g, plan);
    const forward = code.slice(code.indexOf("function runForward(): void {"), code.indexOf("function runEval(): void {"));
    // On the SIMD kernels, the bias tiled to whole rows of 30; the JavaScript loop beside it.
    expect(forward).toMatch(/gemmSplit\(team, ws\.gemm, AS_STORED, AS_STORED, dim_batch, 30, 40, [^\n]*OVERWRITE\);\n\s*if \(vec !== null\) \{\n(.*\n){3}\s*const block = VECTOR_BLOCK - \(VECTOR_BLOCK % 30\);\n\s*vec\.tile\(vr, 4 \* p1, 30, block\);/);
    expect(forward).toMatch(/\} else \{\n\s*\{\n\s*let i = 0;\n\s*for \(let i0 = 0; i0 < dim_batch; i0\+\+\) \{\n\s*for \(let i1 = 0; i1 < 30; i1\+\+\) \{\n\s*const v\d+ = f32\[at0 \+ i\] \+ f32\[p1 \+ i1\];/);
    const { wgsl } = emitWebgpuModule(g, plan);
    const first = wgsl.split("// ==== shader ")[1]!;
    expect(first).toContain("// matrix product, add, leaky_relu, mul");
    expect(first).toMatch(/let e\d+: f32 = acc \+ v_b\[col\];/);
    expect(first).toMatch(/select\(0\.2 \* e\d+, e\d+, e\d+ > 0\.0\)/);
  });

  it.each([true, false])("compute what the interpreter computes (wasm: %s)", async (wasm) => {
    const g = compiled();
    mkdirSync(OUT, { recursive: true });
    const path = join(OUT, "chain.ts");
    writeFileSync(path, emitCpuModule(g));
    const mod = (await import(pathToFileURL(path).href)) as { createModel(o: object): { forward(i: object): Record<string, Float32Array>; gradients(b: object): Record<string, Float32Array> } };
    const dimsGiven = { batch: 5 };
    const dims = bindDims(g, dimsGiven);
    const model = mod.createModel({ dims: dimsGiven, seed: 3, wasm });
    const rounded = (t: Tensor): Tensor => tensor(t.shape, Float64Array.from(t.data, Math.fround));
    const params = new Map([...initParams(g, dims, 3)].map(([k, v]) => [k, rounded(v)]));
    const feeds = new Map([...randomFeeds(g, dims, 4)].map(([k, v]) => [k, rounded(v)]));
    const batch = Object.fromEntries([...feeds].map(([k, v]) => [k, Float32Array.from(v.data)]));
    const ref = interpret(g, { dims, feeds, training: false, seed: 3, params, roots: [g.outputs[0]!.node] });
    expect(relError(model.forward(batch)["p"]!, ref[g.outputs[0]!.node]!.data)).toBeLessThanOrEqual(TOLERANCE);
    const grads = model.gradients(batch);
    const refGrads = interpret(g, { dims, feeds, training: true, step: 0, seed: 3, params, roots: g.gradients.map((x) => x.node) });
    for (const x of g.gradients) expect(relError(grads[x.name]!, refGrads[x.node]!.data), x.name).toBeLessThanOrEqual(TOLERANCE);
  });
});
