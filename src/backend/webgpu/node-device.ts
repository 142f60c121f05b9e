// A WebGPU device in Node for nnc's own commands and tests: Dawn through the
// npm package `webgpu`, on the machine's GPU or, where there is none, on the
// SwiftShader software driver that `npm run setup:webgpu` puts in
// .cache/swiftshader. The emitted modules can request a device themselves;
// nnc passes them this one, so that a module written anywhere on disk need
// not resolve `webgpu` from where it lies.
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(import.meta.dirname, "..", "..", "..");
export const SETUP_COMMAND = "npm run setup:webgpu";

/** Points the Vulkan loader at the software driver when none is chosen and it is there. */
export function useSoftwareDriverIfPresent(): void {
  const icd = join(ROOT, ".cache", "swiftshader", "vk_swiftshader_icd.json");
  if (process.env["VK_ICD_FILENAMES"] === undefined && existsSync(icd)) process.env["VK_ICD_FILENAMES"] = icd;
  if (process.env["XDG_RUNTIME_DIR"] === undefined || !existsSync(process.env["XDG_RUNTIME_DIR"])) {
    const dir = `/tmp/xdg-runtime-${process.getuid?.() ?? "user"}`;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    process.env["XDG_RUNTIME_DIR"] = dir;
  }
}

export interface NodeGpu {
  readonly device: GPUDevice;
  /** Vendor, architecture and device of the adapter, for logs. */
  readonly adapterInfo: string;
}

let found: Promise<NodeGpu | string> | undefined;
/** Dawn's GPU object must outlive its devices: collected, it takes them down. */
let gpu: GPU | undefined;

/** The process's one device, or the reason there is none (with the command that fixes it). */
export function nodeDevice(onError: (message: string) => void = (m) => console.error(`WebGPU error: ${m}`)): Promise<NodeGpu | string> {
  found ??= (async () => {
    useSoftwareDriverIfPresent();
    let webgpu: { create(o: string[]): GPU; globals: object };
    try {
      webgpu = (await import("webgpu")) as unknown as typeof webgpu;
    } catch (e) {
      return `the npm package \`webgpu\` does not load here (${(e as Error).message})`;
    }
    Object.assign(globalThis, webgpu.globals);
    gpu = webgpu.create([]);
    const adapter = await gpu.requestAdapter();
    if (!adapter) return `no WebGPU adapter (no GPU, and no software driver: run \`${SETUP_COMMAND}\` to install SwiftShader)`;
    const info = adapter.info;
    const device = await adapter.requestDevice({
      requiredLimits: { maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize, maxBufferSize: adapter.limits.maxBufferSize },
    });
    device.addEventListener("uncapturederror", (e) => onError((e as GPUUncapturedErrorEvent).error.message));
    return { device, adapterInfo: `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.replace(/\s+/g, " ").trim() };
  })();
  return found;
}
