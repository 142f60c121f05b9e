// One WGSL compute shader per step of a lowered program: fused elementwise
// chains and matrix-product epilogues from the ops' scalar rules (through
// scalar.ts), tiled matrix products with transposes read in place, and every
// other op through its own `wgsl` kernel rule (src/ops). Each shader names
// its buffers after the user's values and starts with the source line it
// computes. Sizes are u32 pipeline-overridable constants `dim_NAME`, set
// once at createModel, so one shader text serves every batch size.
import type { GradGraph, NodeId } from "../../ir/graph.ts";
import type { Place } from "../../lower/places.ts";
import { shapeSize } from "../../lower/size.ts";
import type { FusedStep, GemmStep, KernelStep, Step } from "../../lower/steps.ts";
import { OPS } from "../../ops/registry.ts";
import type { OpDef, OpName, WgslKernel, WgslKernelCtx } from "../../ops/types.ts";
import { WGSL_ROW_THREADS, wnum } from "../../ops/wgsl-util.ts";
import { gemmBody } from "./gemm-kernel.ts";
import { constantRef, scalarStatements, type Leaf } from "./scalar.ts";
import { Bindings, THREADS_PER_GROUP, TILE, type Kernel } from "./shader.ts";

/** Storage buffers WebGPU guarantees per shader stage (maxStorageBuffersPerShaderStage); fused chains are split to fit. */
export const MAX_STORAGE_BUFFERS = 8;

type PlaceOf = (id: NodeId) => Place;

/**
 * A fused chain as one kernel, or, when its inputs need more storage
 * buffers than WebGPU guarantees, as several: each part stores its last
 * value in the output buffer and the next part reads it from there (every
 * node of a chain has the output's shape, so element i stays in invocation
 * i), recomputing any other value it needs from the chain's inputs.
 */
function fusedKernels(g: GradGraph, s: FusedStep, place: PlaceOf, training: boolean): Kernel[] {
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
  const key = (p: Place) => `${p.kind}${p.index}`;
  const buffers = (nodes: readonly NodeId[]) => new Set([key(place(s.out)), ...nodes.flatMap((n) => g.nodes[n]!.args.filter(stored).map((a) => key(place(a))))]).size;
  const parts: { nodes: NodeId[]; carried: NodeId | undefined }[] = [];
  let carried: NodeId | undefined;
  for (let from = 0; from < s.nodes.length; ) {
    let to = from + 1;
    while (to < s.nodes.length && buffers(closure(s.nodes.slice(from, to + 1), carried)) <= MAX_STORAGE_BUFFERS) to++;
    const last = s.nodes[to - 1]!;
    parts.push({ nodes: closure([last], carried), carried });
    carried = last;
    from = to;
  }
  return parts.map((p, k) => fusedPart(g, s, p.nodes, p.carried, place, training, parts.length > 1 ? ` (part ${k + 1} of ${parts.length})` : ""));
}

