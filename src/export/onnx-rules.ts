// How each nnc op is written in ONNX (opset 18): one rule per op, in a table
// keyed by OpName so that a new op fails to compile until it has a rule.
// A rule returns the name of the value it computed (usually `out`, the
// node's own name), or why it has no ONNX form here: a diagnostic (NNC402),
// whose message names the op or value.
import { isScalarOp } from "../ops/scalar-rule.ts";
import type { OpAttrs, OpName, ScalarOpName, Shape } from "../ops/types.ts";
import type { OnnxBuilder } from "./onnx-builder.ts";
import { layerRules, type LayerOp } from "./onnx-layers.ts";
import { lossRules, type LossOp } from "./onnx-losses.ts";
import { normRules, type NormOp } from "./onnx-norm.ts";
import { fromScalar } from "./onnx-scalar.ts";
import { structureRules, type StructureOp } from "./onnx-structure.ts";

export interface Unsupported {
  readonly unsupported: string;
}

export interface RuleCtx<K extends OpName> {
  readonly b: OnnxBuilder;
  readonly attrs: OpAttrs[K];
  readonly args: readonly string[];
  readonly argShapes: readonly Shape[];
  readonly shape: Shape;
  /** The name the node's value should take (the `.nn` name where it has one). */
  readonly out: string;
  /** Exporting a training step: dropout multiplies by a fed mask. */
  readonly training: boolean;
  /** The graph input holding dropout stream `stream`'s scaled keep-mask (training only). */
  mask(stream: number, shape: Shape): string;
}

export type Rule<K extends OpName> = (c: RuleCtx<K>) => string | Unsupported;
export type Rules<K extends OpName> = { readonly [P in K]: Rule<P> };

const FLOAT = 1;
const INT32 = 6;

const unary = (op: string): Rule<OpName> => ({ b, args, out }) => b.op(op, [args[0]!], {}, out);
const binary = (op: string): Rule<OpName> => ({ b, args, out }) => b.op(op, [args[0]!, args[1]!], {}, out);

/** ReduceSum/Mean/Max over one axis, or over everything when axis is null. */
function reduce(op: string) {
  return ({ b, args, attrs, out }: RuleCtx<"sum" | "mean" | "max">) =>
    attrs.axis === null ? b.op(op, [args[0]!], { keepdims: { i: attrs.keepdims ? 1 : 0 } }, out) : b.op(op, [args[0]!, b.ints([attrs.axis])], { keepdims: { i: attrs.keepdims ? 1 : 0 } }, out);
}

/**
 * Elementwise ops with a native ONNX op (Relu, Sigmoid, …). Partial on
 * purpose: any other scalar op (gelu, silu, softplus, elu, derived slopes) is
 * written from its formula by fromScalar, so a new elementwise op needs no
 * rule here; every op that is not elementwise must have one.
 */
type MathOp = Exclude<OpName, "input" | "param" | "const" | "dimval" | LossOp | LayerOp | StructureOp | NormOp | ScalarOpName>;

