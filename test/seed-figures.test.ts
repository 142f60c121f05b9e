// The seed material's small systems, trained on the tables that ship with
// them (examples/data/), reproduce the figures the material states: the
// streetlight error falling to about 0 in 60 iterations, the perceptrons'
// truth tables, the lecture's multiclass SVM losses on its score table and the
// L2 penalty's effect, and the 2-3-1 network's gradient formulas. Every number
// checked comes from a real run; the README's table quotes these runs.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { printGrad } from "../src/ir/print-grad.ts";
import { runGrad } from "../src/pipeline.ts";
import { ROOT, row, seedRun } from "./seed-runs.ts";

describe("streetlight (Grokking Deep Learning, chapter 6)", () => {
  it("drives the error to about 0 within the book's 60 iterations", async () => {
    const { history } = await seedRun("streetlight");
    expect(history).toHaveLength(60);
    // The book's error: the sum over the four light patterns of (layer_2 - walk)²;
    // the loss is half of that, averaged over the four steps of an iteration.
    const error = history.map((m) => 8 * m.loss);
    const printed = [10, 20, 30, 40, 50, 60].map((i) => error[i - 1]!);
    for (let i = 1; i < printed.length; i++) expect(printed[i]!).toBeLessThan(printed[i - 1]!);
    expect(printed[0]!).toBeGreaterThan(0.5);
    expect(printed[5]!).toBeLessThan(0.01);
  });

  it("prints the book's six errors when it starts from the book's weights (numpy, seed 1)", async () => {
    // 2 * np.random.random((3, 4)) - 1 and 2 * np.random.random((4, 1)) - 1 after np.random.seed(1).
    const W0 = new Float32Array([
      -0.16595599, 0.44064899, -0.99977125, -0.39533485,
      -0.70648822, -0.81532281, -0.62747958, -0.30887855,
      -0.20646505, 0.07763347, -0.16161097, 0.370439,
    ]);
    const W1 = new Float32Array([-0.5910955, 0.75623487, -0.94522481, 0.34093502]);
    const { history } = await seedRun("streetlight", { params: { W0, W1 } });
    const book = [0.634231159844, 0.358384076763, 0.0830183113303, 0.0064670549571, 0.000329266900075, 1.50556226651e-5];
    [10, 20, 30, 40, 50, 60].forEach((iteration, i) => {
      const error = 8 * history[iteration - 1]!.loss;
      expect(Math.abs(error - book[i]!) / book[i]!, `iteration ${iteration}: ${error} vs ${book[i]}`).toBeLessThan(1e-3);
    });
  });
});

describe.each(["perceptron_and", "perceptron_or"])("%s", (name) => {
  it("learns its truth table: each row's output within 0.1 of its label", async () => {
    const run = await seedRun(name);
    const model = await run.trained(1);
    for (let r = 0; r < run.data.train.rows; r++) {
      const x = row(run.data, "x", r) as Float32Array;
      const p = (model.forward({ x }) as Record<string, Float32Array>)["p"]![0]!;
      expect(Math.abs(p - row(run.data, "y", r)[0]!), `row ${Array.from(x).join(" ")}`).toBeLessThan(0.1);
    }
  });
});

describe("svm_scores (CS231n, lecture 3)", () => {
  const sumsq = (w: Float32Array) => w.reduce((s, v) => s + v * v, 0);

  it("gives the lecture's losses on its score table: 2.9, 0 and 12.9, mean 5.27", async () => {
    const run = await seedRun("svm_scores", { edit: (t) => t.replace(/epochs = \d+/, "epochs = 1") });
    const fresh = await run.trained(1); // one SGD step taken: reset W to its zeros
    await fresh.setParams({ W: new Float32Array(9) });
    const losses = [0, 1, 2].map((r) => fresh.loss({ s: row(run.data, "s", r), y: row(run.data, "y", r) }) as number);
    expect(losses[0]).toBeCloseTo(2.9, 5);
    expect(losses[1]).toBeCloseTo(0, 5);
    expect(losses[2]).toBeCloseTo(12.9, 5);
    expect((losses[0]! + losses[1]! + losses[2]!) / 3).toBeCloseTo(5.27, 2);
    expect(run.history[0]!.loss).toBeCloseTo(5.2667, 4); // the first step's loss, before any update
  });

  it("shows the L2 penalty trading the data loss for smaller weights", async () => {
    const results = [];
    for (const reg of [0, 0.1, 1]) {
      const run = await seedRun("svm_scores", { edit: (t) => t.replace("const reg = 0.1", `const reg = ${reg}`) });
      const W = (await run.model.getParams())["W"]!;
      const all = { s: run.data.train.columns.get("s")!, y: run.data.train.columns.get("y")! };
      results.push({ reg, norm: sumsq(W), data: (run.model.loss(all) as number) - reg * sumsq(W) });
    }
    expect(results[0]!.data).toBeCloseTo(0, 5); // no penalty: the margins are all met
    expect(results[1]!.norm).toBeLessThan(results[0]!.norm);
    expect(results[2]!.norm).toBeLessThan(results[1]!.norm * 0.7);
    expect(results[2]!.data).toBeGreaterThan(0.1); // a strong penalty gives up on the margins
  });
});

describe("mlp_2_3_1 (Welch Labs, Neural Networks Demystified)", () => {
  it("prints the lecture's ∂J/∂W formulas: δ3 = (ŷ − y) f′(z3), ∂J/∂W2 = a2ᵀ δ3, δ2 = δ3 W2ᵀ f′(z2), ∂J/∂W1 = Xᵀ δ2", () => {
    const path = join(ROOT, "examples", "mlp_2_3_1.nn");
    const text = printGrad(runGrad(path, readFileSync(path, "utf8")).grad!);
    const line = (lhs: string) => text.split("\n").find((l) => l.startsWith(`${lhs} `))?.replace(/\s+\[.*$/, "").replace(/\s+/g, " ");
    expect(line("d(a2 W2)")).toBe("d(a2 W2) = (yhat - y) ⊙ (yhat ⊙ (1 − yhat))"); // δ3, with f′(z3) = ŷ(1 − ŷ)
    expect(line("dW2")).toBe("dW2 = a2ᵀ · d(a2 W2)");
    expect(line("da2")).toBe("da2 = d(a2 W2) · W2ᵀ");
    expect(line("d(x W1)")).toBe("d(x W1) = da2 ⊙ (a2 ⊙ (1 − a2))"); // δ2, with f′(z2) = a2(1 − a2)
    expect(line("dW1")).toBe("dW1 = xᵀ · d(x W1)");
  });

  it("fits the three test scores", async () => {
    const run = await seedRun("mlp_2_3_1");
    const model = await run.trained(3);
    const yhat = (model.forward({ x: run.data.train.columns.get("x")! }) as Record<string, Float32Array>)["yhat"]!;
    const y = run.data.train.columns.get("y")!;
    for (let r = 0; r < 3; r++) expect(Math.abs(yhat[r]! - y[r]!)).toBeLessThan(0.02);
  });
});

describe("logistic_regression", () => {
  it("separates the admitted from the rejected", async () => {
    const run = await seedRun("logistic_regression");
    expect(run.history.at(-1)!.trainAccuracy).toBeGreaterThanOrEqual(0.85);
    expect(run.history.at(-1)!.loss).toBeLessThan(run.history[0]!.loss);
  });
});
