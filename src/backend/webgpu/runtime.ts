/// <reference types="@webgpu/types" />
// The host-side helpers every WebGPU module needs, included verbatim at the
// end of the module (imports and `export` dropped): getting a device,
// buffers, pipelines, bind groups and dispatch grids, each checked against
// the device's limits with a message that names the kernel or buffer. They
// run at createModel only; the per-step code calls `dispatch` alone.

/** GPUBufferUsage and GPUMapMode flags as numbers: Node's `webgpu` package only defines the globals when asked. */
export const USAGE = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, UNIFORM: 0x40, STORAGE: 0x80 } as const;
export const MAP_MODE = { READ: 0x1 } as const;

/** Dawn's GPU object in Node: it must outlive its devices (collected, it takes them down), so it is kept here. */
let dawnGpu: GPU | undefined;

/**
 * A device of the browser's `navigator.gpu`, or in Node of the npm package
 * `webgpu` (Dawn), loaded only when there is no navigator.gpu. Asks for the
 * adapter's largest buffers, so that big tables fit.
 */
export async function requestDevice(): Promise<GPUDevice> {
  let gpu: GPU | undefined = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  let why = "this JavaScript environment has no navigator.gpu";
  if (gpu === undefined && (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node !== undefined) {
    const specifier = "webgpu"; // a variable, so that bundlers for the browser leave it alone
    try {
      const dawn = (await import(/* @vite-ignore */ specifier)) as { create(options: string[]): GPU; globals: object };
      Object.assign(globalThis, dawn.globals);
      dawnGpu ??= dawn.create([]);
      gpu = dawnGpu;
    } catch (e) {
      why = `the npm package \`webgpu\` could not be loaded (${(e as Error).message}); install it with \`npm install webgpu\``;
    }
  }
  if (gpu === undefined) throw new Error(`createModel: WebGPU is not available: ${why}. Pass { device } to use a GPUDevice of your own.`);
  const adapter = await gpu.requestAdapter();
  if (adapter === null) {
    throw new Error(
      "createModel: no WebGPU adapter: this machine offers no GPU to WebGPU. Without a GPU, a software driver works: in the nnc repository `npm run setup:webgpu` installs SwiftShader (see docs/webgpu.md).",
    );
  }
  return adapter.requestDevice({
    requiredLimits: { maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize, maxBufferSize: adapter.limits.maxBufferSize },
  });
}

/** A storage buffer of `bytes` (at least 4), after checking it against the device's limits. */
export function storageBuffer(device: GPUDevice, label: string, bytes: number, dims: Record<string, number>): GPUBuffer {
  const max = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
  if (bytes > max) {
    const at = Object.entries(dims).map(([k, v]) => `${k} = ${v}`).join(", ");
    throw new Error(`createModel: ${label} needs ${bytes} bytes${at ? ` with ${at}` : ""}, more than this device allows in one storage buffer (maxStorageBufferBindingSize ${max}); use smaller dims`);
  }
  return device.createBuffer({ label, size: Math.max(4, Math.ceil(bytes / 4) * 4), usage: USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST });
}

export function uniformBuffer(device: GPUDevice, label: string, bytes: number): GPUBuffer {
  return device.createBuffer({ label, size: Math.ceil(bytes / 16) * 16, usage: USAGE.UNIFORM | USAGE.COPY_DST });
}

/** A compute pipeline for one shader; its dims are pipeline-overridable constants. A shader that fails says where. */
export async function computePipeline(device: GPUDevice, label: string, code: string, constants: Record<string, number>): Promise<GPUComputePipeline> {
  const module = device.createShaderModule({ label, code });
  try {
    return await device.createComputePipelineAsync({ label, layout: "auto", compute: { module, entryPoint: "main", constants } });
  } catch (e) {
    const info = await module.getCompilationInfo();
    const messages = info.messages.map((m) => `${m.type} at WGSL line ${m.lineNum}:${m.linePos}: ${m.message}`);
    throw new Error(`createModel: the pipeline of ${label} failed: ${messages.length > 0 ? messages.join("; ") : (e as Error).message}`);
  }
}

/** The bind group of one dispatch: buffers at bindings 0, 1, … in order. */
export function bindGroup(device: GPUDevice, pipeline: GPUComputePipeline, buffers: readonly GPUBuffer[]): GPUBindGroup {
  return device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })) });
}

/** Workgroups for `count` (threads at `per` a workgroup, or rows at 1): in two dimensions past maxComputeWorkgroupsPerDimension. */
export function workgroups(device: GPUDevice, label: string, count: number, per: number): [number, number, number] {
  const max = device.limits.maxComputeWorkgroupsPerDimension;
  const groups = Math.max(1, Math.ceil(count / per));
  if (groups <= max) return [groups, 1, 1];
  const y = Math.ceil(groups / max);
  if (y > max) throw new Error(`createModel: ${label} needs ${groups} workgroups, more than this device's maxComputeWorkgroupsPerDimension (${max}) squared; use smaller dims`);
  return [max, y, 1];
}

/** Workgroups for a matrix product of rows × cols in tiles of `tile`, batch of them. */
export function tiles(device: GPUDevice, label: string, rows: number, cols: number, batch: number, tile: number): [number, number, number] {
  const max = device.limits.maxComputeWorkgroupsPerDimension;
  const grid: [number, number, number] = [Math.max(1, Math.ceil(cols / tile)), Math.max(1, Math.ceil(rows / tile)), Math.max(1, batch)];
  if (grid.some((n) => n > max)) throw new Error(`createModel: ${label} needs a grid of ${grid.join(" × ")} workgroups; this device allows ${max} per dimension (maxComputeWorkgroupsPerDimension); use smaller dims`);
  return grid;
}

export function dispatch(pass: GPUComputePassEncoder, pipeline: GPUComputePipeline, group: GPUBindGroup, grid: readonly [number, number, number]): void {
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, group);
  pass.dispatchWorkgroups(grid[0], grid[1], grid[2]);
}
