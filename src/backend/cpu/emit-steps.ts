// The TypeScript for each step of a lowered program: fused elementwise
// loops, matrix products through the runtime's gemm followed by their
// epilogue loop, and other ops through their own CPU rules (src/ops).
import type { GradGraph, NodeId } from "../../ir/graph.ts";
import type { Program } from "../../lower/lower.ts";
import { isTemp, placeName, type Place } from "../../lower/places.ts";
import { constantSize, type Size } from "../../lower/size.ts";
import type { BatchAxis, GemmStep, Step } from "../../lower/steps.ts";
import { OPS } from "../../ops/registry.ts";
import type { CpuKernelCtx, CpuValue, OpDef, OpName, Shape } from "../../ops/types.ts";
import { dimExpr, num, shapeSizeText, sizeText } from "../common.ts";
import type { Writer } from "../writer.ts";
import { GEMM_SPLIT_MIN_WORK } from "./runtime/threads.ts";
import { scalarCode } from "./scalar.ts";
import { vectorLoop } from "./emit-vector.ts";

export interface StepContext {
  readonly g: GradGraph;
  readonly program: Program;
  /** Whether the module has a gemm team (`team`) to share large products with. */
  readonly threads: boolean;
  /** Registers a constant made once at createModel from an expression; returns its name. */
  table(init: string): string;
  /**
   * The index of a number (an expression) among the elementwise kernels'
   * constants, added if new; -1 when there is no room: the loop stays
   * JavaScript. Absent: the module runs its fused loops in JavaScript only.
   */
  vectorConstant?(value: string): number;
}

/** The offset constant of a place: temporaries are per program (`at0` is program a's temporary 0). */
export const offsetName = (p: Program, place: Place): string => (isTemp(place) ? `${"abcd"[p.index]}${placeName(place)}` : placeName(place));

/** Where a value lives in a program: the name of its offset constant. */
export function offsetOf(c: StepContext, id: NodeId): string {
  const at = c.program.place.get(id);
  if (at === undefined) throw new Error(`internal: no memory for node ${id}`);
  return offsetName(c.program, at);
}

export function valueOf(c: StepContext, id: NodeId): CpuValue {
  const shape = c.g.shapes[id]!;
  return { arr: c.g.dtypes[id] === "i32" ? "i32" : "f32", off: offsetOf(c, id), shape: shape.map(dimExpr), size: shapeSizeText(shape) };
}

const sameShape = (a: Shape, b: Shape): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * One loop computing `nodes` (scalar ops, in order) and storing the last
 * into `out`'s place. `product`, for a matrix product's epilogue, is a value
 * already in that place, read and overwritten element by element.
 */
function emitLoop(w: Writer, c: StepContext, nodes: readonly NodeId[], out: NodeId, product?: NodeId): void {
  const g = c.g;
  const outShape = g.shapes[out]!;
  const inside = new Set(nodes);
  const leaves = [...new Set(nodes.flatMap((n) => g.nodes[n]!.args).filter((a) => !inside.has(a)))];
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
    if (a === product) return `f32[${offsetOf(c, out)} + i]`;
    if (n.op === "const") return num(n.attrs.value);
    if (n.op === "dimval") return dimExpr(n.attrs.dim);
    const idx = index(a);
    return `${valueOf(c, a).arr}[${offsetOf(c, a)}${idx === "0" ? "" : ` + ${idx}`}]`;
  };
  // Each node's expression, rendered once; its prelude (a dropout key) runs before the loop.
  const rendered = nodes.map((id) => ({ id, ...scalarCode(g, id, g.nodes[id]!.args.map(ref), "i", c.program.training) }));
  const body = () => {
    for (const r of rendered) {
      w.lines_(r.stmts);
      w.line(r.id === out ? `f32[${offsetOf(c, r.id)} + i] = ${r.value};` : `const v${r.id} = ${r.value};`);
    }
  };
  for (const r of rendered) w.lines_(r.prelude);
  const scalarLoop = (): void => {
    if (flat || rank === 0) {
      w.block(`for (let i = 0; i < ${shapeSizeText(outShape)}; i++) {`, body);
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
  };
  // On WebAssembly SIMD where the kernels can run the formula (emit-vector.ts); the JavaScript loop otherwise.
  const vector = c.vectorConstant === undefined ? null : vectorLoop(c, nodes, out, product);
  if (vector === null) return scalarLoop();
  w.block(`if (${vector.condition}) {`, () => w.lines_(vector.lines), "} else {");
  w.indent(scalarLoop);
  w.line("}");
}

