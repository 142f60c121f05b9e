// The WebGPU module's plan: the CPU backend's programs and memory plan
// (src/backend/cpu/plan.ts), with every value a GPU buffer of its own place
// (persistent values, and one buffer per temporary slot shared by the
// programs), and one WGSL kernel per step. Identical shaders share one
// pipeline; each step has its own bind group.
import type { GradGraph, NodeId } from "../../ir/graph.ts";
import { planModule, type ModulePlan } from "../cpu/plan.ts";
import { slotSize } from "../cpu/memory.ts";
import type { Program } from "../cpu/schedule.ts";
import { stepKernels, type Kernel } from "./kernels.ts";

export interface TempBuffer {
  readonly name: string;
  readonly type: "f32" | "i32";
  /** Size expressions (elements) of the slots that share it. */
  readonly sizes: string[];
  readonly values: NodeId[];
}

export interface WebgpuPlan {
  readonly module: ModulePlan;
  /** The kernels of each program, step by step (a step may need more than one). */
  readonly kernels: ReadonlyMap<Program, readonly Kernel[]>;
  /** Unique shader texts, in order of first use: one pipeline each. */
  readonly shaders: readonly string[];
  readonly temps: readonly TempBuffer[];
  /** The GPU buffer holding a value in a program. */
  bufferOf(p: Program, id: NodeId): string;
}

/** A slot of one program ("bt2") is temporary buffer "t2", shared with the other programs' slot 2. */
const tempName = (slot: string) => slot.slice(1);

export function planWebgpu(g: GradGraph): WebgpuPlan {
  const module = planModule(g);
  const temps = new Map<string, TempBuffer>();
  for (const p of module.programs) {
    const m = module.memory.get(p)!;
    for (const [slots, type] of [[m.slots, "f32"], [m.intSlots, "i32"]] as const) {
      for (const s of slots) {
        const name = tempName(s.name);
        const t = temps.get(name) ?? { name, type, sizes: [], values: [] };
        temps.set(name, t);
        const size = slotSize(s);
        if (!t.sizes.includes(size)) t.sizes.push(size);
        t.values.push(...s.values);
      }
    }
  }
  const bufferOf = (p: Program, id: NodeId): string => {
    const at = module.memory.get(p)!.place.get(id);
    if (at === undefined) throw new Error(`internal: no memory for node ${id}`);
    return /^[a-d][ti]\d+$/.test(at) ? tempName(at) : at;
  };
  const kernels = new Map<Program, Kernel[]>();
  const shaders: string[] = [];
  for (const p of module.programs) {
    const list = p.steps.flatMap((s) => stepKernels(g, s, (id) => bufferOf(p, id), p.training));
    for (const k of list) if (!shaders.includes(k.wgsl)) shaders.push(k.wgsl);
    kernels.set(p, list);
  }
  const ordered = [...temps.values()].sort((a, b) => (a.type === b.type ? Number(a.name.slice(1)) - Number(b.name.slice(1)) : a.type === "f32" ? -1 : 1));
  return { module, kernels, shaders, temps: ordered, bufferOf };
}
