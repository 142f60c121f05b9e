// The geometry of a matrix product as both backends run it: vectors as
// 1-row/1-column matrices, A's leading axes folded into its rows, or, where
// B has leading axes, one product per batch entry.
import type { GradGraph, NodeId } from "../ir/graph.ts";
import { axisSize, ONE, shapeSize, sizeProduct } from "./size.ts";
import type { GemmGeometry } from "./steps.ts";

export function gemmGeometry(g: GradGraph, a: NodeId, b: NodeId, transA: boolean, transB: boolean, matmul: NodeId): GemmGeometry {
  const sa = g.shapes[a]!;
  const sb = g.shapes[b]!;
  const at = (s: typeof sa, i: number) => axisSize(s[i < 0 ? s.length + i : i]!);
  if (sb.length > 2) {
    const so = g.shapes[matmul]!;
    const m = sa.length === 1 ? ONE : at(sa, -2);
    const k = at(sb, -2);
    const n = at(sb, -1);
    const batch = shapeSize(so.slice(0, so.length - (sa.length >= 2 ? 2 : 1)));
    return { m, n, k, lda: k, ldb: n, batch, aBatched: sa.length > 2 };
  }
  const m = sa.length === 1 ? ONE : transA ? at(sa, 1) : sizeProduct(sa.slice(0, -1).map(axisSize));
  const k = sa.length === 1 ? at(sa, 0) : transA ? at(sa, 0) : at(sa, -1);
  const n = sb.length === 1 ? ONE : transB ? at(sb, 0) : at(sb, -1);
  const lda = transA ? at(sa, 1) : k;
  const ldb = sb.length === 1 ? ONE : transB ? at(sb, 1) : n;
  return { m, n, k, lda, ldb, batch: null, aBatched: false };
}
