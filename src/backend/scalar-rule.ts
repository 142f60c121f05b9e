// An op's scalar rule for one backend: what each backend's scalarCode renders.
import type { GradGraph, NodeId } from "../ir/graph.ts";
import { OPS } from "../ops/registry.ts";
import type { OpDef, OpName } from "../ops/types.ts";

type Rules = { readonly [T in "cpu" | "wgsl"]: Extract<OpDef<OpName>[T], { scalar: unknown }> };

/** The scalar rule of node `id` on a target; an internal error where the op has none (the schedule fuses only ops that do). */
export function scalarRule<T extends "cpu" | "wgsl">(g: GradGraph, id: NodeId, target: T): Rules[T] {
  const op = g.nodes[id]!.op;
  const rule = (OPS[op] as unknown as OpDef<OpName>)[target];
  if (typeof rule !== "object" || !("scalar" in rule)) throw new Error(`internal: ${op} is not a scalar op`);
  return rule as Rules[T];
}