/**
 * Whether a product may be worth sharing among threads: unless its sizes
 * are all numbers whose product is below the runtime's threshold, it goes
 * through gemmSplit, which decides at run time.
 */
export function mayShareGemm(s: GemmStep): boolean {
  const { m, n, k } = s.geometry;
  const sizes = [m, n, k].map(constantSize);
  return sizes.some((x) => x === undefined) || sizes[0]! * sizes[1]! * sizes[2]! >= GEMM_SPLIT_MIN_WORK;
}

const trans = (t: boolean) => (t ? "TRANSPOSED" : "AS_STORED");

/** The values a step reads (its operands and its loop's leaves). */
function stepReads(g: GradGraph, s: Step): NodeId[] {
  if (s.kind === "gemm") return [s.a, s.b, ...s.epilogue.flatMap((n) => g.nodes[n]!.args)];
  if (s.kind === "fused") return s.nodes.flatMap((n) => g.nodes[n]!.args);
  return [...g.nodes[s.node]!.args];
}

const folds = new WeakMap<Program, ReadonlyMap<Step, number>>();

/**
 * The products of the training program into which a plain SGD step can be
 * folded, each with the index of its param: a product that writes a weight's
 * gradient into its buffer (no epilogue, one product), where nothing after
 * it in the step reads the weight or the gradient, and the weight is no
 * operand of it. With a plain SGD step (no momentum, no weight decay: the
 * runtime's sgdFoldRate) trainStep runs it as W = W − lr·(A·B), one pass,
 * instead of writing the gradient and then updating W from it; gradients()
 * and every other optimizer run it as written. Running statistics
 * (batchnorm), which no optimizer updates, are never folded.
 */
export function sgdFolds(g: GradGraph, train: Program): ReadonlyMap<Step, number> {
  const known = folds.get(train);
  if (known !== undefined) return known;
  const stats = new Set((g.runningStats ?? []).map((r) => r.name));
  const result = new Map<Step, number>();
  const placeKey = (id: NodeId): string => {
    const p = train.place.get(id);
    return p === undefined ? "" : `${p.kind}${p.index}`;
  };
  // Where each place is read last: a fold must come after every read of its weight and gradient.
  const lastRead = new Map<string, number>();
  train.steps.forEach((s, i) => stepReads(g, s).forEach((r) => lastRead.set(placeKey(r), i)));
  train.steps.forEach((s, i) => {
    const out = train.place.get(s.out);
    if (s.kind !== "gemm" || s.geometry.batch !== null || s.epilogue.length > 0 || out?.kind !== "grad") return;
    const k = out.index;
    if (stats.has(g.params[k]!.name)) return;
    const later = (key: string) => (lastRead.get(key) ?? -1) > i;
    const weight = `param${k}`;
    if (later(weight) || later(`grad${k}`) || placeKey(s.a) === weight || placeKey(s.b) === weight) return;
    result.set(s, k);
  });
  folds.set(train, result);
  return result;
}