const mathRules: Rules<MathOp> & Partial<Rules<ScalarOpName>> = {
  add: binary("Add"),
  sub: binary("Sub"),
  mul: binary("Mul"),
  div: binary("Div"),
  pow: binary("Pow"),
  neg: unary("Neg"),
  maximum: binary("Max"),
  minimum: binary("Min"),
  relu: unary("Relu"),
  leaky_relu: ({ b, args, attrs, out }) => b.op("LeakyRelu", [args[0]!], { alpha: { f: attrs.slope } }, out),
  sigmoid: unary("Sigmoid"),
  tanh: unary("Tanh"),
  exp: unary("Exp"),
  log: unary("Log"),
  sqrt: unary("Sqrt"),
  abs: unary("Abs"),
  step: ({ b, args, out }) => b.op("Cast", [b.op("Greater", [args[0]!, b.floats([0])])], { to: { i: FLOAT } }, out),
  sign: unary("Sign"),
  stop_gradient: ({ args }) => args[0]!,
  matmul: binary("MatMul"),
  // nnc's transpose swaps the last two axes (of every matrix in a batch).
  transpose: ({ b, args, argShapes, out }) => {
    const r = argShapes[0]!.length;
    if (r < 2) return args[0]!;
    return b.op("Transpose", [args[0]!], { perm: { ints: [...Array.from({ length: r - 2 }, (_, i) => i), r - 1, r - 2] } }, out);
  },
  reshape: ({ b, args, shape, out }) => b.op("Reshape", [args[0]!, b.shapeOf(shape)], {}, out),
  flatten: ({ b, args, shape, out }) => b.op("Reshape", [args[0]!, b.shapeOf(shape)], {}, out),
  // ONNX Runtime's OneHot takes int64 indices, not nnc's int32 ids.
  one_hot: ({ b, args, attrs, out }) => b.op("OneHot", [b.op("Cast", [args[0]!], { to: { i: 7 } }), b.ints([attrs.n]), b.floats([0, 1], [2])], { axis: { i: -1 } }, out),
  // OneHot's depth: the last axis of the shape, a 1-element int64 tensor either way.
  one_hot_to: ({ b, args, attrs, out }) => b.op("OneHot", [b.op("Cast", [args[0]!], { to: { i: 7 } }), b.shapeOf(attrs.shape.slice(-1)), b.floats([0, 1], [2])], { axis: { i: -1 } }, out),
  softmax: ({ b, args, attrs, out }) => b.op("Softmax", [args[0]!], { axis: { i: attrs.axis } }, out),
  log_softmax: ({ b, args, attrs, out }) => b.op("LogSoftmax", [args[0]!], { axis: { i: attrs.axis } }, out),
  sum: reduce("ReduceSum"),
  mean: reduce("ReduceMean"),
  max: reduce("ReduceMax"),
  argmax: ({ b, args, attrs, out }) => {
    // Without an axis: the index in the flattened tensor. ArgMax picks the first maximum, as nnc does.
    const x = attrs.axis === null ? b.op("Reshape", [args[0]!, b.ints([-1])]) : args[0]!;
    const i = b.op("ArgMax", [x], { axis: { i: attrs.axis ?? 0 }, keepdims: { i: 0 } });
    return b.op("Cast", [i], { to: { i: INT32 } }, out);
  },
  // Sums a broadcast value back down: the leading axes it gained, and the axes that were 1.
  sum_to: ({ b, args, argShapes, attrs, out }) => {
    const from = argShapes[0]!;
    const lead = from.length - attrs.shape.length;
    const axes = from.map((_, i) => i).filter((i) => i < lead || (b.dim(attrs.shape[i - lead]!) === 1 && b.dim(from[i]!) !== 1));
    if (axes.length === 0) return b.op("Reshape", [args[0]!, b.shapeOf(attrs.shape)], {}, out);
    const summed = b.op("ReduceSum", [args[0]!, b.ints(axes)], { keepdims: { i: 1 } });
    return b.op("Reshape", [summed, b.shapeOf(attrs.shape)], {}, out);
  },
  broadcast_to: ({ b, args, attrs, out }) => b.op("Expand", [args[0]!, b.shapeOf(attrs.shape)], {}, out),
  eq: ({ b, args, out }) => b.op("Cast", [b.op("Equal", [args[0]!, args[1]!])], { to: { i: FLOAT } }, out),
};

/** Every op's rule; sources (inputs, params, constants, dim sizes) are the exporter's. */
const ONNX_RULES: Rules<Exclude<OpName, "input" | "param" | ScalarOpName>> & Partial<Rules<ScalarOpName>> = {
  ...mathRules,
  ...layerRules,
  ...lossRules,
  ...structureRules,
  ...normRules,
  const: ({ b, attrs }) => b.floats([attrs.value]),
  dimval: ({ b, attrs }) => b.dimScalar(attrs.dim) ?? { unsupported: `the size of dim \`${attrs.dim}\` is used here, but no input of the exported graph carries it: fix it with --dim ${attrs.dim}=N` },
};

/** The rule of an op: its own, or, for an elementwise op without one, its scalar formula. */
export function onnxRule(op: Exclude<OpName, "input" | "param">): Rule<OpName> {
  const own = (ONNX_RULES as Partial<Record<OpName, Rule<OpName>>>)[op];
  if (own !== undefined) return own;
  if (isScalarOp(op)) return fromScalar(op) as unknown as Rule<OpName>;
  throw new Error(`internal: ${op} has no ONNX rule`);
}
