// accuracy(p, y): the share of rows whose argmax in the scores `p` is the
// class `y` names. `y` is either one-hot rows of p's shape (the class is the
// row's first argmax) or integer class ids, one per row (`int[rows…]` for
// p [rows…, C]), as sparse_cross_entropy takes them. A metric: no gradient.
import { lossKernel, wgslLoss } from "./losses.ts";
import { product, rowsOf } from "./cpu-util.ts";
import { formatShape, originNote, sameShape } from "./shape-rules.ts";
import { strided, workgroupReduce } from "./wgsl-util.ts";
import { defineOp, type ArgInfo, type IShape, type ShapeCtx } from "./types.ts";

/** One class id per row of p: y's shape is p's without the last axis (NNC236). */
function labelsShape(p: ArgInfo, y: ArgInfo, ctx: ShapeCtx): IShape | undefined {
  const report = () =>
    ctx.error("NNC236", `accuracy needs one integer label per row of the scores: labels of shape ${formatShape(p.shape.slice(0, -1).map(ctx.resolve))}, got ${formatShape(y.shape.map(ctx.resolve))}`, {
      span: y.span,
      notes: [...originNote(y, y.shape, ctx), ...originNote(p, p.shape, ctx)],
      hint:
        y.shape.length === p.shape.length && ctx.resolve(y.shape[y.shape.length - 1]!) === 1
          ? `the labels have a last axis of one: take its one column, \`accuracy(${ctx.text(p.span)}, ${ctx.text(y.span)}[..., 0])\``
          : "the scores are [rows…, classes] and the labels [rows…], one class id each; one-hot rows are float, of the scores' shape",
    });
  if (p.shape.length === 0 || y.shape.length !== p.shape.length - 1) {
    report();
    return undefined;
  }
  for (let i = 0; i < y.shape.length; i++) if (!ctx.unify(y.shape[i]!, p.shape[i]!, report)) return undefined;
  return [];
}

/** Float labels: one-hot rows of p's shape (NNC221 otherwise); a float vector of one entry per row is class ids in the wrong type (NNC237). */
function oneHotShape(p: ArgInfo, y: ArgInfo, ctx: ShapeCtx): IShape | undefined {
  if (p.shape.length > 0 && y.shape.length === p.shape.length - 1) {
    const what = y.name ? `\`${y.name}\`` : "the labels";
    ctx.error("NNC237", `accuracy's labels ${what} have one entry per row of the scores, ${formatShape(y.shape.map(ctx.resolve))}, but hold floats: class ids must be integers`, {
      span: y.span,
      notes: originNote(y, y.shape, ctx),
      hint: `declare the class ids as integers (\`target ${y.name ?? "y"}: int${formatShape(y.shape.map(ctx.resolve))}\`), or give one-hot rows of the scores' shape ${formatShape(p.shape.map(ctx.resolve))}`,
    });
    return undefined;
  }
  return sameShape(p, y, ctx, "accuracy") ? [] : undefined;
}

const oneHotCpu = lossKernel<"accuracy">("accuracy");
const oneHotWgsl = wgslLoss<"accuracy">("accuracy");

export const accuracyOps = {
  accuracy: defineOp({
    name: "accuracy",
    kind: "metric",
    callName: "accuracy",
    tensors: ["p", "y"],
    argTypes: ["f32", "any"],
    attrs: {},
    vjp: "nograd",
    cpu: {
      kernel: (c) => {
        const [p, y] = c.args;
        if (y!.arr !== "i32") return oneHotCpu.kernel(c);
        const { rows, width } = rowsOf(p!);
        return [`${c.out.arr}[${c.out.off}] = accuracyOfLabels(${p!.arr}, ${p!.off}, ${y!.arr}, ${y!.off}, ${rows}, ${width});`];
      },
    },
    // One workgroup, as the losses; a label outside [0, C) matches no row here (the CPU module and the interpreter throw).
    wgsl: {
      kernel: (c) => {
        const [p, y] = c.args;
        if (y!.type !== "i32") return oneHotWgsl.kernel(c);
        const width = p!.shape[p!.shape.length - 1]!;
        const rows = product(p!.shape.slice(0, -1));
        const P = p!.ref;
        return {
          mode: "rows",
          count: "1",
          body: [
            "var part: f32 = 0.0;",
            ...strided("r", rows, [
              `let o: u32 = r * ${width};`,
              "var guess: u32 = 0u;",
              `for (var j: u32 = 1u; j < ${width}; j = j + 1u) { if (${P}[o + j] > ${P}[o + guess]) { guess = j; } }`,
              `if (${y!.ref}[r] == i32(guess)) { part = part + 1.0; }`,
            ]),
            ...workgroupReduce("part", "total", "sum"),
            `if (lid == 0u) { ${c.out.ref}[0] = total / f32(${rows}); }`,
          ],
        };
      },
    },
    shape: ([p, y], _attrs, ctx) => (y!.dtype === "i32" ? labelsShape(p!, y!, ctx) : oneHotShape(p!, y!, ctx)),
    doc: "the share of rows whose argmax is the class `y` names: one-hot rows of p's shape, or integer class ids `y: int[rows…]` (one per row of `p: [rows…, C]`); passes no gradient",
  }),
};
