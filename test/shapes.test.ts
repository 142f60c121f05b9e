// Shape inference for every builtin: broadcasting, matmul rules, axes,
// reshape, convolution, losses, and solving `_` by unification.
import { describe, expect, it } from "vitest";
import { verifyGraph } from "../src/ir/verify.ts";
import { codes, frontEnd, namedShapes, only, rendered, spanText } from "./helpers.ts";

const PRELUDE = "dim batch\ndim n = 7\n";

/** Shapes of the named values defined by `body` (after a prelude declaring `batch`). */
function shapes(body: string): Record<string, string> {
  const r = frontEnd(PRELUDE + body);
  const errors = r.diagnostics.items.filter((d) => d.severity === "error");
  if (errors.length > 0) throw new Error(rendered(r));
  expect(verifyGraph(r.shaped!)).toEqual([]);
  return namedShapes(r);
}

function shapeOf(decls: string, exprText: string): string {
  return shapes(`${decls}\nout = ${exprText}\noutput out\n`)["out"]!;
}

describe("elementwise and broadcasting", () => {
  const decls = "input a: [batch, 3]\ninput v: [3]\ninput c: [batch, 1]\ninput s: []";
  it.each([
    ["a + v", "[batch, 3]"],
    ["v * a", "[batch, 3]"],
    ["a - c", "[batch, 3]"],
    ["a / 2", "[batch, 3]"],
    ["s ^ 2", "[]"],
    ["relu(a) * sigmoid(v)", "[batch, 3]"],
    ["leaky_relu(a, slope = 0.2)", "[batch, 3]"],
    ["maximum(a, 0)", "[batch, 3]"],
    ["-tanh(exp(log(sqrt(abs(a)))))", "[batch, 3]"],
    ["step(a) + sign(a)", "[batch, 3]"],
    ['gelu(a) + gelu(v, approximate = "tanh")', "[batch, 3]"],
    ["silu(a) + softplus(c) + elu(s, alpha = 0.5)", "[batch, 3]"],
    ["a * batch", "[batch, 3]"],
  ])("%s : %s", (e, want) => expect(shapeOf(decls, e)).toBe(want));

  it("rejects shapes that do not broadcast and shows where both came from", () => {
    const r = frontEnd(PRELUDE + "input a: [batch, 3]\ninput b: [4]\nout = a + b\noutput out\n");
    const d = only(r, "NNC202");
    expect(d.message).toBe("cannot broadcast [batch, 3] with [4]: 3 ≠ 4");
    expect(d.notes.map((n) => n.message)).toEqual(["`a` is declared as [batch, 3] here", "`b` is declared as [4] here"]);
  });

  it("keeps symbolic dims apart from numbers", () => {
    const r = frontEnd(PRELUDE + "input a: [batch, 3]\ninput b: [n, 3]\nout = a + b\noutput out\n");
    expect(codes(r)).toEqual(["NNC202"]);
  });
});

describe("matrix product", () => {
  const decls = "input x: [batch, 4]\ninput v: [4]\ninput u: [5]\nparam W: [4, 5]\ninput B: [2, batch, 4]\ninput C: [2, 4, 5]";
  it.each([
    ["x W", "[batch, 5]"],
    ["x @ W", "[batch, 5]"],
    ["v W", "[5]"],
    ["W u", "[4]"],
    ["v v", "[]"],
    ["B W", "[2, batch, 5]"],
    ["B C", "[2, batch, 5]"],
    ["x W W.T", "[batch, 4]"],
    ["transpose(W) x.T", "[5, batch]"],
  ])("%s : %s", (e, want) => expect(shapeOf(decls, e)).toBe(want));

  it("reports an inner-dimension mismatch and suggests the transpose that fits", () => {
    const r = frontEnd(PRELUDE + "input x: [batch, 5]\nparam W: [4, 5]\nout = x W\noutput out\n");
    const d = only(r, "NNC201");
    expect(d.message).toBe("cannot multiply [batch, 5] by [4, 5]: 5 ≠ 4");
    expect(d.hint).toBe("did you mean `x W.T`?");
    expect(spanText(d)).toBe("x W");
  });

  it("rejects a scalar operand", () => {
    const r = frontEnd(PRELUDE + "input x: [batch, 5]\nconst k = 2\nout = x k\noutput out\n");
    expect(only(r, "NNC201").hint).toMatch(/use `\*`/);
  });
});

