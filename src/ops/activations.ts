// Activation functions defined by their formula alone: each is one scalar
// expression, and its derivative is derived from that expression (the
// `derivative` op), so shape, slope and both backends' code come from this
// one entry. Adding such an op is this file alone: its attributes in the
// OpAttrs and ScalarOps declarations below (merged into src/ops/types.ts's),
// and its entry in activationOps.
import { registryScalar } from "./scalar-rule.ts";
import * as S from "./scalar/expr.ts";
import { erf, sigmoid } from "./scalar/lib.ts";
import { broadcast } from "./shape-rules.ts";
import { defineOp, type OpAttrs, type ScalarOpName, type VjpRule } from "./types.ts";

declare module "./types.ts" {
  interface OpAttrs {
    /** `approximate`: "none" for x·Φ(x) with the exact normal CDF, "tanh" for the tanh approximation. */
    gelu: { readonly approximate: "none" | "tanh" };
    silu: {};
    softplus: {};
    elu: { readonly alpha: number };
  }
  interface ScalarOps {
    gelu: true;
    silu: true;
    softplus: true;
    elu: true;
  }
}

const X = S.arg(0);

/** The vjp of an op whose slope is derived from its scalar expression: g · ∂f/∂argₖ for each argument. */
function derived<K extends Exclude<ScalarOpName, "derivative">>(of: K): VjpRule<K> {
  return ({ g, args, attrs, b, needs }) => args.map((_, k) => (needs[k] ? b.mul(g, b.op("derivative", args, { ...(attrs as object), of, arg: k })) : null));
}

/** √(2/π), of GELU's tanh form. */
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

export const activationOps = {
  gelu: defineOp({
    name: "gelu",
    kind: "elementwise",
    callName: "gelu",
    tensors: ["x"],
    // The exact form by default, as PyTorch's nn.GELU: a model ported from it
    // computes the same function; "tanh" is the older, cheaper approximation.
    attrs: { approximate: { kind: "string", oneOf: ["none", "tanh"], default: "none" } },
    scalar: ({ approximate }) =>
      approximate === "tanh"
        ? S.mul(S.mul(0.5, X), S.add(1, S.tanh(S.mul(SQRT_2_OVER_PI, S.add(X, S.mul(0.044715, S.mul(X, S.mul(X, X))))))))
        : S.mul(S.mul(0.5, X), S.add(1, erf(S.mul(X, Math.SQRT1_2)))),
    vjp: derived("gelu"),
    shape: ([x]) => x!.shape,
    doc: 'gelu(x, approximate = "none"): x · Φ(x), Φ the standard normal CDF; "tanh" for the tanh approximation',
  }),
  silu: defineOp({
    name: "silu",
    kind: "elementwise",
    callName: "silu",
    tensors: ["x"],
    attrs: {},
    scalar: () => S.mul(X, sigmoid(X)),
    vjp: derived("silu"),
    shape: ([x]) => x!.shape,
    doc: "x · sigmoid(x) (also called swish)",
  }),
  softplus: defineOp({
    name: "softplus",
    kind: "elementwise",
    callName: "softplus",
    tensors: ["x"],
    attrs: {},
    // ln(1 + eˣ) with the exponent never positive, so nothing overflows; split
    // on x > 0 rather than through |x| so that the slope at 0 is ½ (sign(0) is 0).
    scalar: () => S.select(S.cmp(">", X, 0), S.add(X, S.log(S.add(1, S.exp(S.neg(X))))), S.log(S.add(1, S.exp(X)))),
    vjp: derived("softplus"),
    shape: ([x]) => x!.shape,
    doc: "ln(1 + e^x), computed without overflow; its slope is sigmoid(x)",
  }),
  elu: defineOp({
    name: "elu",
    kind: "elementwise",
    callName: "elu",
    tensors: ["x"],
    attrs: { alpha: { kind: "number", default: 1 } },
    scalar: ({ alpha }) => S.select(S.cmp(">", X, 0), X, S.mul(alpha, S.sub(S.exp(X), 1))),
    vjp: derived("elu"),
    shape: ([x]) => x!.shape,
    doc: "elu(x, alpha = 1): x where x > 0, alpha · (e^x − 1) elsewhere",
  }),
  derivative: defineOp({
    name: "derivative",
    kind: "elementwise",
    tensors: ["x"], // the arguments of `of`: one for every op that uses `derived`
    attrs: {},
    scalar: ({ of, arg, ...attrs }, training) => S.diff(registryScalar(of, attrs as OpAttrs[typeof of], training), arg),
    vjp: "unsupported", // second derivatives are not implemented
    shape: (args, _attrs, ctx) => (args.length === 2 ? broadcast(args[0]!, args[1]!, ctx) : args[0]!.shape),
    doc: "the slope of an elementwise op with respect to one argument, from its formula",
  }),
};
