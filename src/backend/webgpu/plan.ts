// The WebGPU module's plan, rendered from the lowered plan (src/lower): every
// place is a GPU buffer of its own (persistent values, and one buffer per
// temporary index, shared by the programs), and each step one or more WGSL
// kernels. Identical shaders share one pipeline, and steps that bind the
// same buffers to the same pipeline share one bind group.
import type { GradGraph, NodeId } from "../../ir/graph.ts";
import { lower, type Lowered, type Program } from "../../lower/lower.ts";
import { placeName } from "../../lower/places.ts";
import { stepKernels } from "./kernels.ts";
import type { Kernel } from "./shader.ts";

/** A kernel as a program runs it: its pipeline (shader index) and bind group. */
export interface Dispatched {
  readonly kernel: Kernel;
  readonly shader: number;
  readonly bindGroup: number;
}

export interface WebgpuPlan {
  readonly lowered: Lowered;
  /** The kernels of each program, step by step (a step may need more than one). */
  readonly kernels: ReadonlyMap<Program, readonly Dispatched[]>;
  /** Unique shader texts, in order of first use: one pipeline each, with the kernel that first uses it. */
  readonly shaders: readonly { readonly wgsl: string; readonly first: Kernel }[];
  /** Unique (pipeline, buffers) pairs, in order of first use: one bind group each. */
  readonly bindGroups: readonly { readonly shader: number; readonly buffers: readonly string[] }[];
}

/** The GPU buffer holding a value in a program. */
export function bufferOf(p: Program, id: NodeId): string {
  const at = p.place.get(id);
  if (at === undefined) throw new Error(`internal: no memory for node ${id}`);
  return placeName(at);
}

export function planWebgpu(g: GradGraph, lowered: Lowered = lower(g)): WebgpuPlan {
  const shaders: { wgsl: string; first: Kernel }[] = [];
  const bindGroups: { shader: number; buffers: string[] }[] = [];
  const groupIndex = new Map<string, number>();
  const kernels = new Map<Program, Dispatched[]>();
  for (const p of lowered.programs) {
    const place = (id: NodeId) => {
      const at = p.place.get(id);
      if (at === undefined) throw new Error(`internal: no memory for node ${id}`);
      return at;
    };
    const list = p.steps.flatMap((s) => stepKernels(g, s, place, p.training));
    kernels.set(
      p,
      list.map((kernel) => {
        let shader = shaders.findIndex((s) => s.wgsl === kernel.wgsl);
        if (shader < 0) shader = shaders.push({ wgsl: kernel.wgsl, first: kernel }) - 1;
        const buffers = kernel.bindings.map((b) => b.buffer);
        const key = `${shader}:${buffers.join(",")}`;
        if (!groupIndex.has(key)) groupIndex.set(key, bindGroups.push({ shader, buffers }) - 1);
        return { kernel, shader, bindGroup: groupIndex.get(key)! };
      }),
    );
  }
  return { lowered, kernels, shaders, bindGroups };
}