describe("along an axis", () => {
  const decls = "input x: [batch, 3, 4]";
  it.each([
    ["sum(x)", "[]"],
    ["sum(x, axis = 1)", "[batch, 4]"],
    ["mean(x, axis = -1)", "[batch, 3]"],
    ["max(x, 0, true)", "[1, 3, 4]"],
    ["sum(x, axis = -1, keepdims = true)", "[batch, 3, 1]"],
    ["softmax(x)", "[batch, 3, 4]"],
    ["log_softmax(x, axis = 1)", "[batch, 3, 4]"],
    ["logsumexp(x)", "[]"],
    ["logsumexp(x, axis = 1)", "[batch, 4]"],
    ["logsumexp(x, axis = -1, keepdims = true)", "[batch, 3, 1]"],
  ])("%s : %s", (e, want) => expect(shapeOf(decls, e)).toBe(want));

  it("reports a composite's mistakes at the user's call, once", () => {
    const r = frontEnd(PRELUDE + "input x: [batch, 3, 4]\nout = 1 + logsumexp(x, axis = 3)\noutput out\n");
    const d = only(r, "NNC208");
    expect(spanText(d)).toBe("logsumexp(x, axis = 3)");
  });

  it("checks a composite's options as a built-in's", () => {
    const r = frontEnd(PRELUDE + "input x: [batch, 3, 4]\nout = logsumexp(x, keepdims = 2)\noutput out\n");
    expect(only(r, "NNC214").message).toBe("`keepdims` of logsumexp must be `true` or `false`");
  });

  it("gives argmax an integer result", () => {
    const r = frontEnd(PRELUDE + "input x: [batch, 3]\nout = argmax(x, axis = -1)\noutput out\n");
    expect(r.shaped!.dtypes[r.shaped!.outputs[0]!.node]).toBe("i32");
    expect(namedShapes(r)["out"]).toBe("[batch]");
  });

  it.each([["sum(x, axis = 3)"], ["softmax(x, axis = -4)"], ["logsumexp(x, axis = -4)"]])("rejects a bad axis: %s", (e) => {
    const r = frontEnd(PRELUDE + `input x: [batch, 3, 4]\nout = ${e}\noutput out\n`);
    expect(only(r, "NNC208").hint).toBe("valid axes are -3 to 2");
  });
});

