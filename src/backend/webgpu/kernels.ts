// One WGSL compute shader per step of a program (src/backend/cpu/schedule.ts):
// fused elementwise chains from the ops' scalar rules, tiled matrix products
// with their bias + activation epilogue and transposes read in place, and
// every other op through its own `wgsl` kernel rule (src/ops). Each shader
// names its buffers after the user's values and starts with the source line
// it computes. Sizes are u32 pipeline-overridable constants `dim_NAME`, set
// once at createModel, so one shader text serves every batch size.
import type { GradGraph, NodeId } from "../../ir/graph.ts";
import { OPS } from "../../ops/registry.ts";
import { scalarOf } from "../../ops/scalar-rule.ts";
import { toWgsl } from "../../ops/scalar/render.ts";
import type { OpDef, OpName, Shape, WgslKernel, WgslKernelCtx, WgslValue } from "../../ops/types.ts";
import { product } from "../../ops/cpu-util.ts";
import { WGSL_ROW_THREADS, wnum } from "../../ops/wgsl-util.ts";
import { dimExpr, sourceComment } from "../cpu/emit-steps.ts";
import { sizeExpr } from "../cpu/memory.ts";
import { ACTIVATIONS, type Step } from "../cpu/schedule.ts";
import { libraryFor } from "./wgsl-lib.ts";

/** Invocations per workgroup of a "threads" kernel. */
export const THREADS_PER_GROUP = 64;
/** The side of a matrix product's tile: 16 × 16 invocations, each one output. */
export const TILE = 16;

export interface Binding {
  /** The host buffer bound: a persistent buffer (x0, p0, g0, …), a temporary (t0, i0), or the uniforms `run`/`hyper`. */
  readonly buffer: string;
  readonly access: "read" | "read_write" | "uniform";
}

export type Dispatch =
  /** One invocation per element: ⌈count / 64⌉ workgroups, in two dimensions past the per-dimension limit. */
  | { readonly kind: "threads"; readonly count: string }
  /** One workgroup per row. */
  | { readonly kind: "rows"; readonly count: string }
  /** Tiles of a matrix product: ⌈cols/16⌉ × ⌈rows/16⌉ × batch. */
  | { readonly kind: "tiles"; readonly rows: string; readonly cols: string; readonly batch: string };

export interface Kernel {
  /** What it computes, for comments and diagnostics ("tanh(l0 W0)"). */
  readonly what: string;
  /** The node whose source line it computes (its span, for diagnostics). */
  readonly node: NodeId;
  readonly wgsl: string;
  readonly bindings: readonly Binding[];
  readonly dispatch: Dispatch;
  /** The dims the shader declares as overridable constants. */
  readonly dims: readonly string[];
  readonly workgroupSize: readonly [number, number];
  readonly workgroupBytes: number;
}

function wgslRule(op: OpName) {
  const def = OPS[op] as OpDef<OpName>;
  return "wgsl" in def ? def.wgsl : undefined;
}

/** A WGSL name for a value: the user's, prefixed so it cannot meet a WGSL keyword or a kernel's locals. */
export function valueName(g: GradGraph, id: NodeId): string {
  const n = g.nodes[id]!;
  if (n.name !== undefined && /^[A-Za-z_][A-Za-z0-9_]*$/.test(n.name)) return `v_${n.name}`;
  return `t_${id}`;
}

/** Binds the buffers a step touches, once each, and names them in WGSL. */
class Bindings {
  readonly list: { buffer: string; access: "read" | "read_write"; name: string; type: "f32" | "i32" }[] = [];
  constructor(
    private readonly g: GradGraph,
    private readonly place: (id: NodeId) => string,
  ) {}
  value(id: NodeId, access: "read" | "read_write" = "read"): WgslValue {
    const g = this.g;
    const buffer = this.place(id);
    let b = this.list.find((x) => x.buffer === buffer);
    if (!b) {
      let name = valueName(g, id);
      while (this.list.some((x) => x.name === name)) name = `${name}_${id}`;
      b = { buffer, access, name, type: g.dtypes[id] === "i32" ? "i32" : "f32" };
      this.list.push(b);
    } else if (access === "read_write") b.access = "read_write";
    const shape = g.shapes[id]!;
    return { ref: b.name, type: b.type, shape: shape.map(dimExpr), size: sizeExpr(shape) };
  }
}

function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** The text after `// ` for a step: its file and line, and that line. */
export function stepComment(g: GradGraph, id: NodeId): string {
  return sourceComment(g, id).replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, " ");
}

