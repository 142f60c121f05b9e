// The float64 meaning of the layer ops added for issue 12, against values
// worked out by hand: the interpreter is the oracle the backends and the
// gradient checks are measured against, so its forward values are checked
// here (the gradients in test/gradients.test.ts, the backends in the parity
// suites through examples/ops_layers.nn).
import { describe, expect, it } from "vitest";
import { KERNELS, type KernelCtx } from "../src/interp/kernels.ts";
import { bindDims, interpret } from "../src/interp/interpret.ts";
import { tensor, type Tensor } from "../src/interp/tensor.ts";
import type { OpAttrs, OpName } from "../src/ops/types.ts";
import { runFrontEnd } from "../src/pipeline.ts";
import { rendered } from "./helpers.ts";

function run<K extends OpName>(op: K, args: Tensor[], attrs: OpAttrs[K], ctx: Partial<KernelCtx> = {}): Tensor {
  return KERNELS[op](args, attrs, { outShape: [], training: false, seed: 1, step: 0, dims: new Map(), ...ctx });
}

const closeTo = (actual: Tensor, shape: number[], data: number[]) => {
  expect(actual.shape).toEqual(shape);
  data.forEach((v, i) => expect(actual.data[i], `element ${i}`).toBeCloseTo(v, 12));
};

/** The model's single output `f` for the inputs and params given, in inference mode. */
function evaluate(text: string, values: Record<string, Tensor>): Tensor {
  const r = runFrontEnd("t.nn", text);
  if (!r.shaped) throw new Error(rendered(r));
  const g = r.shaped;
  const dims = bindDims(g, {});
  const pick = (names: readonly { name: string }[]) => new Map(names.map((d) => [d.name, values[d.name]!]));
  return interpret(g, { dims, feeds: pick([...g.inputs, ...g.targets]), params: pick(g.params), training: false, seed: 1 })[g.outputs[0]!.node]!;
}

describe("average pooling", () => {
  // x[0, y, x, 0] = 4y + x on a 4×4 image.
  const image = tensor([1, 4, 4, 1], Array.from({ length: 16 }, (_, i) => i));

  it("avgpool2d averages each size × size window", () => {
    closeTo(run("avgpool2d", [image], { size: 2 }), [1, 2, 2, 1], [2.5, 4.5, 10.5, 12.5]);
  });

  it("avgpool2d drops the rows and columns past the last whole window", () => {
    closeTo(run("avgpool2d", [image], { size: 3 }), [1, 1, 1, 1], [5]);
  });

  it("global_avgpool is each channel's mean over the image", () => {
    const two = tensor([1, 2, 2, 2], [1, 10, 2, 20, 3, 30, 4, 40]);
    closeTo(run("global_avgpool", [two], {}), [1, 2], [2.5, 25]);
  });

  it("avgpool2d_grad shares each window's gradient evenly and gives the dropped rows none", () => {
    closeTo(run("avgpool2d_grad", [tensor([1, 1, 1, 1], [9])], { size: 3, inputShape: [1, 4, 4, 1] }, { outShape: [1, 4, 4, 1] }), [1, 4, 4, 1], [1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 0, 0]);
  });
});

describe("sparse_cross_entropy", () => {
  it("is softmax_cross_entropy against the one-hot rows of the labels", () => {
    const z = tensor([2, 3], [1, 2, 3, -1, 0, 4]);
    const sparse = run("sparse_cross_entropy", [z, tensor([2], [0, 2])], {});
    const dense = run("softmax_cross_entropy", [z, tensor([2, 3], [1, 0, 0, 0, 0, 1])], {});
    expect(sparse.data[0]).toBeCloseTo(dense.data[0]!, 12);
    // Row 0: log(e + e² + e³) − 1; row 1: log(e⁻¹ + 1 + e⁴) − 4.
    const want = (Math.log(Math.E + Math.E ** 2 + Math.E ** 3) - 1 + Math.log(Math.exp(-1) + 1 + Math.exp(4)) - 4) / 2;
    expect(sparse.data[0]).toBeCloseTo(want, 12);
  });

  it("refuses a label outside the classes", () => {
    expect(() => run("sparse_cross_entropy", [tensor([1, 3], [0, 0, 0]), tensor([1], [3])], {})).toThrow(/out of range for 3 classes/);
  });
});

describe("layernorm", () => {
  it("normalises each row over its last axis, then scales and shifts per channel", () => {
    const text = "param g: [4]\nparam b: [4]\ninput x: [2, 4]\nf = layernorm(x, g, b, eps = 0.5)\noutput f\n";
    const x = tensor([2, 4], [1, 2, 3, 6, -2, -2, 2, 2]);
    const f = evaluate(text, { x, g: tensor([4], [1, 2, 1, 1]), b: tensor([4], [0, 0, 0, 10]) });
    // Row 0: mean 3, biased variance (4 + 1 + 0 + 9)/4 = 3.5; row 1: mean 0, variance 4.
    const s0 = Math.sqrt(3.5 + 0.5);
    const s1 = Math.sqrt(4 + 0.5);
    closeTo(f, [2, 4], [-2 / s0, (2 * -1) / s0, 0, 3 / s0 + 10, -2 / s1, (2 * -2) / s1, 2 / s1, 2 / s1 + 10]);
  });
});

describe("batchnorm in inference", () => {
  it("normalises each channel with the running statistics", () => {
    const text = "param g: [2]\nparam b: [2]\ninput x: [3, 2]\nf = batchnorm(x, g, b, eps = 0.25)\noutput f\n";
    const x = tensor([3, 2], [1, 5, 2, 5, 3, 5]);
    const f = evaluate(text, { x, g: tensor([2], [1, 2]), b: tensor([2], [0, 1]), "f.running_mean": tensor([2], [2, 1]), "f.running_var": tensor([2], [3.75, 15.75]) });
    closeTo(f, [3, 2], [-0.5, 3, 0, 3, 0.5, 3]);
  });
});
