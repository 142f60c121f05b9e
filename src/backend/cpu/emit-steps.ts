// The TypeScript for each step of a program: fused elementwise loops,
// matrix products through the runtime's gemm, and other ops through their
// own CPU rules (src/ops). Every step is preceded by the source line it
// computes, so the generated code reads alongside the .nn file.
import type { GradGraph, NodeId } from "../../ir/graph.ts";
import { OPS } from "../../ops/registry.ts";
import { scalarOf } from "../../ops/scalar-rule.ts";
import { toTypeScript } from "../../ops/scalar/render.ts";
import type { CpuKernelCtx, CpuValue, OpDef, OpName, Shape } from "../../ops/types.ts";
import type { Writer } from "../writer.ts";
import { sizeExpr } from "./memory.ts";
import { GEMM_SPLIT_MIN_WORK } from "./runtime/threads.ts";
import type { Step } from "./schedule.ts";

/** A number as an exact, readable TypeScript literal. */
export function num(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "Infinity" : "-Infinity";
  const s = Object.is(v, -0) ? "-0" : String(v);
  return v < 0 || Object.is(v, -0) ? `(${s})` : s;
}

export function dimExpr(d: string | number): string {
  return typeof d === "number" ? String(d) : `dim_${d}`;
}

export interface StepContext {
  readonly g: GradGraph;
  /** Where a value lives: the name of its offset constant. */
  place(id: NodeId): string;
  readonly training: boolean;
  /** Whether the module has a gemm team (`team`) to share large products with. */
  readonly threads: boolean;
  /** Registers a constant made once at createModel from an expression; returns its name. */
  table(init: string): string;
}

function cpuRule(op: OpName) {
  const def = OPS[op] as OpDef<OpName>;
  return "cpu" in def ? def.cpu : undefined;
}

export function valueOf(c: StepContext, id: NodeId): CpuValue {
  const shape = c.g.shapes[id]!;
  return { arr: c.g.dtypes[id] === "i32" ? "i32" : "f32", off: c.place(id), shape: shape.map(dimExpr), size: sizeExpr(shape) };
}

