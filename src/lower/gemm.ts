// The geometry of a matrix product as both backends run it: vectors as
// 1-row/1-column matrices, A's leading axes folded into its rows, or, where
// B has leading axes, one product per batch entry. Where both operands have
// batch axes and they differ (one repeats along an axis of the other, as
// numpy's matmul broadcasts them), each entry finds each operand's matrix
// from that operand's own strides, 0 along an axis it repeats on.
import type { GradGraph, NodeId } from "../ir/graph.ts";
import type { Shape } from "../ops/types.ts";
import { axisSize, ONE, shapeSize, sizeProduct, type Size } from "./size.ts";
import type { BatchAxis, GemmGeometry } from "./steps.ts";

export function gemmGeometry(g: GradGraph, a: NodeId, b: NodeId, transA: boolean, transB: boolean, matmul: NodeId): GemmGeometry {
  const sa = g.shapes[a]!;
  const sb = g.shapes[b]!;
  const at = (s: typeof sa, i: number) => axisSize(s[i < 0 ? s.length + i : i]!);
  if (sb.length > 2) {
    const so = g.shapes[matmul]!;
    const m = sa.length === 1 ? ONE : at(sa, -2);
    const k = at(sb, -2);
    const n = at(sb, -1);
    const outBatch = so.slice(0, so.length - (sa.length >= 2 ? 2 : 1));
    const batch = shapeSize(outBatch);
    const sameBatch = sa.length === sb.length && sa.slice(0, -2).every((d, i) => d === sb[i]);
    const broadcast = sa.length > 2 && !sameBatch ? broadcastAxes(sa.slice(0, -2), sb.slice(0, -2), outBatch, sizeProduct([m, k]), sizeProduct([k, n])) : null;
    return { m, n, k, lda: k, ldb: n, batch, aBatched: sa.length > 2, broadcast };
  }
  const m = sa.length === 1 ? ONE : transA ? at(sa, 1) : sizeProduct(sa.slice(0, -1).map(axisSize));
  const k = sa.length === 1 ? at(sa, 0) : transA ? at(sa, 0) : at(sa, -1);
  const n = sb.length === 1 ? ONE : transB ? at(sb, 0) : at(sb, -1);
  const lda = transA ? at(sa, 1) : k;
  const ldb = sb.length === 1 ? ONE : transB ? at(sb, 1) : n;
  return { m, n, k, lda, ldb, batch: null, aBatched: false, broadcast: null };
}

/**
 * The output's batch axes (right-aligned against each operand's, size-1 axes
 * dropped), outermost first, with each operand's stride along each, in
 * elements: the size of one of its matrices times its own batch axes further
 * in, or null where its axis is 1 and it repeats. Neighbouring axes on which
 * both operands either step or repeat alike are merged into one, so
 * `[batch, 1, t, d]` times `[h, d, e]` has two: batch (A steps, B repeats)
 * and h (the other way round).
 */
function broadcastAxes(batchA: Shape, batchB: Shape, out: Shape, matrixA: Size, matrixB: Size): BatchAxis[] {
  const axes: BatchAxis[] = [];
  let strideA = matrixA;
  let strideB = matrixB;
  let last: { a: boolean; b: boolean } | undefined;
  for (let i = 1; i <= out.length; i++) {
    const d = out[out.length - i]!;
    if (d === 1) continue;
    const stepsA = i <= batchA.length && batchA[batchA.length - i] !== 1;
    const stepsB = i <= batchB.length && batchB[batchB.length - i] !== 1;
    if (last && last.a === stepsA && last.b === stepsB) {
      const inner = axes[0]!;
      axes[0] = { ...inner, size: sizeProduct([inner.size, axisSize(d)]) };
    } else axes.unshift({ size: axisSize(d), a: stepsA ? strideA : null, b: stepsB ? strideB : null });
    last = { a: stepsA, b: stepsB };
    if (stepsA) strideA = sizeProduct([strideA, axisSize(d)]);
    if (stepsB) strideB = sizeProduct([strideB, axisSize(d)]);
  }
  return axes;
}
