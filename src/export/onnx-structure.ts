// ONNX forms of the structural ops (src/ops/structure.ts): concat, slice,
// take and its gradient, permute, squeeze and the causal mask.
import type { Rules } from "./onnx-rules.ts";

export type StructureOp = "causal_mask" | "permute" | "concat" | "slice" | "take" | "unslice" | "squeeze";

const BOOL = 9;
const norm = (axis: number, rank: number) => (axis < 0 ? axis + rank : axis);

export const structureRules: Rules<StructureOp> = {
  // Where(lower triangle of ones shaped like x, x, fill): Trilu keeps the diagonal and below.
  causal_mask: ({ b, args, attrs, out }) => {
    const ones = b.op("Expand", [b.floats([1]), b.op("Shape", [args[0]!])]);
    const keep = b.op("Cast", [b.op("Trilu", [ones], { upper: { i: 0 } })], { to: { i: BOOL } });
    return b.op("Where", [keep, args[0]!, b.floats([attrs.fill])], {}, out);
  },
  permute: ({ b, args, argShapes, attrs, out }) => b.op("Transpose", [args[0]!], { perm: { ints: attrs.axes.map((a) => norm(a, argShapes[0]!.length)) } }, out),
  concat: ({ b, args, attrs, out }) => b.op("Concat", [...args], { axis: { i: attrs.axis } }, out),
  // Slice clamps an end past the axis, so "to the end" is the largest safe integer.
  slice: ({ b, args, attrs, out }) => b.op("Slice", [args[0]!, b.ints([attrs.start]), b.ints([attrs.end ?? Number.MAX_SAFE_INTEGER]), b.ints([attrs.axis])], {}, out),
  take: ({ b, args, argShapes, attrs, out }) => {
    const a = norm(attrs.axis, argShapes[0]!.length);
    return b.op("Squeeze", [b.op("Gather", [args[0]!, b.ints([attrs.index])], { axis: { i: a } }), b.ints([a])], {}, out);
  },
  // Pad with zeros before and after the piece along the axis (the axis restored first after take).
  unslice: ({ b, args, argShapes, attrs, out }) => {
    const r = attrs.shape.length;
    const kept = argShapes[0]!.length === r;
    const g = kept ? args[0]! : b.op("Unsqueeze", [args[0]!, b.ints([attrs.axis])]);
    const lenDim = attrs.shape[attrs.axis]!;
    const countDim = kept ? argShapes[0]![attrs.axis]! : 1;
    const [len, count] = [b.dim(lenDim), b.dim(countDim)];
    if (typeof len === "number" && typeof count === "number") {
      const start = attrs.start < 0 ? attrs.start + len : attrs.start;
      const pads = Array.from({ length: 2 * r }, (_, k) => (k === attrs.axis ? start : k === r + attrs.axis ? len - start - count : 0));
      return b.op("Pad", [g, b.ints(pads)], {}, out);
    }
    // A symbolic size: the pads are computed from the sizes the inputs carry.
    if (!b.canResolve([lenDim, countDim])) return { unsupported: `the gradient of a slice along an axis of size \`${String(len)}\`, which no input carries` };
    const L = b.shapeOf([lenDim]);
    const before = attrs.start >= 0 ? b.ints([attrs.start]) : b.op("Add", [L, b.ints([attrs.start])]);
    const after = b.op("Sub", [b.op("Sub", [L, before]), b.shapeOf([countDim])]);
    const pads = Array.from({ length: 2 * r }, (_, k) => (k === attrs.axis ? before : k === r + attrs.axis ? after : b.ints([0])));
    return b.op("Pad", [g, b.op("Concat", pads, { axis: { i: 0 } })], {}, out);
  },
  squeeze: ({ b, args, argShapes, attrs, out }) => b.op("Squeeze", [args[0]!, b.ints(attrs.axes.map((a) => norm(a, argShapes[0]!.length)))], {}, out),
};