/** The source line a step computes, for the comment above it. */
export function sourceComment(g: GradGraph, id: NodeId): string {
  const n = g.nodes[id]!;
  const { line } = g.file.lineCol(n.span.start);
  const text = g.file.lineText(line).replace(/#.*$/, "").trim();
  const base = g.file.path.split(/[\\/]/).pop();
  const what = id >= g.forwardCount ? "backward of " : "";
  return `${base}:${line}  ${what}${text}`;
}

function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function emitFused(w: Writer, c: StepContext, s: Extract<Step, { kind: "fused" }>): void {
  const g = c.g;
  const outShape = g.shapes[s.out]!;
  const inside = new Set(s.nodes);
  const leaves = [...new Set(s.nodes.flatMap((n) => g.nodes[n]!.args).filter((a) => !inside.has(a)))];
  const stored = leaves.filter((l) => g.nodes[l]!.op !== "const" && g.nodes[l]!.op !== "dimval");
  const flat = stored.every((l) => sameShape(g.shapes[l]!, outShape) || g.shapes[l]!.every((d) => d === 1));
  const rank = outShape.length;
  const index = (l: NodeId): string => {
    const ls = g.shapes[l]!;
    if (ls.every((d) => d === 1)) return "0";
    if (flat) return "i";
    // Broadcast: the leaf's own strides over the output's loop indices (0 where it has size 1).
    const terms: string[] = [];
    let stride: string[] = [];
    for (let k = ls.length - 1; k >= 0; k--) {
      const ok = k + (rank - ls.length);
      if (ls[k] !== 1) terms.push([`i${ok}`, ...stride].join(" * "));
      if (ls[k] !== 1) stride = [...stride, dimExpr(ls[k]!)];
    }
    return terms.join(" + ") || "0";
  };
  const ref = (a: NodeId): string => {
    const n = g.nodes[a]!;
    if (inside.has(a)) return `v${a}`;
    if (n.op === "const") return num(n.attrs.value);
    if (n.op === "dimval") return dimExpr(n.attrs.dim);
    const idx = index(a);
    return `${valueOf(c, a).arr}[${c.place(a)}${idx === "0" ? "" : ` + ${idx}`}]`;
  };
  // Each node's scalar expression, rendered once; its prelude runs before the loop.
  const rendered = s.nodes.map((id) => {
    const n = g.nodes[id]!;
    const e = scalarOf(n, c.training);
    if (e === undefined) throw new Error(`internal: ${n.op} is not a scalar op`);
    return { id, ...toTypeScript(e, n.args.map(ref), { id, i: "i" }) };
  });
  const body = () => {
    for (const r of rendered) {
      w.lines_(r.stmts);
      if (r.id === s.out) w.line(`f32[${c.place(r.id)} + i] = ${r.value};`);
      else w.line(`const v${r.id} = ${r.value};`);
    }
  };
  for (const r of rendered) w.lines_(r.prelude);
  if (flat || rank === 0) {
    w.block(`for (let i = 0; i < ${sizeExpr(outShape)}; i++) {`, body);
    return;
  }
  // Nested loops over the output's axes; `i` counts elements in order.
  const open = (k: number): void => {
    if (k === rank) {
      body();
      w.line("i++;");
      return;
    }
    w.block(`for (let i${k} = 0; i${k} < ${dimExpr(outShape[k]!)}; i${k}++) {`, () => open(k + 1));
  };
  w.block("{", () => {
    w.line("let i = 0;");
    open(0);
  });
}

/** m, n and k of a gemm step's product(s) as expressions: one product, or one per batch entry of B's leading axes. */
function gemmSizes(g: GradGraph, s: Extract<Step, { kind: "gemm" }>): { m: string; n: string; k: string } {
  const sa = g.shapes[s.a]!.map(dimExpr);
  const sb = g.shapes[s.b]!.map(dimExpr);
  if (sb.length > 2) return { m: sa.length === 1 ? "1" : sa[sa.length - 2]!, n: sb[sb.length - 1]!, k: sb[sb.length - 2]! };
  const m = sa.length === 1 ? "1" : s.transA ? sa[1]! : mul(sa.slice(0, -1));
  const k = sa.length === 1 ? sa[0]! : s.transA ? sa[0]! : sa[sa.length - 1]!;
  const n = sb.length === 1 ? "1" : s.transB ? sb[0]! : sb[sb.length - 1]!;
  return { m, n, k };
}

const mul = (xs: readonly string[]) => (xs.length === 0 ? "1" : xs.join(" * "));

/**
 * Whether a gemm step may be worth sharing among threads: unless its sizes
 * are all numbers whose product is below the runtime's threshold, it goes
 * through gemmSplit, which decides at run time.
 */
export function mayShareGemm(g: GradGraph, s: Extract<Step, { kind: "gemm" }>): boolean {
  const { m, n, k } = gemmSizes(g, s);
  const sizes = [m, n, k].map((x) => (/^\d+(?: \* \d+)*$/.test(x) ? x.split(" * ").reduce((a, b) => a * Number(b), 1) : NaN));
  return !sizes.every((x) => !Number.isNaN(x)) || sizes[0]! * sizes[1]! * sizes[2]! >= GEMM_SPLIT_MIN_WORK;
}

/** The matrix product through gemm: vectors as 1-row/1-column matrices, leading axes folded or looped. */
function emitGemm(w: Writer, c: StepContext, s: Extract<Step, { kind: "gemm" }>): void {
  const g = c.g;
  const sa = g.shapes[s.a]!.map(dimExpr);
  const sb = g.shapes[s.b]!.map(dimExpr);
  const so = g.shapes[s.matmul]!;
  const A = valueOf(c, s.a);
  const B = valueOf(c, s.b);
  const bias = s.bias !== undefined ? valueOf(c, s.bias) : undefined;
  const epilogue = `${bias ? `f32, ${bias.off}` : "null, 0"}, ${s.act}`;
  const out = c.place(s.out);
  const call = c.threads && mayShareGemm(g, s) ? "gemmSplit(team, ws.gemm" : "gemm(ws.gemm";
  const { m, n, k } = gemmSizes(g, s);
  if (sb.length <= 2) {
    // Stored operand shapes, with transposes read in place; A's leading axes (if any) fold into its rows: one product.
    const lda = s.transA ? sa[1]! : k;
    const ldb = sb.length === 1 ? "1" : s.transB ? sb[1]! : n;
    w.line(`${call}, ${s.transA}, ${s.transB}, ${m}, ${n}, ${k}, f32, ${A.off}, ${lda}, f32, ${B.off}, ${ldb}, f32, ${out}, ${n}, false, ${epilogue});`);
    return;
  }
  // B has leading axes: one product per batch entry (A shared, or batched alike).
  const batch = mul(so.slice(0, so.length - (sa.length >= 2 ? 2 : 1)).map(dimExpr));
  const aBatched = sa.length > 2;
  w.block(`for (let q = 0; q < ${batch}; q++) {`, () => {
    w.line(`${call}, false, false, ${m}, ${n}, ${k}, f32, ${A.off}${aBatched ? ` + q * ${m} * ${k}` : ""}, ${k}, f32, ${B.off} + q * ${k} * ${n}, ${n}, f32, ${out} + q * ${m} * ${n}, ${n}, false, ${epilogue});`);
  });
}

export function emitStep(w: Writer, c: StepContext, s: Step): void {
  const g = c.g;
  switch (s.kind) {
    case "fused":
      emitFused(w, c, s);
      return;
    case "gemm":
      emitGemm(w, c, s);
      return;
    case "kernel": {
      const n = g.nodes[s.node]!;
      const rule = cpuRule(n.op);
      if (typeof rule !== "object" || !("kernel" in rule)) throw new Error(`internal: ${n.op} has no CPU kernel`);
      const ctx: CpuKernelCtx<OpName> = {
        out: valueOf(c, s.node),
        args: n.args.map((a) => valueOf(c, a)),
        attrs: n.attrs as never,
        training: c.training,
        num,
        table: (init) => c.table(init),
      };
      w.lines_(rule.kernel(ctx));
    }
  }
}
