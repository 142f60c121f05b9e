// Compile-time checks of the WebGPU kernels against the limits every WebGPU
// device guarantees (the spec's defaults), so that a model that would not
// run is refused by `nnc compile` with the kernel, its source line and the
// limit named. Fused chains are split to fit before this runs (kernels.ts);
// what is left here has no fallback. Sizes that depend on dims are checked
// again at createModel against the device's own limits (runtime.ts).
import type { GradGraph } from "../../ir/graph.ts";
import { DiagnosticBag } from "../../diag/diagnostic.ts";
import { lower, type Lowered } from "../../lower/lower.ts";
import { placeName } from "../../lower/places.ts";
import { constantSize } from "../../lower/size.ts";
import { sourceLocation } from "../common.ts";
import { planWebgpu, type WebgpuPlan } from "./plan.ts";
import type { Kernel } from "./shader.ts";

/** WebGPU's guaranteed limits (the values a device gets when it asks for nothing more). */
export const WEBGPU_LIMITS = {
  maxStorageBuffersPerShaderStage: 8,
  maxStorageBufferBindingSize: 134217728,
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
  maxComputeWorkgroupSizeY: 256,
  maxComputeWorkgroupStorageSize: 16384,
} as const;

export type Limits = { readonly [K in keyof typeof WEBGPU_LIMITS]: number };

/** The NNC401 errors of a model's kernels, none when every kernel fits. */
export function checkWebgpuLimits(g: GradGraph, limits: Limits = WEBGPU_LIMITS, lowered: Lowered = lower(g), plan: WebgpuPlan = planWebgpu(g, lowered)): DiagnosticBag {
  const bag = new DiagnosticBag();
  const seen = new Set<string>();
  const fail = (k: Kernel, message: string, hint?: string) => {
    const text = `the WebGPU kernel of ${sourceLocation(g, k.node)} (${k.what}) ${message}`;
    if (seen.has(text)) return; // the same step in several programs
    seen.add(text);
    bag.error("NNC401", g.nodes[k.node]!.span, text, hint ? { hint } : {});
  };
  const sizes = new Map<string, number>();
  // Buffers whose size is known at compile time: those of no dim.
  for (const p of plan.lowered.persistent) {
    const n = constantSize(p.size);
    if (n !== undefined) sizes.set(placeName(p.place), 4 * n);
  }
  for (const t of plan.lowered.temps) {
    const ns = t.sizes.map(constantSize);
    if (ns.every((n) => n !== undefined)) sizes.set(placeName(t.place), 4 * Math.max(...(ns as number[])));
  }
  for (const kernels of plan.kernels.values()) {
    for (const { kernel: k } of kernels) {
      const storage = k.bindings.filter((b) => b.access !== "uniform").length;
      if (storage > limits.maxStorageBuffersPerShaderStage) {
        fail(k, `binds ${storage} storage buffers; WebGPU guarantees ${limits.maxStorageBuffersPerShaderStage} per shader stage (maxStorageBuffersPerShaderStage)`, "split the expression into smaller definitions");
      }
      const [x, y] = k.workgroupSize;
      if (x * y > limits.maxComputeInvocationsPerWorkgroup || x > limits.maxComputeWorkgroupSizeX || y > limits.maxComputeWorkgroupSizeY) {
        fail(k, `has workgroups of ${x} × ${y} invocations; WebGPU guarantees ${limits.maxComputeInvocationsPerWorkgroup} (maxComputeInvocationsPerWorkgroup)`);
      }
      if (k.workgroupBytes > limits.maxComputeWorkgroupStorageSize) {
        fail(k, `uses ${k.workgroupBytes} bytes of workgroup memory; WebGPU guarantees ${limits.maxComputeWorkgroupStorageSize} (maxComputeWorkgroupStorageSize)`);
      }
      for (const b of k.bindings) {
        const bytes = sizes.get(b.buffer);
        if (bytes !== undefined && bytes > limits.maxStorageBufferBindingSize) {
          fail(k, `binds a buffer of ${bytes} bytes; WebGPU guarantees ${limits.maxStorageBufferBindingSize} per storage buffer binding (maxStorageBufferBindingSize)`, "make the tensor smaller; a device with larger limits is not assumed at compile time");
        }
      }
    }
  }
  return bag;
}
