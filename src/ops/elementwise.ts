// Elementwise ops: arithmetic operators (numpy broadcasting) and the
// one-argument activation functions, each one scalar expression (the value
// at one element, from which every backend's code comes) and a derivative rule.
import { broadcast } from "./shape-rules.ts";
import { sigmoid } from "./scalar/lib.ts";
import * as S from "./scalar/expr.ts";
import { defineOp, type ArgInfo, type OpDef, type ShapeCtx, type Vjp } from "./types.ts";

type BinaryName = "add" | "sub" | "mul" | "div" | "pow" | "maximum" | "minimum";
type UnaryName = "neg" | "relu" | "sigmoid" | "tanh" | "exp" | "log" | "sqrt" | "abs" | "step" | "sign" | "stop_gradient";

/** The arguments, at one element. */
const [A, B] = [S.arg(0), S.arg(1)];
const X = A;

function binary<K extends BinaryName>(name: K, doc: string, vjp: Vjp<K>, scalar: S.Scalar, callName?: string): OpDef<K> {
  return {
    name,
    kind: "binary",
    ...(callName ? { callName } : {}),
    tensors: ["a", "b"],
    attrs: {},
    vjp,
    scalar: () => scalar,
    shape: ([a, b]: readonly ArgInfo[], _attrs: unknown, ctx: ShapeCtx) => broadcast(a!, b!, ctx),
    doc,
  } as unknown as OpDef<K>; // every K here has empty attrs, which TypeScript cannot see through the generic
}

/** maximum or minimum: g goes to the argument that wins, with `first` = [a wins] = step(±(a − b)); a tie sends it to b. */
function extremum<K extends "maximum" | "minimum">(name: K, doc: string, scalar: S.Scalar): OpDef<K> {
  const vjp: Vjp<"maximum" | "minimum"> = ({ g, args: [x, y], b }) => {
    const first = b.op("step", [name === "maximum" ? b.sub(x!, y!) : b.sub(y!, x!)], {});
    return [b.mul(g, first), b.mul(g, b.sub(b.c(1), first))];
  };
  return binary(name, doc, vjp, scalar, name);
}

/** `callName` null: not callable by users (negation is written `-x`). */
function unary<K extends UnaryName>(name: K, doc: string, vjp: Vjp<K>, scalar: S.Scalar, callName: string | null = name): OpDef<K> {
  return {
    name,
    kind: "elementwise",
    ...(callName ? { callName } : {}),
    tensors: ["x"],
    attrs: {},
    vjp,
    scalar: () => scalar,
    shape: ([x]: readonly ArgInfo[]) => x!.shape,
    doc,
  } as unknown as OpDef<K>; // as above: empty attrs
}

export const elementwiseOps = {
  // d(a + b) = (g, g)
  add: binary("add", "a + b, broadcasting", ({ g }) => [g, g], S.add(A, B)),
  // d(a − b) = (g, −g)
  sub: binary("sub", "a - b, broadcasting", ({ g, b }) => [g, b.neg(g)], S.sub(A, B)),
  // d(a · b) = (g · b, g · a)
  mul: binary("mul", "a * b, elementwise, broadcasting", ({ g, args: [x, y], b }) => [b.mul(g, y!), b.mul(g, x!)], S.mul(A, B)),
  // d(a / b) = (g / b, −g · (a / b) / b)
  div: binary("div", "a / b, elementwise, broadcasting", ({ g, args: [, y], out, b, needs }) => [b.div(g, y!), needs[1] ? b.neg(b.div(b.mul(g, out), y!)) : null], S.div(A, B)),
  // d(a ^ b) = (g · b · a^(b−1), g · a^b · ln a)
  pow: binary("pow", "a ^ b, elementwise power, broadcasting", ({ g, args: [x, y], out, b, needs }) => [
    needs[0] ? b.mul(g, b.mul(y!, b.op("pow", [x!, b.sub(y!, b.c(1))], {}))) : null,
    needs[1] ? b.mul(g, b.mul(out, b.op("log", [x!], {}))) : null,
  ], S.pow(A, B)),
  // d max(a, b) = (g · [a > b], g · [a ≤ b]); a tie sends the gradient to b
  maximum: extremum("maximum", "the larger of a and b, element by element", S.max(A, B)),
  // d min(a, b) = (g · [b > a], g · [b ≤ a]); a tie sends the gradient to b
  minimum: extremum("minimum", "the smaller of a and b, element by element", S.min(A, B)),
  // d(−x) = −g
  neg: unary("neg", "-x", ({ g, b }) => [b.neg(g)], S.neg(X), null),
  // d relu(x) = g · [y > 0]   (slope 0 at 0)
  relu: unary("relu", "max(x, 0); its slope at 0 is 0", ({ g, out, b }) => [b.mul(g, b.op("step", [out], {}))], S.max(X, 0)),
  leaky_relu: defineOp({
    name: "leaky_relu",
    kind: "elementwise",
    callName: "leaky_relu",
    tensors: ["x"],
    attrs: { slope: { kind: "number", default: 0.01 } },
    // d leaky_relu(x) = g · (slope + (1 − slope) · [x > 0])
    vjp: ({ g, args: [x], attrs, b }) => [b.mul(g, b.add(b.c(attrs.slope), b.mul(b.c(1 - attrs.slope), b.op("step", [x!], {}))))],
    scalar: ({ slope }) => S.select(S.cmp(">", X, 0), X, S.mul(slope, X)),
    shape: ([x]) => x!.shape,
    doc: "x where x > 0, slope · x elsewhere",
  }),
  // d sigmoid(x) = g · y · (1 − y)
  sigmoid: unary("sigmoid", "the logistic function 1 / (1 + e^−x)", ({ g, out, b }) => [b.mul(g, b.mul(out, b.sub(b.c(1), out)))], sigmoid(X)),
  // d tanh(x) = g · (1 − y²)
  tanh: unary("tanh", "hyperbolic tangent", ({ g, out, b }) => [b.mul(g, b.sub(b.c(1), b.mul(out, out)))], S.tanh(X)),
  // d eˣ = g · y
  exp: unary("exp", "the exponential e^x", ({ g, out, b }) => [b.mul(g, out)], S.exp(X)),
  // d ln x = g / x
  log: unary("log", "the natural logarithm", ({ g, args: [x], b }) => [b.div(g, x!)], S.log(X)),
  // d √x = g / (2 y)
  sqrt: unary("sqrt", "square root", ({ g, out, b }) => [b.div(g, b.mul(b.c(2), out))], S.sqrt(X)),
  // d |x| = g · sign(x)
  abs: unary("abs", "|x|; its slope at 0 is 0", ({ g, args: [x], b }) => [b.mul(g, b.op("sign", [x!], {}))], S.abs(X)),
  step: unary("step", "Heaviside step: 1 where x > 0, else 0; passes no gradient", "nograd", S.select(S.cmp(">", X, 0), 1, 0)),
  sign: unary("sign", "the sign of x: −1, 0 or 1; passes no gradient", "nograd", S.sign(X)),
  // d stop_gradient(x) = 0: the value flows forward, the gradient stops, so
  // `x + stop_gradient(f(x) - x)` computes f(x) with the slope of the identity.
  stop_gradient: unary("stop_gradient", "x itself, but no gradient flows back through it (to write a backward pass by hand: see below)", "nograd", X),
} satisfies { [K in BinaryName | UnaryName | "leaky_relu"]: OpDef<K> };