/** Assembles a shader: header comment, uniforms, overrides, storage bindings, library, entry point. */
function shader(g: GradGraph, node: NodeId, what: string, b: Bindings, body: readonly string[], uses: Iterable<string>, mode: "threads" | "rows" | "tiles", count: string): { wgsl: string; bindings: Binding[]; dims: string[] } {
  const lib = libraryFor(uses);
  const code = [...lib, ...body].join("\n").replace(/\/\/.*$/gm, "");
  const usesRun = /\brun\./.test(code);
  const dims = [...new Set([...`${code} ${count}`.matchAll(/\bdim_([A-Za-z0-9_]+)\b/g)].map((m) => m[1]!))].sort();
  const lines: string[] = [`// ${stepComment(g, node)}`, `// ${what}`, ""];
  for (const d of dims) lines.push(`override dim_${d}: u32;`);
  const bindings: Binding[] = [];
  // Only buffers the code reads or writes: a layout made from the shader leaves the others out (dropout_mask never reads x).
  b.list.filter((x) => new RegExp(`\\b${x.name}\\b`).test(code)).forEach((x, k) => {
    lines.push(`@group(0) @binding(${k}) var<storage, ${x.access}> ${x.name}: array<${x.type}>;`);
    bindings.push({ buffer: x.buffer, access: x.access });
  });
  if (usesRun) {
    lines.push("struct Run { seed: u32, step: u32 }");
    lines.push(`@group(0) @binding(${bindings.length}) var<uniform> run: Run;`);
    bindings.push({ buffer: "run", access: "uniform" });
  }
  if (mode === "rows" && /\bscratch\b/.test(code)) lines.push(`var<workgroup> scratch: array<f32, ${WGSL_ROW_THREADS}>;`);
  lines.push("");
  for (const f of lib) lines.push(f, "");
  if (mode === "threads") {
    lines.push(`@compute @workgroup_size(${THREADS_PER_GROUP})`);
    lines.push("fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {");
    lines.push(`  let i: u32 = gid.x + gid.y * groups.x * ${THREADS_PER_GROUP}u;`);
    lines.push(`  if (i >= ${count}) { return; }`);
  } else if (mode === "rows") {
    lines.push(`@compute @workgroup_size(${WGSL_ROW_THREADS})`);
    lines.push("fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) lid: u32) {");
    lines.push("  let row: u32 = wid.x + wid.y * groups.x;");
    lines.push(`  if (row >= ${count}) { return; }`);
  } else {
    lines.push(`var<workgroup> tileA: array<f32, ${TILE * TILE}>;`, `var<workgroup> tileB: array<f32, ${TILE * TILE}>;`, "");
    lines.push(`@compute @workgroup_size(${TILE}, ${TILE})`);
    lines.push("fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {");
  }
  for (const l of body) lines.push(`  ${l}`);
  lines.push("}");
  return { wgsl: lines.join("\n") + "\n", bindings, dims };
}

/** Storage buffers WebGPU guarantees per shader stage (maxStorageBuffersPerShaderStage); fused chains are split to fit. */
export const MAX_STORAGE_BUFFERS = 8;

/**
 * A fused chain as one kernel, or, when its inputs need more storage
 * buffers than WebGPU guarantees, as several: each part stores its last
 * value in the output buffer and the next part reads it from there (every
 * node of a chain has the output's shape, so element i stays in invocation
 * i), recomputing any other value it needs from the chain's inputs.
 */
function fusedKernels(g: GradGraph, s: Extract<Step, { kind: "fused" }>, place: (id: NodeId) => string, training: boolean): Kernel[] {
  const inside = new Set(s.nodes);
  const stored = (a: NodeId) => !inside.has(a) && g.nodes[a]!.op !== "const" && g.nodes[a]!.op !== "dimval";
  /** The nodes a part must compute to produce `nodes`, given `carried` (already in the output buffer). */
  const closure = (nodes: readonly NodeId[], carried: NodeId | undefined): NodeId[] => {
    const need = new Set<NodeId>();
    const visit = (id: NodeId) => {
      if (need.has(id) || id === carried || !inside.has(id)) return;
      need.add(id);
      g.nodes[id]!.args.forEach(visit);
    };
    nodes.forEach(visit);
    return s.nodes.filter((n) => need.has(n));
  };
  const buffers = (nodes: readonly NodeId[]) => new Set([place(s.out), ...nodes.flatMap((n) => g.nodes[n]!.args.filter(stored).map(place))]).size;
  const parts: { nodes: NodeId[]; carried: NodeId | undefined }[] = [];
  let carried: NodeId | undefined;
  let from = 0;
  while (from < s.nodes.length) {
    let to = from + 1;
    while (to < s.nodes.length && buffers(closure(s.nodes.slice(from, to + 1), carried)) <= MAX_STORAGE_BUFFERS) to++;
    const last = s.nodes[to - 1]!;
    parts.push({ nodes: closure([last], carried), carried });
    carried = last;
    from = to;
  }
  return parts.map((p, k) => fusedPart(g, s, p.nodes, p.carried, place, training, parts.length > 1 ? ` (part ${k + 1} of ${parts.length})` : ""));
}

