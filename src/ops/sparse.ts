// Softmax cross-entropy against integer class labels: the labels are ids,
// one per row, so a 10,000-way classifier (a word vocabulary) needs no
// one-hot target. The same loss as softmax_cross_entropy(z, one_hot(y, C)).
import { product, rowsOf } from "./cpu-util.ts";
import { rows } from "./losses.ts";
import { formatShape, originNote } from "./shape-rules.ts";
import { strided, workgroupReduce } from "./wgsl-util.ts";
import { defineOp } from "./types.ts";

declare module "./types.ts" {
  interface OpAttrs {
    sparse_cross_entropy: {};
  }
}

export const sparseOps = {
  sparse_cross_entropy: defineOp({
    name: "sparse_cross_entropy",
    kind: "loss",
    callName: "sparse_cross_entropy",
    tensors: ["logits", "labels"],
    argTypes: ["f32", "i32"],
    attrs: {},
    // d sparse_ce(z, y) = g(softmax(z) − one_hot(y, C))/rows; integer labels get no gradient
    vjp: ({ g, args: [z, y], b }) => {
      // one_hot_to where the class count is a dim (`vocab`), not a number one_hot can take
      const s = b.shape(z!);
      const width = s[s.length - 1]!;
      const p = b.op("softmax", [z!], { axis: -1 });
      const diff = b.sub(p, typeof width === "number" ? b.op("one_hot", [y!], { n: width }) : b.op("one_hot_to", [y!], { shape: s }));
      return [b.mul(b.div(g, rows(b, z!)), diff), null];
    },
    cpu: {
      kernel: ({ args: [z, y], out }) => {
        const { rows: n, width } = rowsOf(z!);
        return [`${out.arr}[${out.off}] = sparseCrossEntropy(${z!.arr}, ${z!.off}, ${y!.arr}, ${y!.off}, ${n}, ${width});`];
      },
    },
    // One workgroup; each invocation sums the rows it strides over. A label outside [0, C) adds nothing here (the CPU module throws).
    wgsl: {
      kernel: ({ args: [z, y], out }) => {
        const width = z!.shape[z!.shape.length - 1]!;
        const n = product(z!.shape.slice(0, -1));
        const Z = z!.ref;
        return {
          mode: "rows",
          count: "1",
          body: [
            "var part: f32 = 0.0;",
            ...strided("r", n, [
              `let o: u32 = r * ${width};`,
              `let label: i32 = ${y!.ref}[r];`,
              "var m: f32 = -3.4028234663852886e38;",
              `for (var j: u32 = 0u; j < ${width}; j = j + 1u) { m = max(m, ${Z}[o + j]); }`,
              "var e: f32 = 0.0;",
              `for (var j: u32 = 0u; j < ${width}; j = j + 1u) { e = e + exp(${Z}[o + j] - m); }`,
              `if (label >= 0 && u32(label) < ${width}) { part = part + m + log(e) - ${Z}[o + u32(label)]; }`,
            ]),
            ...workgroupReduce("part", "total", "sum"),
            `if (lid == 0u) { ${out.ref}[0] = total / f32(${n}); }`,
          ],
        };
      },
    },
    shape: ([z, y], _attrs, ctx) => {
      const report = () =>
        ctx.error("NNC232", `sparse_cross_entropy needs one label per row of the logits: labels of shape ${formatShape(z!.shape.slice(0, -1).map(ctx.resolve))}, got ${formatShape(y!.shape.map(ctx.resolve))}`, {
          span: y!.span,
          notes: [...originNote(y!, y!.shape, ctx), ...originNote(z!, z!.shape, ctx)],
          hint: "the logits are [rows…, classes] and the labels [rows…], one class id each",
        });
      if (z!.shape.length === 0 || y!.shape.length !== z!.shape.length - 1) {
        report();
        return undefined;
      }
      for (let i = 0; i < y!.shape.length; i++) if (!ctx.unify(y!.shape[i]!, z!.shape[i]!, report)) return undefined;
      return [];
    },
    doc: "cross-entropy of softmax(logits) against integer class ids `labels: int[rows…]` (one per row of `logits: [rows…, C]`), computed stably, averaged over rows: no one-hot target needed",
  }),
};
