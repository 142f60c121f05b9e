// Comparisons and `where`: elementwise ops, each one scalar expression (as
// activations.ts), declaring their own attributes and spread into OPS.
import { broadcast } from "./shape-rules.ts";
import * as S from "./scalar/expr.ts";
import { defineOp, type ArgInfo, type IShape, type ShapeCtx } from "./types.ts";

declare module "./types.ts" {
  interface OpAttrs {
    greater: {};
    less: {};
    where: {};
  }
  interface ScalarOps {
    greater: true;
    less: true;
    where: true;
  }
}

/** Broadcasting of several arguments, left to right. */
function broadcastAll(args: readonly ArgInfo[], ctx: ShapeCtx): IShape | undefined {
  let shape: IShape | undefined = args[0]!.shape;
  for (const a of args.slice(1)) {
    shape = broadcast({ shape, dtype: "f32", span: ctx.span }, a, ctx);
    if (shape === undefined) return undefined;
  }
  return shape;
}

const [A, B, C] = [S.arg(0), S.arg(1), S.arg(2)];

export const compareOps = {
  greater: defineOp({
    name: "greater",
    kind: "binary",
    callName: "greater",
    tensors: ["a", "b"],
    attrs: {},
    vjp: "nograd", // piecewise constant
    scalar: () => S.select(S.cmp(">", A, B), 1, 0),
    shape: ([a, b], _attrs, ctx) => broadcast(a!, b!, ctx),
    doc: "1 where a > b, else 0 (floats, for masks and `where`); passes no gradient",
  }),
  less: defineOp({
    name: "less",
    kind: "binary",
    callName: "less",
    tensors: ["a", "b"],
    attrs: {},
    vjp: "nograd",
    scalar: () => S.select(S.cmp(">", B, A), 1, 0),
    shape: ([a, b], _attrs, ctx) => broadcast(a!, b!, ctx),
    doc: "1 where a < b, else 0 (floats); passes no gradient",
  }),
  where: defineOp({
    name: "where",
    kind: "binary",
    callName: "where",
    tensors: ["cond", "a", "b"],
    attrs: {},
    // d where(c, a, b) = (none, where(c, g, 0), where(c, 0, g)): the condition is a mask, not differentiated
    vjp: ({ g, args: [cond], b, needs }) => [null, needs[1] ? b.op("where", [cond!, g, b.c(0)], {}) : null, needs[2] ? b.op("where", [cond!, b.c(0), g], {}) : null],
    scalar: () => S.select(S.cmp("==", A, 0), C, B),
    shape: (args, _attrs, ctx) => broadcastAll(args, ctx),
    doc: "a where cond is not 0, else b, broadcasting all three; the gradient flows to a and b, not to cond",
  }),
};