function fusedPart(g: GradGraph, s: Extract<Step, { kind: "fused" }>, nodes: readonly NodeId[], carried: NodeId | undefined, place: (id: NodeId) => string, training: boolean, part: string): Kernel {
  const outShape = g.shapes[s.out]!;
  const b = new Bindings(g, place);
  const inside = new Set(nodes);
  const target = nodes[nodes.length - 1]!;
  const leaves = [...new Set(nodes.flatMap((n) => g.nodes[n]!.args).filter((a) => !inside.has(a) && a !== carried))];
  const out = b.value(s.out, "read_write");
  const dims = outShape.map(dimExpr);
  const body: string[] = [];
  let coordsDone = false;
  const index = (l: NodeId): string => {
    const ls = g.shapes[l]!;
    if (ls.every((d) => d === 1)) return "0u";
    if (sameShape(ls, outShape)) return "i";
    // Broadcast: the leaf's own strides over the output's coordinates (none where it has size 1).
    if (!coordsDone) {
      coordsDone = true;
      dims.forEach((_, k) => {
        const inner = product(dims.slice(k + 1));
        const q = inner === "1" ? "i" : `i / (${inner})`;
        body.push(`let c${k}: u32 = ${k === 0 ? q : `(${q}) % ${dims[k]}`};`);
      });
    }
    const rank = outShape.length;
    const terms: string[] = [];
    let stride: string[] = [];
    for (let k = ls.length - 1; k >= 0; k--) {
      if (ls[k] === 1) continue;
      terms.push([`c${k + (rank - ls.length)}`, ...stride].join(" * "));
      stride = [...stride, dimExpr(ls[k]!)];
    }
    return terms.join(" + ") || "0u";
  };
  const refs = new Map<NodeId, string>();
  if (carried !== undefined) refs.set(carried, `${out.ref}[i]`); // the previous part's value
  for (const l of leaves) {
    const n = g.nodes[l]!;
    if (n.op === "const") refs.set(l, wnum(n.attrs.value));
    else if (n.op === "dimval") refs.set(l, `f32(${dimExpr(n.attrs.dim)})`);
    else refs.set(l, `${b.value(l).ref}[${index(l)}]`);
  }
  // Each node's scalar expression; the preludes (dropout keys) come first.
  const rendered = nodes.map((id) => {
    const n = g.nodes[id]!;
    const e = scalarOf(n, training);
    if (e === undefined) throw new Error(`internal: ${n.op} is not a scalar op`);
    return { id, ...toWgsl(e, n.args.map((a) => refs.get(a) ?? `e${a}`), { id, i: "i" }) };
  });
  const uses = new Set(rendered.flatMap((r) => r.uses));
  for (const r of rendered) body.push(...r.prelude);
  const names = nodes.map((id) => g.nodes[id]!.op);
  for (const r of rendered) {
    body.push(...r.stmts);
    if (r.id === target) body.push(`${out.ref}[i] = ${r.value};`);
    else body.push(`let e${r.id}: f32 = ${r.value};`);
  }
  const count = sizeExpr(outShape);
  const what = `fused elementwise: ${names.join(", ")}${part}`;
  return { what, node: s.out, ...shader(g, s.out, what, b, body, uses, "threads", count), dispatch: { kind: "threads", count }, workgroupSize: [THREADS_PER_GROUP, 1], workgroupBytes: 0 };
}

