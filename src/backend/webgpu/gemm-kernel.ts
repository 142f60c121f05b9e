// The body of a tiled matrix product: 16 × 16 tiles of A and B through
// workgroup memory, transposes read in place, then the epilogue (the
// elementwise chain the product absorbed) on each element before it is
// stored, rendered by the same scalar rendering as fused kernels.
import type { GradGraph, NodeId } from "../../ir/graph.ts";
import { sizeProduct, type Size } from "../../lower/size.ts";
import type { BatchAxis, GemmStep } from "../../lower/steps.ts";
import { sizeText } from "../common.ts";
import { constantRef, scalarStatements, type Leaf } from "./scalar.ts";
import { TILE, type Bindings } from "./shader.ts";

export function gemmBody(g: GradGraph, b: Bindings, s: GemmStep, training: boolean): { body: string[]; rows: string; cols: string; batch: string } {
  const { m, n, k, lda, ldb, batch, aBatched, broadcast } = s.geometry;
  const A = b.value(s.a).ref;
  const B = b.value(s.b).ref;
  const C = b.value(s.out, "read_write").ref;
  const bases = batch === null ? ["0u", "0u", "0u"] : broadcast !== null ? broadcastBases(b, broadcast) : [aBatched ? "q * M * K" : "0u", "q * K * N", "q * M * N"];
  const aAt = s.transA ? `${A}[aBase + ka * ${b.size(lda)} + row]` : `${A}[aBase + row * ${b.size(lda)} + ka]`;
  const bAt = s.transB ? `${B}[bBase + col * ${b.size(ldb)} + kb]` : `${B}[bBase + kb * ${b.size(ldb)} + col]`;
  const T = `${TILE}u`;
  const body = [
    `let M: u32 = ${b.size(m)}; let N: u32 = ${b.size(n)}; let K: u32 = ${b.size(k)};`,
    `let row: u32 = wid.y * ${T} + lid.y;`,
    `let col: u32 = wid.x * ${T} + lid.x;`,
    ...(batch !== null ? ["let q: u32 = wid.z;"] : []),
    `let aBase: u32 = ${bases[0]}; let bBase: u32 = ${bases[1]}; let cBase: u32 = ${bases[2]};`,
    "var acc: f32 = 0.0;",
    `for (var k0: u32 = 0u; k0 < K; k0 = k0 + ${T}) {`,
    "  // Each invocation loads one element of each tile; zeros past the edges.",
    "  let ka: u32 = k0 + lid.x;",
    "  var av: f32 = 0.0;",
    `  if (row < M && ka < K) { av = ${aAt}; }`,
    `  tileA[lid.y * ${T} + lid.x] = av;`,
    "  let kb: u32 = k0 + lid.y;",
    "  var bv: f32 = 0.0;",
    `  if (kb < K && col < N) { bv = ${bAt}; }`,
    `  tileB[lid.y * ${T} + lid.x] = bv;`,
    "  workgroupBarrier();",
    `  for (var t: u32 = 0u; t < ${T}; t = t + 1u) { acc = acc + tileA[lid.y * ${T} + t] * tileB[t * ${T} + lid.x]; }`,
    "  workgroupBarrier();",
    "}",
    "if (row < M && col < N) {",
    ...epilogue(g, b, s, training, (expr) => `${C}[cBase + row * N + col] = ${expr};`).map((l) => `  ${l}`),
    "}",
  ];
  return { body, rows: sizeText(m), cols: sizeText(n), batch: batch === null ? "1" : sizeText(batch) };
}

/**
 * Where the batch axes broadcast: entry q's digit along each axis (the
 * outermost needs no remainder, the innermost no division), times each
 * operand's own stride there; nothing where it repeats.
 */
function broadcastBases(b: Bindings, axes: readonly BatchAxis[]): [string, string, string] {
  // A product of sizes is one divisor: grouped, or `/` and `%` would bind to its first factor.
  const operand = (s: Size) => (s.dims.length + (s.factor !== 1 ? 1 : 0) > 1 ? `(${b.size(s)})` : b.size(s));
  const digit = (i: number): string => {
    const inner = sizeProduct(axes.slice(i + 1).map((x) => x.size));
    const quotient = inner.factor === 1 && inner.dims.length === 0 ? "q" : `(q / ${operand(inner)})`;
    return i === 0 ? quotient : `(${quotient} % ${operand(axes[i]!.size)})`;
  };
  const base = (stride: (x: BatchAxis) => Size | null) => {
    const terms = axes.flatMap((x, i) => {
      const s = stride(x);
      return s === null ? [] : [`${digit(i)} * ${b.size(s)}`];
    });
    return terms.length === 0 ? "0u" : terms.join(" + ");
  };
  return [base((x) => x.a), base((x) => x.b), "q * M * N"];
}

/** The product's value through its epilogue, then stored; a bias along the rows is read at the element's column. */
function epilogue(g: GradGraph, b: Bindings, s: GemmStep, training: boolean, store: (expr: string) => string): string[] {
  if (s.epilogue.length === 0) return [store("acc")];
  const inside = new Set<NodeId>([s.matmul, ...s.epilogue]);
  const refs = new Map<NodeId, Leaf>([[s.matmul, { text: "acc" }]]);
  for (const l of s.epilogue.flatMap((id) => g.nodes[id]!.args).filter((a) => !inside.has(a))) {
    const constant = constantRef(g, b, l);
    refs.set(l, constant !== undefined ? { text: constant } : b.element(l, "col"));
  }
  return scalarStatements(g, b, s.epilogue, refs, "(row * N + col)", training, store);
}
