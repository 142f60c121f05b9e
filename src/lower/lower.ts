// The backend-neutral lowering of a differentiated graph: the programs
// (forward, forward in training mode, loss, training step), their steps, and
// the place and size of every value, as typed data. Computed once per
// compile; both emitters and `nnc compile --stats` read the same result.
import type { GradGraph, NodeId } from "../ir/graph.ts";
import { planMemory, type ProgramMemory, type Slot } from "./memory.ts";
import type { PersistentKind, Place } from "./places.ts";
import { schedule } from "./schedule.ts";
import { evalSize, shapeSize, sizeKey, type Size } from "./size.ts";
import type { ProgramKind, Step } from "./steps.ts";

export interface Persistent {
  readonly place: Place & { readonly kind: PersistentKind };
  readonly size: Size;
  readonly arr: "f32" | "i32";
  /** The value it holds (a const's node), or whose shape it has (gradients, optimizer state). */
  readonly node: NodeId;
  /** For data: whether it is a target. */
  readonly target?: boolean;
  /** The user's name of the input, target or param it belongs to. */
  readonly name?: string;
}

export interface Program extends ProgramMemory {
  readonly kind: ProgramKind;
  /** Its position among the module's programs (temporaries are per program on the CPU). */
  readonly index: number;
  readonly training: boolean;
  readonly steps: readonly Step[];
  readonly aliases: ReadonlyMap<NodeId, NodeId>;
  /** Values the caller reads after the program: outputs, the loss, gradients. */
  readonly roots: readonly NodeId[];
}

/** The temporaries of every program at one index, which the WebGPU module keeps in one buffer. */
export interface SharedTemp {
  readonly place: Place;
  readonly sizes: readonly Size[];
  readonly values: readonly NodeId[];
}

/** A gradient no step writes in place: copied (or, for a constant, filled) into its buffer. */
export interface GradientCopy {
  readonly from: NodeId;
  readonly to: Place;
  readonly size: Size;
}

/** A running statistic's new value, written into its param after a training step's optimizer update. */
export interface StatCopy {
  /** The update, a root of the training program. */
  readonly from: NodeId;
  /** The param it is written into. */
  readonly to: Place;
  readonly size: Size;
}

export interface Lowered {
  /** Whether the forward pass differs in training mode: dropout, or batch statistics (batchnorm). */
  readonly dropout: boolean;
  readonly programs: readonly Program[];
  readonly forward: Program;
  /** The forward program in training mode: `forward` itself without dropout. */
  readonly forwardTraining: Program;
  readonly loss: Program;
  readonly train: Program;
  readonly persistent: readonly Persistent[];
  readonly gradientCopies: readonly GradientCopy[];
  /** Running statistics written after each training step (none without batchnorm). */
  readonly statCopies: readonly StatCopy[];
  readonly temps: readonly SharedTemp[];
}

export function lower(g: GradGraph): Lowered {
  const dropout = g.nodes.some((n) => n.op === "dropout" || n.op === "batch_mean" || n.op === "batch_var");
  const loss = g.loss!.node;
  const stats = g.runningStats ?? [];
  const kinds: { kind: ProgramKind; roots: NodeId[]; training: boolean }[] = [
    { kind: "forward", roots: g.outputs.map((o) => o.node), training: false },
    ...(dropout ? [{ kind: "forwardTraining" as const, roots: g.outputs.map((o) => o.node), training: true }] : []),
    { kind: "loss", roots: [loss], training: false },
    { kind: "train", roots: [loss, ...g.gradients.map((x) => x.node), ...stats.map((r) => r.update)], training: true },
  ];
  const schedules = kinds.map((k) => schedule(g, k.roots, k.training));
  const { persistent, fixed } = persistentMemory(g, schedules.flatMap((s) => s.steps));
  const { trainFixed, gradientCopies } = gradientPlaces(g, fixed, schedules[schedules.length - 1]!.steps);
  const programs: Program[] = kinds.map((k, index) => {
    const s = schedules[index]!;
    const memory = planMemory(g, s, k.roots, k.kind === "train" ? trainFixed : fixed);
    return { ...k, index, ...s, ...memory };
  });
  const forward = programs[0]!;
  const forwardTraining = dropout ? programs[1]! : forward;
  const paramIndex = new Map(g.params.map((p, k) => [p.name, k]));
  const statCopies = stats.map((r) => ({ from: r.update, to: { kind: "param" as const, index: paramIndex.get(r.name)! }, size: shapeSize(g.shapes[r.node]!) }));
  return { dropout, programs, forward, forwardTraining, loss: programs[programs.length - 2]!, train: programs[programs.length - 1]!, persistent, gradientCopies, statCopies, temps: sharedTemps(programs) };
}

