// Elementwise ops: arithmetic operators (numpy broadcasting) and the
// one-argument activation functions.
import { broadcast } from "./shape-rules.ts";
import { defineOp, type OpDef, type OpName } from "./types.ts";

type BinaryName = "add" | "sub" | "mul" | "div" | "pow" | "maximum" | "minimum";
type UnaryName = "neg" | "relu" | "leaky_relu" | "sigmoid" | "tanh" | "exp" | "log" | "sqrt" | "abs" | "step" | "sign";

function binary<K extends BinaryName>(name: K, doc: string, callName?: string): OpDef<K> {
  return defineOp<BinaryName>({
    name,
    kind: "binary",
    ...(callName ? { callName } : {}),
    tensors: ["a", "b"],
    attrs: {},
    differentiable: true,
    shape: ([a, b], _attrs, ctx) => broadcast(a!, b!, ctx),
    doc,
  }) as OpDef<K>;
}

function unary<K extends Exclude<UnaryName, "leaky_relu">>(name: K, doc: string, differentiable = true, callName: string | undefined = name): OpDef<K> {
  return defineOp<Exclude<UnaryName, "leaky_relu">>({
    name,
    kind: "elementwise",
    ...(callName ? { callName } : {}),
    tensors: ["x"],
    attrs: {},
    differentiable,
    shape: ([x]) => x!.shape,
    doc,
  }) as OpDef<K>;
}

export const elementwiseOps = {
  add: binary("add", "a + b, broadcasting"),
  sub: binary("sub", "a - b, broadcasting"),
  mul: binary("mul", "a * b, elementwise, broadcasting"),
  div: binary("div", "a / b, elementwise, broadcasting"),
  pow: binary("pow", "a ^ b, elementwise power, broadcasting"),
  maximum: binary("maximum", "elementwise maximum of a and b", "maximum"),
  minimum: binary("minimum", "elementwise minimum of a and b", "minimum"),
  neg: unary("neg", "-x", true, undefined),
  relu: unary("relu", "max(x, 0); slope 0 at 0"),
  leaky_relu: defineOp({
    name: "leaky_relu",
    kind: "elementwise",
    callName: "leaky_relu",
    tensors: ["x"],
    attrs: { slope: { kind: "number", default: 0.01 } },
    differentiable: true,
    shape: ([x]) => x!.shape,
    doc: "x where x > 0, slope · x elsewhere",
  }),
  sigmoid: unary("sigmoid", "1 / (1 + e^-x)"),
  tanh: unary("tanh", "hyperbolic tangent"),
  exp: unary("exp", "e^x"),
  log: unary("log", "natural logarithm"),
  sqrt: unary("sqrt", "square root"),
  abs: unary("abs", "|x|"),
  step: unary("step", "Heaviside step: 1 where x > 0, else 0 (passes no gradient)", false),
  sign: unary("sign", "-1, 0 or 1 (passes no gradient)", false),
} satisfies { [K in BinaryName | UnaryName]: OpDef<K> };

export type ElementwiseName = keyof typeof elementwiseOps & OpName;