function fusedPart(g: GradGraph, s: FusedStep, nodes: readonly NodeId[], carried: NodeId | undefined, place: PlaceOf, training: boolean, part: string): Kernel {
  const outShape = g.shapes[s.out]!;
  const b = new Bindings(g, place);
  const inside = new Set(nodes);
  const leaves = [...new Set(nodes.flatMap((n) => g.nodes[n]!.args).filter((a) => !inside.has(a) && a !== carried))];
  const out = b.value(s.out, "read_write");
  const coords: string[] = [];
  const index = (l: NodeId): string => {
    const ls = g.shapes[l]!;
    if (ls.every((d) => d === 1)) return "0u";
    if (ls.length === outShape.length && ls.every((d, k) => d === outShape[k])) return "i";
    // Broadcast: the leaf's own strides over the output's coordinates (none where it has size 1).
    if (coords.length === 0) {
      outShape.forEach((d, k) => {
        const inner = shapeSize(outShape.slice(k + 1));
        const q = inner.dims.length === 0 && inner.factor === 1 ? "i" : `i / (${b.size(inner)})`;
        coords.push(`let c${k}: u32 = ${k === 0 ? q : `(${q}) % ${b.dim(d)}`};`);
      });
    }
    const terms: string[] = [];
    let stride: string[] = [];
    for (let k = ls.length - 1; k >= 0; k--) {
      if (ls[k] === 1) continue;
      terms.push([`c${k + (outShape.length - ls.length)}`, ...stride].join(" * "));
      stride = [...stride, b.dim(ls[k]!)];
    }
    return terms.join(" + ") || "0u";
  };
  const refs = new Map<NodeId, Leaf>();
  if (carried !== undefined) refs.set(carried, { text: `${out.ref}[i]` }); // the previous part's value
  for (const l of leaves) {
    const constant = constantRef(g, b, l);
    refs.set(l, constant !== undefined ? { text: constant } : b.element(l, index(l)));
  }
  const statements = scalarStatements(g, b, nodes, refs, "i", training, (expr) => `${out.ref}[i] = ${expr};`);
  const count = b.size(shapeSize(outShape));
  const what = `fused elementwise: ${nodes.map((id) => g.nodes[id]!.op).join(", ")}${part}`;
  return { what, node: s.out, ...b.shader(s.out, what, [...coords, ...statements], "threads", count), dispatch: { kind: "threads", count }, workgroupSize: [THREADS_PER_GROUP, 1], workgroupBytes: 0 };
}

function gemmKernel(g: GradGraph, s: GemmStep, place: PlaceOf, training: boolean): Kernel {
  const b = new Bindings(g, place);
  const { body, rows, cols, batch } = gemmBody(g, b, s, training);
  const act = s.epilogue.map((id) => g.nodes[id]!.op);
  const what = [`matrix product${s.transA ? " (A transposed in place)" : ""}${s.transB ? " (B transposed in place)" : ""}`, ...act].join(", ");
  return {
    what,
    node: s.out,
    ...b.shader(s.out, what, body, "tiles", "1"),
    dispatch: { kind: "tiles", rows, cols, batch },
    workgroupSize: [TILE, TILE],
    workgroupBytes: 2 * TILE * TILE * 4,
  };
}

function opKernel(g: GradGraph, s: KernelStep, place: PlaceOf, training: boolean): Kernel {
  const n = g.nodes[s.node]!;
  const def = OPS[n.op] as OpDef<OpName>;
  const rule = "wgsl" in def ? def.wgsl : undefined;
  if (typeof rule !== "object" || !("kernel" in rule)) throw new Error(`internal: ${n.op} has no WGSL kernel`);
  const b = new Bindings(g, place);
  const ctx: WgslKernelCtx<OpName> = { out: b.value(s.node, "read_write"), args: n.args.map((a) => b.value(a)), attrs: n.attrs as never, training, num: wnum };
  const k: WgslKernel = rule.kernel(ctx);
  b.uses(k.uses ?? []);
  const what = `${n.op}${n.name !== undefined ? ` → ${n.name}` : ""}`;
  return {
    what,
    node: s.node,
    ...b.shader(s.node, what, k.body, k.mode, k.count),
    dispatch: { kind: k.mode, count: k.count },
    workgroupSize: [k.mode === "rows" ? WGSL_ROW_THREADS : THREADS_PER_GROUP, 1],
    workgroupBytes: k.mode === "rows" ? WGSL_ROW_THREADS * 4 : 0,
  };
}

/** The kernels of one step: one, or a fused chain split to fit WebGPU's limits. */
export function stepKernels(g: GradGraph, s: Step, place: PlaceOf, training: boolean): Kernel[] {
  switch (s.kind) {
    case "fused":
      return fusedKernels(g, s, place, training);
    case "gemm":
      return [gemmKernel(g, s, place, training)];
    case "kernel":
      return [opKernel(g, s, place, training)];
  }
}
export { THREADS_PER_GROUP } from "./shader.ts"; // where runtime-facing modules (optim.ts) have always found it
