// The CPU module's plan, decided before any code is written: the programs
// (inference, inference in training mode, loss evaluation, training step),
// their steps, and the memory every value lives in. `nnc compile --stats`
// reads it to report planned bytes against one buffer per value.
import type { GradGraph, NodeId } from "../../ir/graph.ts";
import { formatNumber } from "../../ir/print.ts";
import { planProgram, sizeExpr, type ProgramMemory } from "./memory.ts";
import { buildProgram, type Program } from "./schedule.ts";

export interface Persistent {
  readonly name: string;
  readonly size: string;
  readonly arr: "f32" | "i32";
  readonly comment: string;
  /** The value whose shape it has, for statistics. */
  readonly node: NodeId;
}

/** Everything the emitter decides before writing a line: programs, steps and memory. */
export interface ModulePlan {
  readonly dropout: boolean;
  readonly programs: readonly Program[];
  readonly inferProgram: Program;
  readonly inferTrainingProgram: Program;
  readonly evalProgram: Program;
  readonly trainProgram: Program;
  readonly persistent: readonly Persistent[];
  readonly constants: readonly { node: NodeId; name: string }[];
  readonly gradientCopies: readonly { from: NodeId; to: string; size: string }[];
  readonly memory: ReadonlyMap<Program, ProgramMemory>;
}

export function planModule(g: GradGraph): ModulePlan {
  const dropout = g.nodes.some((n) => n.op === "dropout");
  const loss = g.loss!.node;
  const programs: Program[] = [
    buildProgram(g, "infer", g.outputs.map((o) => o.node), false),
    ...(dropout ? [buildProgram(g, "infer", g.outputs.map((o) => o.node), true)] : []),
    buildProgram(g, "train", [loss], false),
    buildProgram(g, "train", [loss, ...g.gradients.map((x) => x.node)], true),
  ];
  const [inferProgram, inferTrainingProgram] = dropout ? [programs[0]!, programs[1]!] : [programs[0]!, programs[0]!];
  const evalProgram = programs[programs.length - 2]!;
  const trainProgram = programs[programs.length - 1]!;

  // Persistent memory: data, params, gradients, optimizer state, constants.
  const persistent: Persistent[] = [];
  const fixed = new Map<NodeId, string>();
  const data = [...g.inputs, ...g.targets];
  data.forEach((d, k) => {
    const arr = g.dtypes[d.node] === "i32" ? "i32" : "f32";
    persistent.push({ name: `x${k}`, size: sizeExpr(g.shapes[d.node]!), arr, comment: `${g.targets.includes(d) ? "target" : "input"} ${d.name} [${g.shapes[d.node]!.join(", ")}]`, node: d.node });
    fixed.set(d.node, `x${k}`);
  });
  g.params.forEach((p, k) => {
    persistent.push({ name: `p${k}`, size: sizeExpr(g.shapes[p.node]!), arr: "f32", comment: `param ${p.name} [${g.shapes[p.node]!.join(", ")}]`, node: p.node });
    fixed.set(p.node, `p${k}`);
  });
  const paramIndex = new Map(g.params.map((p, k) => [p.name, k]));
  g.params.forEach((p, k) => persistent.push({ name: `g${k}`, size: sizeExpr(g.shapes[p.node]!), arr: "f32", comment: `gradient of ${p.name}`, node: p.node }));
  g.params.forEach((p, k) => {
    persistent.push({ name: `m${k}`, size: sizeExpr(g.shapes[p.node]!), arr: "f32", comment: `optimizer state 1 of ${p.name}`, node: p.node });
    persistent.push({ name: `v${k}`, size: sizeExpr(g.shapes[p.node]!), arr: "f32", comment: `optimizer state 2 of ${p.name}`, node: p.node });
  });
  // Constants that a kernel reads from memory (fused loops inline them).
  const constants: { node: NodeId; name: string }[] = [];
  for (const program of programs) {
    for (const s of program.steps) {
      if (s.kind === "fused") continue;
      const reads = s.kind === "gemm" ? [s.a, s.b, ...(s.bias !== undefined ? [s.bias] : [])] : g.nodes[s.node]!.args;
      for (const r of reads) {
        const op = g.nodes[r]!.op;
        if ((op === "const" || op === "dimval") && !fixed.has(r)) {
          const name = `c${constants.length}`;
          constants.push({ node: r, name });
          fixed.set(r, name);
          persistent.push({ name, size: "1", arr: "f32", comment: `constant ${op === "const" ? formatNumber((g.nodes[r]!.attrs as { value: number }).value) : (g.nodes[r]!.attrs as { dim: string }).dim}`, node: r });
        }
      }
    }
  }
  // Gradients computed by a backward step go straight into their buffer; others are copied there.
  const trainFixed = new Map(fixed);
  const gradientCopies: { from: NodeId; to: string; size: string }[] = [];
  const trainOuts = new Set(trainProgram.steps.map((s) => s.out));
  const claimed = new Set<NodeId>();
  for (const grad of g.gradients) {
    const k = paramIndex.get(grad.name)!;
    if (trainOuts.has(grad.node) && !claimed.has(grad.node) && !fixed.has(grad.node)) {
      trainFixed.set(grad.node, `g${k}`);
      claimed.add(grad.node);
    } else gradientCopies.push({ from: grad.node, to: `g${k}`, size: sizeExpr(g.shapes[grad.of]!) });
  }
  const memory = new Map<Program, ProgramMemory>();
  programs.forEach((p, i) => memory.set(p, planProgram(g, p, p === trainProgram ? trainFixed : fixed, `${["a", "b", "c", "d"][i]}`)));
  return { dropout, programs, inferProgram, inferTrainingProgram, evalProgram, trainProgram, persistent, constants, gradientCopies, memory };
}


/** Planned bytes for given dims, against one buffer per value (the naive plan). */
export function planStats(g: GradGraph, plan: ModulePlan, dims: Record<string, number>): { plannedBytes: number; naiveBytes: number } {
  const count = (id: NodeId) => g.shapes[id]!.reduce<number>((a, d) => a * (typeof d === "number" ? d : dims[d]!), 1);
  const persistent = plan.persistent.reduce((s, p) => s + (p.size === "1" ? 1 : count(p.node)), 0);
  let temps = 0;
  let naive = persistent;
  for (const program of plan.programs) {
    const m = plan.memory.get(program)!;
    const slots = [...m.slots, ...m.intSlots].reduce((s, slot) => s + Math.max(...slot.values.map(count)), 0);
    temps = Math.max(temps, slots);
    naive += [...m.slots, ...m.intSlots].reduce((s, slot) => s + slot.values.reduce((t, v) => t + count(v), 0), 0);
  }
  return { plannedBytes: 4 * (persistent + temps), naiveBytes: 4 * naive };
}
