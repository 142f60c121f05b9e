// Normalisation: the per-channel scale and shift that layer and batch
// normalisation end with. The normalisations themselves are composites
// (src/ops/composites.ts); this op is where their `gamma` and `beta` are
// checked, so that a wrong size is reported as such, at the user's argument,
// and not as a broadcasting failure somewhere inside the expansion.
import * as S from "./scalar/expr.ts";
import { formatShape, originNote } from "./shape-rules.ts";
import { defineOp, type ArgInfo, type ShapeCtx } from "./types.ts";

declare module "./types.ts" {
  interface OpAttrs {
    /** x̂ · gamma + beta, gamma and beta vectors along x̂'s last axis; `what` names the normalisation in messages. */
    norm_affine: { readonly what: string };
  }
  interface ScalarOps {
    norm_affine: true;
  }
}

/** Requires `v` to be a vector of x's last axis (solving `_`); NNC231 otherwise. */
function channelVector(x: ArgInfo, v: ArgInfo, role: string, what: string, ctx: ShapeCtx): boolean {
  const last = x.shape[x.shape.length - 1]!;
  const report = () =>
    ctx.error("NNC231", `${what}'s ${role} must be a vector of the last axis's size ${String(ctx.resolve(last))}, got ${formatShape(v.shape.map(ctx.resolve))}`, {
      span: v.span,
      notes: originNote(v, v.shape, ctx),
      hint: `declare it as \`[${String(ctx.resolve(last))}]\` or \`[_]\``,
    });
  if (v.shape.length !== 1) {
    report();
    return false;
  }
  return ctx.unify(v.shape[0]!, last, () => report());
}

export const normOps = {
  norm_affine: defineOp({
    name: "norm_affine",
    kind: "layer",
    tensors: ["xhat", "gamma", "beta"],
    attrs: { what: { kind: "string" } },
    // d(x̂·γ + β) = (g·γ, g·x̂, g); the gradient pass sums the last two down to [C]
    vjp: ({ g, args: [xhat, gamma], b, needs }) => [needs[0] ? b.mul(g, gamma!) : null, needs[1] ? b.mul(g, xhat!) : null, needs[2] ? g : null],
    scalar: () => S.add(S.mul(S.arg(0), S.arg(1)), S.arg(2)),
    shape: ([xhat, gamma, beta], { what }, ctx) => {
      if (xhat!.shape.length === 0) {
        ctx.error("NNC220", `${what} needs a tensor with a last axis of channels, got a scalar`, { span: xhat!.span });
        return undefined;
      }
      if (!channelVector(xhat!, gamma!, "scale `gamma`", what, ctx) || !channelVector(xhat!, beta!, "shift `beta`", what, ctx)) return undefined;
      return xhat!.shape;
    },
    doc: "x̂ · gamma + beta with gamma and beta vectors along the last axis (the end of layernorm and batchnorm)",
  }),
};
