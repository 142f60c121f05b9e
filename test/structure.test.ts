// The structural ops (src/ops/structure.ts) beyond what examples/ops_structure.nn
// exercises: a causal mask of non-square matrices, permutations of four axes,
// concat along the first and a middle axis, reductions over lists of axes,
// `where` with broadcasting, and bracket indexing with `...`. The CPU and
// WebGPU modules are compared with the float64 interpreter (forward and
// gradients); then the shapes the front end infers and the runtime's check
// of slice bounds that only the instantiated sizes decide.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { emitCpuModule } from "../src/backend/cpu/emit-module.ts";
import type { GradGraph } from "../src/ir/graph.ts";
import { runGrad } from "../src/pipeline.ts";
import { codes, frontEnd, namedShapes, rendered } from "./helpers.ts";
import { IDS, STRUCTURE as MODEL } from "./structure-models.ts";
import { expectCpuMatchesInterpreter, expectWebgpuMatchesInterpreter, loadGenerated, type Data } from "./module-harness.ts";
import { REQUIRED, SETUP_COMMAND, webgpuDevice } from "./webgpu-device.ts";

const OUT = join(import.meta.dirname, ".generated", "structure");
const TOLERANCE = 1e-4;

interface CpuModel {
  forward(i: Data): Data;
  gradients(b: Data): Record<string, Float32Array>;
  params: Record<string, Float32Array>;
}

function graph(text: string): GradGraph {
  const r = runGrad("structure.nn", text);
  if (!r.grad) throw new Error(rendered(r));
  return r.grad;
}

describe.each([
  ["structure", MODEL],
  ["ids", IDS],
])("structural ops on the CPU (%s)", (name, text) => {
  it("match the interpreter: every output and gradient", async () => {
    await expectCpuMatchesInterpreter(graph(text), OUT, name, TOLERANCE);
  });
});

describe("slices on the CPU", () => {
  it("checks a slice's bounds at run time where the size was symbolic", async () => {
    const g = graph("dim n\ninput x: [n, 4]\nparam w: [4]\nloss = sum(x[2:5] w)\n");
    const mod = await loadGenerated<{ createModel(o: { dims: Record<string, number>; seed: number }): CpuModel & { loss(b: Data): number } }>(OUT, "slice-bounds.cpu.ts", emitCpuModule(g));
    expect(mod.createModel({ dims: { n: 5 }, seed: 1 }).loss({ x: new Float32Array(20) })).toBe(0);
    expect(() => mod.createModel({ dims: { n: 4 }, seed: 1 }).loss({ x: new Float32Array(16) })).toThrow(/positions 2 to 4 are outside an axis of size 4/);
  });
});

const ctx = await webgpuDevice();
if (typeof ctx === "string" && REQUIRED) throw new Error(`NNC_REQUIRE_WEBGPU=1 but WebGPU is unavailable: ${ctx}`);
if (typeof ctx === "string") {
  describe("structural ops on WebGPU", () => {
    it.skip(`skipped: ${ctx}; to run it without a GPU: ${SETUP_COMMAND}`, () => {});
  });
} else {
  describe.each([
    ["structure", MODEL],
    ["ids", IDS],
  ])("structural ops on WebGPU (%s)", (name, text) => {
    it("match the interpreter: every output and gradient", async () => {
      await expectWebgpuMatchesInterpreter(graph(text), OUT, name, ctx.device, TOLERANCE);
    });
  });
}

describe("shapes of the structural ops and of bracket indexing", () => {
  it("moves integer ids as they are: slice, take and concat keep the element type", () => {
    const g = graph(IDS);
    const byName = (n: string) => g.nodes.find((x) => x.name === n)!.id;
    expect([g.dtypes[byName("x")], g.dtypes[byName("t")]]).toEqual(["i32", "i32"]);
    expect(codes(frontEnd("input ids: int[2, 3]\nparam W: [2, 3]\nloss = sum(concat(ids, W))\n"))).toEqual(["NNC222"]);
  });

  it("infers each result's shape", () => {
    const r = frontEnd(MODEL);
    expect(codes(r)).toEqual([]);
    expect(namedShapes(r)).toMatchObject({
      m: "[batch, 3, 5]",
      n: "[batch, 5, 3]",
      p: "[1, batch, 5, 3]",
      c: "[4, 3, 5]",
      d: "[batch, 5, 5]",
      e: "[batch, 3, 5]",
      f: "[3]",
      g: "[batch]",
      v: "[batch, 1, 1]",
      z: "[batch, 6]",
    });
  });

  it.each([
    ["x[0]", "[3, 4, 5]"],
    ["x[:, -1]", "[2, 4, 5]"],
    ["x[..., 1:3]", "[2, 3, 4, 2]"],
    ["x[1:, ..., -1]", "[1, 3, 4]"],
    ["x[:, :-1, 2:, ...]", "[2, 2, 2, 5]"],
    ["x[0][0][0]", "[5]"],
    ["x[-2:]", "[2, 3, 4, 5]"],
  ])("%s of a [2, 3, 4, 5] tensor is %s", (index, shape) => {
    const r = frontEnd(`param x: [2, 3, 4, 5]\ny = ${index}\nloss = sum(y)\n`);
    expect(codes(r)).toEqual([]);
    expect(namedShapes(r)["y"]).toBe(shape);
  });

  it("slices a symbolic axis when both ends count from the same side, and says why otherwise", () => {
    const shapes = (e: string) => namedShapes(frontEnd(`dim n\ninput x: [n, 4]\ny = ${e}\nloss = sum(y)\n`))["y"];
    expect(shapes("x[1:3]")).toBe("[2, 4]");
    expect(shapes("x[-3:-1]")).toBe("[2, 4]");
    expect(shapes("x[-2:]")).toBe("[2, 4]");
    expect(shapes("x[0:]")).toBe("[n, 4]");
    const r = frontEnd("dim n\ninput x: [n, 4]\ny = x[1:-1]\nloss = sum(y)\n");
    expect(codes(r)).toEqual(["NNC223"]);
    expect(rendered(r)).toMatch(/depends on the size `n`/);
  });
});
