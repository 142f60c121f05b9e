// The static memory plan: every value gets a place in one Float32Array (or,
// for integers, one Int32Array), computed once at createModel. Params, their
// gradients, optimizer state, inputs and constants persist; a program's
// temporaries share slots by liveness: a slot is reused once the value in it
// has been read for the last time. Sizes are TypeScript expressions in the
// model's dims, so the plan is fixed at compile time and sized at run time.
import type { GradGraph, NodeId } from "../../ir/graph.ts";
import type { Shape } from "../../ops/types.ts";
import { stepReads, type Program } from "./schedule.ts";

/** A TypeScript expression for a shape's element count. */
export function sizeExpr(shape: Shape): string {
  const nums = shape.filter((d): d is number => typeof d === "number").reduce((a, b) => a * b, 1);
  const syms = shape.filter((d): d is string => typeof d === "string").map((d) => `dim_${d}`);
  if (syms.length === 0) return String(nums);
  return [...syms, ...(nums !== 1 ? [String(nums)] : [])].join(" * ");
}

export interface Slot {
  readonly name: string;
  /** Size expressions of the values that take turns in it. */
  readonly sizes: string[];
  readonly values: NodeId[];
}

export interface ProgramMemory {
  readonly program: Program;
  /** Where each value a step writes lives: a slot name, or a persistent buffer name. */
  readonly place: ReadonlyMap<NodeId, string>;
  readonly slots: readonly Slot[];
  readonly intSlots: readonly Slot[];
}

/**
 * Assigns the temporaries of one program to slots, first fit by liveness.
 * `fixed` maps values that already have a persistent place (params, inputs,
 * gradient buffers).
 */
export function planProgram(g: GradGraph, program: Program, fixed: ReadonlyMap<NodeId, string>, prefix: string): ProgramMemory {
  const lastUse = new Map<NodeId, number>();
  program.steps.forEach((s, i) => {
    for (const r of stepReads(g, program, s)) lastUse.set(r, i);
  });
  for (const r of program.roots) lastUse.set(program.aliases.get(r) ?? r, Infinity);
  const place = new Map<NodeId, string>(fixed);
  const slots: Slot[] = [];
  const intSlots: Slot[] = [];
  const holders = new Map<string, NodeId>(); // slot → value now in it
  program.steps.forEach((s, i) => {
    // Free the slots whose values were read for the last time before this step.
    for (const [slot, v] of holders) if ((lastUse.get(v) ?? -1) < i) holders.delete(slot);
    const v = s.out;
    if (place.has(v)) return;
    const isInt = g.dtypes[v] === "i32";
    const pool = isInt ? intSlots : slots;
    const size = sizeExpr(g.shapes[v]!);
    const free = pool.filter((sl) => !holders.has(sl.name));
    // Prefer a free slot already of this size, so slots do not grow.
    const chosen = free.find((sl) => sl.sizes.includes(size)) ?? free[0];
    const slot = chosen ?? { name: `${prefix}${isInt ? "i" : "t"}${pool.length}`, sizes: [], values: [] };
    if (!chosen) pool.push(slot);
    if (!slot.sizes.includes(size)) slot.sizes.push(size);
    slot.values.push(v);
    holders.set(slot.name, v);
    place.set(v, slot.name);
  });
  for (const [alias, target] of program.aliases) {
    const at = place.get(target);
    if (at !== undefined) place.set(alias, at);
  }
  return { program, place, slots, intSlots };
}

/** A slot's size: the largest of its values. */
export function slotSize(slot: Slot): string {
  return slot.sizes.length === 1 ? slot.sizes[0]! : `Math.max(${slot.sizes.join(", ")})`;
}
