// `nnc summary FILE`: every input, param and layer (forward node) of a model
// with its shape, parameter count, FLOPs and memory, and the totals, as
// Keras's model.summary() prints them. FLOPs come from the one cost table
// (src/passes/stats.ts), the training step's memory from the memory plan
// (src/lower), at the given dims (others at their default, else
// STATS_DEFAULT_DIM).
import type { GradGraph, Node } from "../ir/graph.ts";
import { planStats, type Lowered } from "../lower/lower.ts";
import { gradStats, nodeFlops, statsDims } from "./stats.ts";

export interface SummaryRow {
  /** The user's name, else `%id` as `nnc graph` prints it. */
  name: string;
  kind: "input" | "target" | "param" | "layer";
  op: string;
  /** As declared or inferred: `[batch, 784]`. */
  shape: string;
  /** Its sizes at the summary's dims. */
  sizes: number[];
  /** Trainable values: a param's element count, 0 otherwise. */
  params: number;
  /** Estimated forward FLOPs of the node at the summary's dims. */
  flops: number;
  /** Bytes of the value (4 per element: float32 or int32). */
  bytes: number;
  line: number;
}

export interface ModelSummary {
  model: string;
  dims: Record<string, number>;
  optimizer: string;
  rows: SummaryRow[];
  totals: {
    params: number;
    paramBytes: number;
    forwardFlops: number;
    backwardFlops: number;
    /** Every forward value (inputs, params and layers) held at once, one buffer each. */
    forwardBytes: number;
    /** The training step's memory as the compiled module plans it (params, optimizer state, gradients, the reused temporaries). */
    plannedTrainingBytes: number;
  };
}

const ELEMENT_BYTES = 4;

function kindOf(g: GradGraph, n: Node): SummaryRow["kind"] {
  if (n.op === "param") return "param";
  if (n.op === "input") return g.targets.some((t) => t.node === n.id) ? "target" : "input";
  return "layer";
}

export function modelSummary(g: GradGraph, plan: Lowered, given: Record<string, number> = {}): ModelSummary {
  const dims = statsDims(g, given);
  const flops = nodeFlops(g, dims);
  const rows: SummaryRow[] = [];
  for (const n of g.nodes.slice(0, g.forwardCount)) {
    // Constants and dim values are folded into the code: neither a layer nor memory of their own.
    if (n.op === "const" || n.op === "dimval") continue;
    const shape = g.shapes[n.id]!;
    const sizes = shape.map((d) => (typeof d === "number" ? d : dims[d]!));
    const count = sizes.reduce((a, b) => a * b, 1);
    const kind = kindOf(g, n);
    rows.push({
      name: n.name ?? `%${n.id}`,
      kind,
      op: kind === "layer" ? n.op : kind,
      shape: `[${shape.join(", ")}]`,
      sizes,
      params: kind === "param" ? count : 0,
      flops: flops[n.id]!,
      bytes: ELEMENT_BYTES * count,
      line: g.file.lineCol(n.span.start).line,
    });
  }
  const stats = gradStats(g, dims);
  const params = rows.reduce((s, r) => s + r.params, 0);
  return {
    model: g.modelName,
    dims,
    optimizer: g.train?.optimizer ?? "sgd",
    rows,
    totals: {
      params,
      paramBytes: ELEMENT_BYTES * params,
      forwardFlops: stats.forward.flops,
      backwardFlops: stats.backward.flops,
      forwardBytes: rows.reduce((s, r) => s + r.bytes, 0),
      plannedTrainingBytes: planStats(g, plan, dims).plannedBytes,
    },
  };
}

/** 1234567 → "1,234,567". */
const grouped = (n: number) => Math.round(n).toLocaleString("en-US");

/** FLOPs with a unit: 26.1 M. */
export function formatFlops(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(2)} G` : n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : String(Math.round(n));
}

/** The table as text, columns padded to their widest cell. */
export function formatSummary(s: ModelSummary, formatBytes: (b: number) => string): string {
  const head = ["name", "op", "shape", "at these dims", "params", "FLOPs", "memory"];
  const body = s.rows.map((r) => [r.name, r.op, r.shape, `[${r.sizes.join(", ")}]`, r.params ? grouped(r.params) : "", r.flops ? formatFlops(r.flops) : "", formatBytes(r.bytes)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  // Text columns to the left, numbers to the right.
  const right = new Set([4, 5, 6]);
  const line = (cells: string[]) => cells.map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ").trimEnd();
  const rule = "─".repeat(widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1));
  const dims = Object.entries(s.dims).map(([k, v]) => `${k} = ${v}`).join(", ") || "no dims";
  const t = s.totals;
  return [
    `model ${s.model} (${dims})`,
    rule,
    line(head),
    rule,
    ...body.map(line),
    rule,
    `params: ${grouped(t.params)} (${formatBytes(t.paramBytes)})`,
    `FLOPs: forward ${formatFlops(t.forwardFlops)}, backward ${formatFlops(t.backwardFlops)}, a training step ${formatFlops(t.forwardFlops + t.backwardFlops)}`,
    `memory: forward values ${formatBytes(t.forwardBytes)} (one buffer each); a training step with ${s.optimizer} as the compiled module plans it ${formatBytes(t.plannedTrainingBytes)}`,
    "",
  ].join("\n");
}
