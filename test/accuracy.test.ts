// accuracy(p, y) with integer class ids as well as one-hot rows: the shape
// rule and its diagnostics (NNC236, NNC237, NNC221), the float64 meaning
// against counts worked out by hand, and the CPU runtime's kernel against
// it. The emitted modules (CPU and WebGPU) are checked against the
// interpreter by the parity suites (test/parity-models.ts: accuracy_labels),
// the ONNX form by test/onnx-export.test.ts.
import { describe, expect, it } from "vitest";
import * as loss from "../src/backend/cpu/runtime/loss.ts";
import { KERNELS } from "../src/interp/kernels.ts";
import { tensor, type Tensor } from "../src/interp/tensor.ts";
import { runGrad } from "../src/pipeline.ts";
import { dataSpecs } from "../src/train/compile.ts";
import { codes, frontEnd, namedShapes, only, rendered } from "./helpers.ts";

const run = (p: Tensor, y: Tensor): number => KERNELS.accuracy([p, y], {}, { outShape: [], training: false, seed: 1, step: 0, dims: new Map() }).data[0]!;

/** A model whose one output is `acc = call`; the scores are `p: [batch, 10]` unless `decls` declares others. */
const model = (decls: string, call: string) => `dim batch\n${call.includes("(p,") ? "input p: [batch, 10]\n" : ""}${decls}\nacc = ${call}\noutput acc\n`;

describe("accuracy's shape rule", () => {
  it.each([
    ["target y: int[batch]", "accuracy(p, y)"],
    ["target y: [batch, 10]", "accuracy(p, y)"],
    ["target y: int[batch]", "accuracy(p, one_hot(y, 10))"],
    ["input q: [batch, 3, 10]\ntarget y: int[batch, 3]", "accuracy(q, y)"],
    ["input q: [10]\ntarget y: int[]", "accuracy(q, y)"],
    ["target y: int[batch, 1]", "accuracy(p, y[..., 0])"],
  ])("%s: %s is a scalar", (decls, call) => {
    const r = frontEnd(model(decls, call));
    expect(rendered(r)).toBe("");
    expect(namedShapes(r)["acc"]).toBe("[]");
  });

  it("takes no integer labels but one per row of the scores (NNC236)", () => {
    const d = only(frontEnd(model("target y: int[batch, 10]", "accuracy(p, y)")), "NNC236");
    expect(d.message).toBe("accuracy needs one integer label per row of the scores: labels of shape [batch], got [batch, 10]");
    expect(d.hint).toContain("one class id each");
  });

  it("suggests the one column of labels with a last axis of one", () => {
    const d = only(frontEnd(model("target y: int[batch, 1]", "accuracy(p, y)")), "NNC236");
    expect(d.hint).toContain("`accuracy(p, y[..., 0])`");
  });

  it("refuses labels of another row count, and scalar scores", () => {
    expect(codes(frontEnd(model("dim other\ntarget y: int[other]", "accuracy(p, y)")))).toEqual(["NNC236"]);
    expect(codes(frontEnd(model("input s: []\ntarget y: int[]", "accuracy(s, y)")))).toEqual(["NNC236"]);
  });

  it("refuses float class ids, naming the integer declaration to write (NNC237)", () => {
    const d = only(frontEnd(model("target y: [batch]", "accuracy(p, y)")), "NNC237");
    expect(d.message).toBe("accuracy's labels `y` have one entry per row of the scores, [batch], but hold floats: class ids must be integers");
    expect(d.hint).toContain("`target y: int[batch]`");
  });

  it("still needs one-hot rows of the scores' shape (NNC221)", () => {
    expect(codes(frontEnd(model("target y: [batch, 9]", "accuracy(p, y)")))).toEqual(["NNC221"]);
  });

  it("passes no gradient: a loss of accuracy alone leaves the params without one (NNC302)", () => {
    const r = runGrad("t.nn", "dim batch\ninput x: [batch, 3]\ntarget y: int[batch]\nparam W: [3, 4]\nloss = accuracy(x W, y)\n");
    expect(r.diagnostics.sorted().map((d) => [d.code, d.severity])).toEqual([["NNC302", "warning"]]);
  });
});

describe("accuracy in float64", () => {
  // Rows' first argmax: 2, 0 (a tie of 0 and 1: the first), 1, 2.
  const p = tensor([4, 3], [0.1, 0.2, 0.7, 5, 5, -1, -2, 3, 1, 0, 0, 0.5]);

  it("is the share of rows whose argmax is the label", () => {
    expect(run(p, tensor([4], [2, 0, 1, 2]))).toBe(1);
    expect(run(p, tensor([4], [2, 1, 0, 2]))).toBe(0.5);
    expect(run(p, tensor([4], [0, 1, 2, 0]))).toBe(0);
    expect(run(p, tensor([4], [2, 2, 2, 2]))).toBe(0.5);
  });

  it("agrees with accuracy against the one-hot rows of the labels", () => {
    const labels = [1, 0, 1, 0];
    const hot = tensor([4, 3], labels.flatMap((k) => [0, 1, 2].map((j) => (j === k ? 1 : 0))));
    expect(run(p, tensor([4], labels))).toBe(0.5);
    expect(run(p, hot)).toBe(0.5);
  });

  it("counts rows over every axis but the last", () => {
    // [2, 2, 3]: the same four rows; labels [2, 2] per leading index.
    expect(run(tensor([2, 2, 3], [...p.data]), tensor([2, 2], [2, 0, 0, 2]))).toBe(0.75);
  });

  it("refuses a label outside the classes, or not a whole number", () => {
    expect(() => run(p, tensor([4], [2, 0, 3, 2]))).toThrow(/accuracy: id 3 is out of range for 3 classes/);
    expect(() => run(p, tensor([4], [2, 0, -1, 2]))).toThrow(/out of range/);
  });
});

describe("the CPU runtime's accuracyOfLabels", () => {
  it("counts as the interpreter does, at an offset, and throws on a label outside the classes", () => {
    const scores = Float32Array.of(9, 9, 0.1, 0.2, 0.7, 5, 5, -1, -2, 3, 1, 0, 0, 0.5);
    const labels = Int32Array.of(7, 2, 1, 1, 2);
    const p = tensor([4, 3], Array.from(scores.subarray(2)));
    expect(loss.accuracyOfLabels(scores, 2, labels, 1, 4, 3)).toBe(run(p, tensor([4], [2, 1, 1, 2])));
    expect(loss.accuracyOfLabels(scores, 2, labels, 1, 4, 3)).toBe(0.75);
    expect(() => loss.accuracyOfLabels(scores, 2, labels, 0, 4, 3)).toThrow("accuracy: label 7 is outside the 3 classes [0, 3)");
  });
});

describe("nnc train's data of an accuracy's labels", () => {
  it("knows their classes, so a label outside them is a data error (NNC504) rather than a thrown kernel", () => {
    const r = runGrad("t.nn", "dim batch\ninput x: [batch, 3]\ntarget y: int[batch]\ntarget z: [batch, 4]\nparam W: [3, 4]\nloss = mse(x W, z)\nacc = accuracy(x W, y)\noutput acc\n");
    if (!r.grad) throw new Error(rendered(r));
    const specs = dataSpecs(r.grad);
    expect(specs.find((s) => s.name === "y")).toMatchObject({ dtype: "i32", classes: 4 });
    expect(specs.find((s) => s.name === "z")!.classes).toBeUndefined();
  });
});