describe("shape ops and layers", () => {
  it.each([
    ["input x: [batch, 784]", "reshape(x, [batch, 28, 28, 1])", "[batch, 28, 28, 1]"],
    ["input x: [batch, 784]", "reshape(x, [-1, 28, 28, 1])", "[batch, 28, 28, 1]"],
    ["input x: [batch, 6, 4]", "reshape(x, [batch, -1])", "[batch, 24]"],
    ["input x: [batch, 26, 26, 16]", "flatten(x)", "[batch, 10816]"],
    ["input ids: int[batch, 20]", "one_hot(ids, 10)", "[batch, 20, 10]"],
    ["input ids: int[batch, 20]\nparam E: [1000, 16]", "embed(ids, E)", "[batch, 20, 16]"],
    ["input x: [batch, 28, 28, 1]\nparam K: [3, 3, 1, 16]", "conv2d(x, K)", "[batch, 26, 26, 16]"],
    ["input x: [batch, 28, 28, 1]\nparam K: [3, 3, 1, 16]", 'conv2d(x, K, stride = 2, padding = "same")', "[batch, 14, 14, 16]"],
    ["input x: [batch, 28, 28, 1]\nparam K: [5, 5, 1, 8]", "conv2d(x, K, 2)", "[batch, 12, 12, 8]"],
    ["input x: [batch, 26, 26, 16]", "maxpool2d(x)", "[batch, 13, 13, 16]"],
    ["input x: [batch, 27, 27, 3]", "maxpool2d(x, size = 3)", "[batch, 9, 9, 3]"],
    ["input x: [batch, 10]", "dropout(x, 0.5)", "[batch, 10]"],
  ])("%s → %s", (decls, e, want) => expect(shapeOf(decls, e)).toBe(want));

  it.each([
    ["input x: [batch, 784]", "reshape(x, [batch, 28, 27])", "NNC216"],
    ["input x: [batch, 10]", "conv2d(x, x)", "NNC220"],
    ["input x: [batch, 28, 28, 3]\nparam K: [3, 3, 1, 16]", "conv2d(x, K)", "NNC201"],
    ["input x: [batch, 2, 2, 1]\nparam K: [3, 3, 1, 16]", "conv2d(x, K)", "NNC216"],
    ["input x: [batch, 10]", "dropout(x, 1.5)", "NNC214"],
    ['input x: [batch, 28, 28, 1]\nparam K: [3, 3, 1, 16]', 'conv2d(x, K, padding = "vaild")', "NNC214"],
    ["input x: [batch, 10]\nparam E: [10, 4]", "embed(x, E)", "NNC215"],
    ["input ids: int[batch, 10]", "ids * 2", "NNC215"],
  ])("%s: %s is %s", (decls, e, code) => {
    const r = frontEnd(PRELUDE + `${decls}\nout = ${e}\noutput out\n`);
    expect(codes(r)).toEqual([code]);
  });
});

describe("losses", () => {
  const decls = "input p: [batch, 10]\ntarget y: [batch, 10]\nparam W: [10, 10]";
  it.each(["mse(p, y)", "cross_entropy(softmax(p), y)", "softmax_cross_entropy(p, y)", "binary_cross_entropy(sigmoid(p), y)", "hinge(p, y)", "sumsq(W)", "sumabs(W)", "accuracy(p, y)", "mse(p W, y) + 0.01 * sumsq(W)"])(
    "%s is a scalar",
    (e) => expect(shapeOf(decls, e)).toBe("[]"),
  );

  it("requires the loss to be a scalar", () => {
    const r = frontEnd(PRELUDE + "input x: [batch, 3]\nloss = x * 2\n");
    const d = only(r, "NNC209");
    expect(d.message).toBe("the loss must be a scalar, but it has shape [batch, 3]");
  });

  it("requires predictions and targets of one shape", () => {
    const r = frontEnd(PRELUDE + "input p: [batch, 10]\ntarget y: [batch, 1]\nloss = mse(p, y)\n");
    expect(codes(r)).toEqual(["NNC221"]);
  });
});

describe("solving `_`", () => {
  it("infers a param's unknown sizes from its uses", () => {
    const s = shapes("input x: [batch, 784]\nparam W0: [_, 100]\nparam W1: [_, _]\nparam b: [_]\nh = x W0 + b\no = h W1\ntarget y: [batch, 10]\nloss = mse(o, y)\n");
    expect(s["W0"]).toBe("[784, 100]");
    expect(s["W1"]).toBe("[100, 10]");
    expect(s["b"]).toBe("[100]");
  });

  it("lets a 1 broadcast against an unknown without solving it", () => {
    const s = shapes("input x: [batch, 3]\nparam W: [3, _]\nh = x W\nc = h - mean(h, axis = -1, keepdims = true)\nparam V: [5, 2]\no = c V\noutput o\n");
    expect(s["W"]).toBe("[3, 5]");
  });

  it("reports a `_` no use can fix", () => {
    const r = frontEnd(PRELUDE + "input x: [batch, 3]\nparam W: [3, _]\nloss = sum(x W)\n");
    const d = only(r, "NNC210");
    expect(spanText(d)).toBe("_");
  });

  it("shows both origins when two uses disagree", () => {
    const r = frontEnd(PRELUDE + "input x: [batch, 3]\ninput z: [batch, 5]\nparam W: [_, 4]\na = x W\nb = z W\nloss = sum(a) + sum(b)\n");
    const d = only(r, "NNC211");
    expect(spanText(d)).toBe("z W");
    expect(d.notes[0]!.message).toMatch(/inferred as 3 here/);
    expect(d.notes[0]!.span && spanText({ ...d, span: d.notes[0]!.span })).toBe("x W");
  });
});

