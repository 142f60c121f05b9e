// Wrong answers without an error (issue 17, part 10): one-column sigmoid
// outputs read by argmax, multiclass losses over one column, CSV values that
// overflow float32, CSV row numbers, and a label column that was skipped.
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { formatGradCheck, gradcheck } from "../src/check/gradcheck.ts";
import { parseCsv } from "../src/data/csv.ts";
import { DataError } from "../src/data/errors.ts";
import { loadDataset } from "../src/data/load.ts";
import { runGrad } from "../src/pipeline.ts";
import { predictedClass } from "../src/train/loop.ts";
import { codes, frontEnd } from "./helpers.ts";

const ROOT = join(import.meta.dirname, "..");
const BIN = join(ROOT, "bin", "nnc.js");
const dir = mkdtempSync(join(tmpdir(), "nnc-answers-"));

function nnc(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function dataError(f: () => unknown): DataError {
  try {
    f();
  } catch (e) {
    if (e instanceof DataError) return e;
    throw e;
  }
  throw new Error("no DataError");
}

describe("one-column outputs", () => {
  it("are class 1 from 0.5 up, not the argmax of one column", () => {
    expect([0.2, 0.5, 0.9].map((p) => predictedClass([p], 0, 1))).toEqual([0, 1, 1]);
    expect(predictedClass([0.1, 0.7, 0.2], 0, 3)).toBe(1);
  });

  it("`nnc predict` and `nnc eval` on the AND perceptron predict the truth table", () => {
    const data = join(ROOT, "examples", "data", "and.csv");
    const out = join(dir, "and");
    // 300 of the example's 2000 epochs: enough to learn AND, and quick.
    const trained = nnc("train", "examples/perceptron_and.nn", "--data", data, "--out", out, "--epochs", "300");
    expect(trained.code, trained.stderr).toBe(0);
    const checkpoint = join(out, "checkpoint.nnck");
    const predicted = nnc("predict", "examples/perceptron_and.nn", "--data", data, "--checkpoint", checkpoint);
    expect(predicted.code, predicted.stderr).toBe(0);
    const rows = predicted.stdout.trim().split("\n").slice(1).map((l) => l.trim().split(/\s+/).slice(1, 3).map(Number));
    expect(rows).toEqual([[0, 0], [0, 0], [0, 0], [1, 1]]);
    const evaluated = nnc("eval", "examples/perceptron_and.nn", "--data", data, "--checkpoint", checkpoint);
    expect(evaluated.stdout).toContain("accuracy 100.00%");
  });
});

describe("multiclass losses over one column", () => {
  const model = (loss: string) => `dim batch\ninput x: [batch, 2]\ntarget y: [batch, 1]\nparam w: [2, 1]\np = sigmoid(x w)\noutput p\nloss = ${loss}\n`;

  it.each(["cross_entropy(p, y)", "softmax_cross_entropy(x w, y)", "hinge(x w, y)"])("%s warns at check time and passes gradcheck", (loss) => {
    expect(codes(frontEnd(model(loss)))).toEqual(["NNC230"]);
    const check = gradcheck(runGrad("m.nn", model(loss)).grad!);
    expect(check.ok, formatGradCheck(check)).toBe(true);
  });

  it("do not warn over several columns, nor binary_cross_entropy over one", () => {
    expect(codes(frontEnd(model("binary_cross_entropy(p, y)")))).toEqual([]);
    expect(codes(frontEnd("dim batch\ninput x: [batch, 2]\ntarget y: [batch, 3]\nparam w: [2, 3]\noutput p\np = softmax(x w)\nloss = cross_entropy(p, y)\n".replace("output p\np = softmax(x w)", "p = softmax(x w)\noutput p")))).toEqual([]);
  });
});

describe("CSV values", () => {
  it("beyond float32 are rejected at load, with file, line and column", () => {
    const e = dataError(() => parseCsv("a,b\n1,2\n3,1e39\n", "d.csv"));
    expect([e.code, e.message]).toEqual(["NNC504", 'd.csv:3: column 2 ("b"): 1e39 is too large for float32 (at most ±3.4028235e+38); scale the data down']);
    expect(parseCsv("a\n3.4e38\n", "d.csv").data[0]).toBe(3.4e38);
  });

  it("out of range are named by file:line, counted as the file's lines", () => {
    const csv = join(dir, "labels.csv");
    writeFileSync(csv, "label,a,b\n0,1,2\n1,3,4\n7,5,6\n");
    const specs = [{ name: "x", shape: ["batch", 2], dtype: "f32", role: "input" }, { name: "y", shape: ["batch", 2], dtype: "f32", role: "target" }] as const;
    expect(dataError(() => loadDataset(csv, specs, {})).message).toContain(`${csv}:4: the label is 7, but the model's target`);
    writeFileSync(csv, "label,a,b\n0,1,2\n1,3.5,4\n");
    const ints = [{ name: "x", shape: ["batch", 3], dtype: "i32", role: "input" }] as const;
    expect(dataError(() => loadDataset(csv, ints, {}, { labelColumn: false })).message).toMatch(/labels\.csv:3: the features hold 3\.5/);
  });
});

describe("the label column of a CSV", () => {
  it("defaults to the column named like the model's target (streetlight's `walk`)", () => {
    const specs = [{ name: "lights", shape: ["batch", 3], dtype: "f32", role: "input" }, { name: "walk", shape: ["batch", 1], dtype: "f32", role: "target" }] as const;
    // The book's six streetlight rows, with the label last, where a first-column default would miss it.
    const csv = join(dir, "streetlight.csv");
    writeFileSync(csv, "left,middle,right,walk\n1,0,1,0\n0,1,1,1\n0,0,1,0\n1,1,1,1\n0,1,1,1\n1,0,1,0\n");
    const data = loadDataset(csv, specs, {});
    expect([...data.train.columns.get("walk")!]).toEqual([0, 1, 0, 1, 1, 0]);
    expect([...data.train.columns.get("lights")!].slice(0, 6)).toEqual([1, 0, 1, 0, 1, 1]);
  });
});