/** Data, params, gradients, optimizer state, then the constants kernels read from memory. */
function persistentMemory(g: GradGraph, steps: readonly Step[]): { persistent: Persistent[]; fixed: Map<NodeId, Place> } {
  const persistent: Persistent[] = [];
  const fixed = new Map<NodeId, Place>();
  const add = (kind: PersistentKind, index: number, node: NodeId, extra: Partial<Persistent> = {}) => {
    const place = { kind, index };
    persistent.push({ place, size: shapeSize(g.shapes[node]!), arr: g.dtypes[node] === "i32" && kind === "data" ? "i32" : "f32", node, ...extra });
    if (kind === "data" || kind === "param" || kind === "const") fixed.set(node, place);
  };
  [...g.inputs, ...g.targets].forEach((d, k) => add("data", k, d.node, { name: d.name, target: g.targets.includes(d) }));
  g.params.forEach((p, k) => add("param", k, p.node, { name: p.name }));
  g.params.forEach((p, k) => add("grad", k, p.node, { name: p.name }));
  g.params.forEach((p, k) => {
    add("state1", k, p.node, { name: p.name });
    add("state2", k, p.node, { name: p.name });
  });
  let constants = 0;
  for (const s of steps) {
    // Fused loops and epilogues write their constants inline; kernels and products read them from memory.
    const reads = s.kind === "gemm" ? [s.a, s.b] : s.kind === "kernel" ? g.nodes[s.node]!.args : [];
    for (const r of reads) {
      const op = g.nodes[r]!.op;
      if ((op === "const" || op === "dimval") && !fixed.has(r)) add("const", constants++, r);
    }
  }
  return { persistent, fixed };
}

/** Gradients computed by a step of the training program go straight into their buffer; others are copied there. */
function gradientPlaces(g: GradGraph, fixed: ReadonlyMap<NodeId, Place>, trainSteps: readonly Step[]): { trainFixed: Map<NodeId, Place>; gradientCopies: GradientCopy[] } {
  const trainFixed = new Map(fixed);
  const gradientCopies: GradientCopy[] = [];
  const outs = new Set(trainSteps.map((s) => s.out));
  const paramIndex = new Map(g.params.map((p, k) => [p.name, k]));
  for (const grad of g.gradients) {
    const to: Place = { kind: "grad", index: paramIndex.get(grad.name)! };
    if (outs.has(grad.node) && !trainFixed.has(grad.node)) trainFixed.set(grad.node, to);
    else gradientCopies.push({ from: grad.node, to, size: shapeSize(g.shapes[grad.of]!) });
  }
  return { trainFixed, gradientCopies };
}

/** Slot k of every program as one shared temporary (f32 first), its sizes each once. */
function sharedTemps(programs: readonly Program[]): SharedTemp[] {
  const byName = new Map<string, { place: Place; sizes: Size[]; values: NodeId[] }>();
  for (const slot of programs.flatMap((p): readonly Slot[] => [...p.slots, ...p.intSlots])) {
    const name = `${slot.place.kind}${slot.place.index}`;
    const t = byName.get(name) ?? { place: slot.place, sizes: [], values: [] };
    byName.set(name, t);
    for (const z of slot.sizes) if (!t.sizes.some((y) => sizeKey(y) === sizeKey(z))) t.sizes.push(z);
    t.values.push(...slot.values);
  }
  return [...byName.values()].sort((a, b) => (a.place.kind === b.place.kind ? a.place.index - b.place.index : a.place.kind === "temp" ? -1 : 1));
}

/** Planned bytes for given dims, against one buffer per value (the naive plan). */
export function planStats(g: GradGraph, plan: Lowered, dims: Readonly<Record<string, number>>): { plannedBytes: number; naiveBytes: number } {
  const count = (id: NodeId) => evalSize(shapeSize(g.shapes[id]!), dims);
  const persistent = plan.persistent.reduce((s, p) => s + evalSize(p.size, dims), 0);
  let temps = 0;
  let naive = persistent;
  for (const program of plan.programs) {
    const slots = [...program.slots, ...program.intSlots];
    temps = Math.max(temps, slots.reduce((s, slot) => s + Math.max(...slot.values.map(count)), 0));
    naive += slots.reduce((s, slot) => s + slot.values.reduce((t, v) => t + count(v), 0), 0);
  }
  return { plannedBytes: 4 * (persistent + temps), naiveBytes: 4 * naive };
}
