// `nnc summary FILE` (issue 13): every input, param and layer with its shape,
// parameter count, FLOPs and memory, the totals, --format json and --dim;
// the counts are checked against sums worked out here from the shapes.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { lower } from "../src/lower/lower.ts";
import { gradStats } from "../src/passes/stats.ts";
import { modelSummary, type ModelSummary } from "../src/passes/summary.ts";
import { runGrad } from "../src/pipeline.ts";
import { rendered } from "./helpers.ts";

const ROOT = join(import.meta.dirname, "..");
const BIN = join(ROOT, "bin", "nnc.js");

function nnc(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", cwd: ROOT, env: { ...process.env, NO_COLOR: "1" } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const MLP = `model mlp
dim batch
dim hidden = 64
input x: [batch, 20]
target y: [batch, 5]
param W0: [20, hidden]
param b0: [hidden]
param W1: [hidden, 5]
h = relu(x W0 + b0)
p = softmax(h W1)
output p
loss = cross_entropy(p, y)
train adam(lr = 1e-3)
`;

function summary(text: string, dims: Record<string, number> = {}): ModelSummary {
  const r = runGrad("m.nn", text);
  if (!r.grad) throw new Error(rendered(r));
  return modelSummary(r.grad, lower(r.grad), dims);
}

describe("the summary of a model", () => {
  const s = summary(MLP, { batch: 10 });
  const row = (name: string) => s.rows.find((r) => r.name === name)!;

  it("lists the inputs, params and layers in graph order, with shapes at the given dims", () => {
    expect(s.dims).toEqual({ batch: 10, hidden: 64 });
    expect(s.rows.slice(0, 5).map((r) => [r.name, r.op, r.shape])).toEqual([
      ["x", "input", "[batch, 20]"],
      ["y", "target", "[batch, 5]"],
      ["W0", "param", "[20, hidden]"],
      ["b0", "param", "[hidden]"],
      ["W1", "param", "[hidden, 5]"],
    ]);
    expect(row("h").sizes).toEqual([10, 64]);
    expect(s.rows.some((r) => r.op === "matmul" && r.sizes.join() === "10,64")).toBe(true);
  });

  it("counts params, FLOPs and memory from the shapes", () => {
    expect(row("W0").params).toBe(20 * 64);
    expect(row("x").params).toBe(0);
    expect(s.totals.params).toBe(20 * 64 + 64 + 64 * 5);
    expect(s.totals.paramBytes).toBe(4 * s.totals.params);
    // A matrix product of [10, 20] by [20, 64]: 2·10·20·64.
    const first = s.rows.find((r) => r.op === "matmul")!;
    expect(first.flops).toBe(2 * 10 * 20 * 64);
    expect(row("h").bytes).toBe(4 * 10 * 64);
    expect(s.totals.forwardBytes).toBe(s.rows.reduce((t, r) => t + 4 * r.sizes.reduce((a, b) => a * b, 1), 0));
    expect(s.totals.forwardFlops).toBe(s.rows.reduce((t, r) => t + r.flops, 0));
    const r = runGrad("m.nn", MLP);
    expect(s.totals.backwardFlops).toBe(gradStats(r.grad!, { batch: 10 }).backward.flops);
    expect(s.totals.plannedTrainingBytes).toBeGreaterThan(s.totals.paramBytes);
  });

  it("scales with --dim", () => {
    const big = summary(MLP, { batch: 100 });
    expect(big.totals.params).toBe(s.totals.params);
    expect(big.rows.find((r) => r.op === "matmul")!.flops).toBe(10 * s.rows.find((r) => r.op === "matmul")!.flops);
  });
});

describe("nnc summary", () => {
  it("prints the table and the totals", () => {
    const r = nnc("summary", "examples/keras_mnist.nn");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("model keras_mnist (batch = 32, hidden = 512)");
    expect(r.stdout).toMatch(/^name +op +shape +at these dims +params +FLOPs +memory$/m);
    expect(r.stdout).toMatch(/^W0 +param +\[784, hidden\] +\[784, 512\] +401,408 +1\.5 MiB$/m);
    expect(r.stdout).toContain(`params: ${(784 * 512 + 512 + 512 * 10 + 10).toLocaleString("en-US")}`);
    expect(r.stdout).toMatch(/FLOPs: forward [\d.]+ M, backward [\d.]+ M, a training step [\d.]+ M/);
  });

  it("--format json with --dim", () => {
    const r = nnc("summary", "examples/keras_mnist.nn", "--format", "json", "--dim", "batch=8");
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout) as ModelSummary;
    expect(s.dims).toEqual({ batch: 8, hidden: 512 });
    expect(s.rows.find((x) => x.name === "x")!.sizes).toEqual([8, 784]);
    expect(s.rows.find((x) => x.op === "matmul")!.flops).toBe(2 * 8 * 784 * 512);
  });

  it("refuses an unknown dim and reports a broken model like nnc check", () => {
    const bad = nnc("summary", "examples/keras_mnist.nn", "--dim", "hiden=3");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("hiden");
    const broken = nnc("summary", "examples/errors/matmul_mismatch.nn");
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain("error[NNC201]");
  });

  it("is listed in --help", () => {
    expect(nnc("--help").stdout).toMatch(/summary \[options\] <file>/);
    expect(nnc("summary", "--help").stdout).toContain("--format <format>");
  });
});
