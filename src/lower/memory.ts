// The static memory plan: every value gets a place. Params, their gradients,
// optimizer state, inputs and constants persist; a program's temporaries
// share slots by liveness: a slot is reused once the value in it has been
// read for the last time. Sizes are symbolic in the model's dims, so the plan
// is fixed at compile time and sized at run time.
import type { GradGraph, NodeId } from "../ir/graph.ts";
import type { Place } from "./places.ts";
import { shapeSize, sizeKey, type Size } from "./size.ts";
import type { Schedule } from "./schedule.ts";
import type { Step } from "./steps.ts";

export interface Slot {
  readonly place: Place;
  /** Sizes of the values that take turns in it, each once. */
  readonly sizes: Size[];
  readonly values: NodeId[];
}

export interface ProgramMemory {
  /** Where each value a step writes (or an alias of one) lives. */
  readonly place: ReadonlyMap<NodeId, Place>;
  readonly slots: readonly Slot[];
  readonly intSlots: readonly Slot[];
}

/** Every value a step reads from memory (not the nodes fused inside it), aliases resolved. */
export function stepReads(g: GradGraph, aliases: ReadonlyMap<NodeId, NodeId>, s: Step): NodeId[] {
  const r = (id: NodeId) => aliases.get(id) ?? id;
  const outside = (nodes: readonly NodeId[], inside: ReadonlySet<NodeId>) => nodes.flatMap((n) => g.nodes[n]!.args).filter((a) => !inside.has(a));
  switch (s.kind) {
    case "fused":
      return [...new Set(outside(s.nodes, new Set(s.nodes)).map(r))];
    case "gemm":
      return [...new Set([s.a, s.b, ...outside(s.epilogue, new Set([s.matmul, ...s.epilogue]))].map(r))];
    case "kernel":
      return g.nodes[s.node]!.args.map(r);
  }
}

/**
 * Assigns the temporaries of one program to slots, first fit by liveness.
 * `fixed` holds the values that already have a persistent place.
 */
export function planMemory(g: GradGraph, s: Schedule, roots: readonly NodeId[], fixed: ReadonlyMap<NodeId, Place>): ProgramMemory {
  const lastUse = new Map<NodeId, number>();
  s.steps.forEach((step, i) => {
    for (const r of stepReads(g, s.aliases, step)) lastUse.set(r, i);
  });
  for (const r of roots) lastUse.set(s.aliases.get(r) ?? r, Infinity);
  const place = new Map<NodeId, Place>(fixed);
  const pools = { temp: [] as Slot[], itemp: [] as Slot[] };
  const holders = new Map<Slot, NodeId>(); // slot → value now in it
  s.steps.forEach((step, i) => {
    // Free the slots whose values were read for the last time before this step.
    for (const [slot, v] of holders) if ((lastUse.get(v) ?? -1) < i) holders.delete(slot);
    const v = step.out;
    if (place.has(v)) return;
    const kind = g.dtypes[v] === "i32" ? "itemp" : "temp";
    const pool = pools[kind];
    const size = shapeSize(g.shapes[v]!);
    const free = pool.filter((sl) => !holders.has(sl));
    // Prefer a free slot already of this size, so slots do not grow.
    const chosen = free.find((sl) => sl.sizes.some((z) => sizeKey(z) === sizeKey(size))) ?? free[0];
    const slot = chosen ?? { place: { kind, index: pool.length }, sizes: [], values: [] };
    if (!chosen) pool.push(slot);
    if (!slot.sizes.some((z) => sizeKey(z) === sizeKey(size))) slot.sizes.push(size);
    slot.values.push(v);
    holders.set(slot, v);
    place.set(v, slot.place);
  });
  for (const [alias, target] of s.aliases) {
    const at = place.get(target);
    if (at !== undefined) place.set(alias, at);
  }
  return { place, slots: pools.temp, intSlots: pools.itemp };
}