function gemmKernel(g: GradGraph, s: Extract<Step, { kind: "gemm" }>, place: (id: NodeId) => string): Kernel {
  const b = new Bindings(g, place);
  const sa = g.shapes[s.a]!.map(dimExpr);
  const sb = g.shapes[s.b]!.map(dimExpr);
  const so = g.shapes[s.matmul]!;
  const A = b.value(s.a);
  const B = b.value(s.b);
  const bias = s.bias !== undefined ? b.value(s.bias) : undefined;
  const C = b.value(s.out, "read_write");
  let m: string, n: string, k: string, lda: string, ldb: string, batch: string;
  let bases: [string, string, string];
  if (sb.length <= 2) {
    // A's leading axes (if any) fold into its rows: one product.
    [m, k] = sa.length === 1 ? ["1", sa[0]!] : s.transA ? [sa[1]!, sa[0]!] : [product(sa.slice(0, -1)), sa[sa.length - 1]!];
    n = sb.length === 1 ? "1" : s.transB ? sb[0]! : sb[sb.length - 1]!;
    lda = s.transA ? sa[1]! : k;
    ldb = sb.length === 1 ? "1" : s.transB ? sb[1]! : n;
    batch = "1";
    bases = ["0u", "0u", "0u"];
  } else {
    // B has leading axes: one product per batch entry (workgroup z), A shared or batched alike.
    batch = product(so.slice(0, so.length - (sa.length >= 2 ? 2 : 1)).map(dimExpr));
    m = sa.length === 1 ? "1" : sa[sa.length - 2]!;
    k = sb[sb.length - 2]!;
    n = sb[sb.length - 1]!;
    lda = k;
    ldb = n;
    bases = [sa.length > 2 ? "q * M * K" : "0u", "q * K * N", "q * M * N"];
  }
  const aAt = s.transA ? `${A.ref}[aBase + ka * ${lda} + row]` : `${A.ref}[aBase + row * ${lda} + ka]`;
  const bAt = s.transB ? `${B.ref}[bBase + col * ${ldb} + kb]` : `${B.ref}[bBase + kb * ${ldb} + col]`;
  const act = Object.entries(ACTIVATIONS).find(([, v]) => v === s.act)?.[0];
  const epilogue: string[] = [];
  if (bias) epilogue.push(`v = v + ${bias.ref}[col];`);
  // The activation's own scalar expression, as in a fused loop: one formula whether fused or not.
  const activation = act !== undefined ? toWgsl(scalarOf({ op: act as OpName, attrs: {} }, false)!, ["v"], { id: s.out, i: "col" }) : undefined;
  if (activation) epilogue.push(...activation.stmts, `v = ${activation.value};`);
  const T = `${TILE}u`;
  const body = [
    `let M: u32 = ${m}; let N: u32 = ${n}; let K: u32 = ${k};`,
    `let row: u32 = wid.y * ${T} + lid.y;`,
    `let col: u32 = wid.x * ${T} + lid.x;`,
    ...(batch !== "1" ? ["let q: u32 = wid.z;"] : []),
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
    "  var v: f32 = acc;",
    ...epilogue.map((l) => `  ${l}`),
    `  ${C.ref}[cBase + row * N + col] = v;`,
    "}",
  ];
  const parts = [`matrix product${s.transA ? " (A transposed in place)" : ""}${s.transB ? " (B transposed in place)" : ""}`, ...(bias ? ["+ bias"] : []), ...(act ? [act] : [])];
  const what = parts.join(" ");
  return {
    what,
    node: s.out,
    ...shader(g, s.out, what, b, body, activation?.uses ?? [], "tiles", "1"),
    dispatch: { kind: "tiles", rows: m, cols: n, batch },
    workgroupSize: [TILE, TILE],
    workgroupBytes: 2 * TILE * TILE * 4,
  };
}

function opKernel(g: GradGraph, s: Extract<Step, { kind: "kernel" }>, place: (id: NodeId) => string, training: boolean): Kernel {
  const n = g.nodes[s.node]!;
  const rule = wgslRule(n.op);
  if (typeof rule !== "object" || !("kernel" in rule)) throw new Error(`internal: ${n.op} has no WGSL kernel`);
  const b = new Bindings(g, place);
  const args = n.args.map((a) => b.value(a));
  const ctx: WgslKernelCtx<OpName> = { out: b.value(s.node, "read_write"), args, attrs: n.attrs as never, training, num: wnum };
  const k: WgslKernel = rule.kernel(ctx);
  const what = `${n.op}${n.name !== undefined ? ` → ${n.name}` : ""}`;
  return {
    what,
    node: s.node,
    ...shader(g, s.node, what, b, k.body, k.uses ?? [], k.mode, k.count),
    dispatch: { kind: k.mode, count: k.count },
    workgroupSize: [k.mode === "rows" ? WGSL_ROW_THREADS : THREADS_PER_GROUP, 1],
    workgroupBytes: k.mode === "rows" ? WGSL_ROW_THREADS * 4 : 0,
  };
}

/** The kernels of one step: one, or a fused chain split to fit WebGPU's limits. */
export function stepKernels(g: GradGraph, s: Step, place: (id: NodeId) => string, training: boolean): Kernel[] {
  switch (s.kind) {
    case "fused":
      return fusedKernels(g, s, place, training);
    case "gemm":
      return [gemmKernel(g, s, place)];
    case "kernel":
      return [opKernel(g, s, place, training)];
  }
}