describe("names", () => {
  it.each([
    ["dim b\ninput x: [b, 2]\ny = relu(xx)\noutput y\n", "NNC203", "did you mean `x`?"],
    ["dim b\ninput x: [b, 2]\ny = rleu(x)\noutput y\n", "NNC204", "did you mean `relu`?"],
    ["dim b\ninput x: [b, 2]\ny = relu\noutput y\n", "NNC203", "call it with its argument directly after the name: relu(x)"],
    ["dim batch\ninput x: [bacth, 2]\n", "NNC203", "did you mean `batch`?"],
  ])("%#", (src, code, hint) => {
    const d = only(frontEnd(src), code);
    expect(d.hint).toBe(hint);
  });

  it("notes the first definition of a name defined twice", () => {
    const d = only(frontEnd("dim b\ninput x: [b, 2]\ny = x\ny = x * 2\noutput y\n"), "NNC205");
    expect(d.notes[0]!.span!.file.lineCol(d.notes[0]!.span!.start).line).toBe(3);
  });

  it("requires definitions before their uses", () => {
    expect(codes(frontEnd("dim b\ninput x: [b, 2]\ny = z\nz = x\noutput y\n"))).toEqual(["NNC213"]);
  });

  it("expands fn calls and rejects recursion", () => {
    const s = shapes("input x: [batch, 3]\nparam W: [3, 2]\nfn dense(a, w) = relu(a w)\nh = dense(x, W)\noutput h\n");
    expect(s["h"]).toBe("[batch, 2]");
    expect(codes(frontEnd("fn f(a) = f(a)\ndim b\ninput x: [b]\ny = f(x)\noutput y\n"))).toEqual(["NNC217"]);
  });

  it("checks arity and keywords", () => {
    expect(codes(frontEnd("dim b\ninput x: [b, 2]\ny = relu(x, x)\noutput y\n"))).toEqual(["NNC206"]);
    expect(codes(frontEnd("dim b\ninput x: [b, 2]\ny = softmax(x, axes = 1)\noutput y\n"))).toEqual(["NNC207"]);
    expect(codes(frontEnd("dim b\ninput x: [b, 2]\ny = mse(x)\noutput y\n"))).toEqual(["NNC206"]);
  });

  it("warns about declarations nothing uses", () => {
    const r = frontEnd("dim b\ninput x: [b, 2]\nparam W: [2, 2]\nparam V: [2, 2]\ny = x W\noutput y\n");
    expect(codes(r)).toEqual(["NNC212"]);
    expect(r.shaped).toBeDefined();
  });

  it("accepts names that are JavaScript built-ins", () => {
    const s = shapes("input constructor: [batch, 4]\nparam __proto__: [4, 2]\ntoString = constructor __proto__\nhasOwnProperty = relu(toString)\noutput hasOwnProperty\n");
    expect(s["hasOwnProperty"]).toBe("[batch, 2]");
    expect(codes(frontEnd("dim b\ninput x: [b]\ny = constructor(x)\nz = valueOf(x)\noutput y\n"))).toEqual(["NNC204", "NNC204"]);
  });
});