/** The matrix product through gemm (one, or one per batch entry), then its epilogue loop over the result in place. */
function emitGemm(w: Writer, c: StepContext, s: GemmStep): void {
  const { m, n, k, lda, ldb, batch, aBatched, broadcast } = s.geometry;
  const [M, N, K] = [m, n, k].map(sizeText);
  const A = offsetOf(c, s.a);
  const B = offsetOf(c, s.b);
  const C = offsetOf(c, s.out);
  const call = c.threads && mayShareGemm(s) ? "gemmSplit(team, ws.gemm" : "gemm(ws.gemm";
  const product = (a: string, b: string, out: string, mode = "OVERWRITE") => `${call}, ${trans(s.transA)}, ${trans(s.transB)}, ${M}, ${N}, ${K}, f32, ${a}, ${sizeText(lda)}, f32, ${b}, ${sizeText(ldb)}, f32, ${out}, ${N}, ${mode});`;
  const fold = c.program.kind === "train" ? sgdFolds(c.g, c.program).get(s) : undefined;
  if (fold !== undefined) {
    // A plain SGD step folded into the weight's last product (sgdFolds): W = W − lr·(A·B).
    w.line(`if (sgdRate !== 0) ${product(A, B, `p${fold}`, "ACCUMULATE, -sgdRate")}`);
    w.line(`else ${product(A, B, C)}`);
  } else if (batch === null) w.line(product(A, B, C));
  else if (broadcast !== null) emitBroadcastBatch(w, broadcast, M, N, { A, B, C }, product);
  else {
    w.block(`for (let q = 0; q < ${sizeText(batch)}; q++) {`, () => {
      w.line(product(aBatched ? `${A} + q * ${M} * ${K}` : A, `${B} + q * ${K} * ${N}`, `${C} + q * ${M} * ${N}`));
    });
  }
  if (s.epilogue.length > 0) emitLoop(w, c, s.epilogue, s.out, s.matmul);
}

/**
 * A batch whose operands broadcast: one loop per batch axis, outermost first;
 * each operand steps by its own stride along an axis, or stays where it
 * repeats, and the output's entry is the loop counters read as digits.
 */
function emitBroadcastBatch(w: Writer, axes: readonly BatchAxis[], M: string, N: string, at: { A: string; B: string; C: string }, product: (a: string, b: string, out: string) => string): void {
  const offset = (base: string, strides: readonly (Size | null)[]) => [base, ...strides.flatMap((s, i) => (s === null ? [] : [`q${i} * ${sizeText(s)}`]))].join(" + ");
  let entry = "";
  axes.forEach((x, i) => (entry = i === 0 ? "q0" : `${i === 1 ? entry : `(${entry})`} * ${sizeText(x.size)} + q${i}`));
  const body = (i: number): void => {
    if (i === axes.length) {
      const out = axes.length === 0 ? at.C : `${at.C} + ${axes.length === 1 ? entry : `(${entry})`} * ${M} * ${N}`;
      w.line(product(offset(at.A, axes.map((x) => x.a)), offset(at.B, axes.map((x) => x.b)), out));
    } else w.block(`for (let q${i} = 0; q${i} < ${sizeText(axes[i]!.size)}; q${i}++) {`, () => body(i + 1));
  };
  w.comment(`The batch axes broadcast: ${axes.map((x, i) => `q${i} over ${sizeText(x.size)}${x.a === null ? " (A repeats)" : x.b === null ? " (B repeats)" : ""}`).join(", ")}.`);
  body(0);
}

function emitKernel(w: Writer, c: StepContext, node: NodeId): void {
  const n = c.g.nodes[node]!;
  const def = OPS[n.op] as OpDef<OpName>;
  const rule = "cpu" in def ? def.cpu : undefined;
  if (typeof rule !== "object" || !("kernel" in rule)) throw new Error(`internal: ${n.op} has no CPU kernel`);
  const ctx: CpuKernelCtx<OpName> = {
    out: valueOf(c, node),
    args: n.args.map((a) => valueOf(c, a)),
    attrs: n.attrs as never,
    training: c.program.training,
    num,
    table: (init) => c.table(init),
    vec: c.vectorConstant === undefined ? "null" : "vec",
  };
  w.lines_(rule.kernel(ctx));
}

export function emitStep(w: Writer, c: StepContext, s: Step): void {
  switch (s.kind) {
    case "fused":
      return emitLoop(w, c, s.nodes, s.out);
    case "gemm":
      return emitGemm(w, c, s);
    case "kernel":
      return emitKernel(w, c, s.node);
  }
}
