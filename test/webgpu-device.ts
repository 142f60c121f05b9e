// One WebGPU device for the whole WebGPU suite: Dawn through the npm package
// `webgpu`, on the machine's GPU or on the SwiftShader software driver that
// `npm run setup:webgpu` puts in .cache/swiftshader. Without an adapter the
// suite is skipped with the reason, unless NNC_REQUIRE_WEBGPU=1 (CI), where
// that is a failure.
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(import.meta.dirname, "..");
export const SETUP_COMMAND = "npm run setup:webgpu";
export const REQUIRED = process.env["NNC_REQUIRE_WEBGPU"] === "1";

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

export interface GpuContext {
  readonly device: GPUDevice;
  readonly adapterInfo: string;
}

let found: Promise<GpuContext | string> | undefined;
/** Dawn's GPU object must outlive its devices: collected, it takes them down. */
let gpu: GPU | undefined;

/** The device, or the reason there is none. */
export function webgpuDevice(): Promise<GpuContext | string> {
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
    const device = await adapter.requestDevice();
    void gpu;
    device.addEventListener("uncapturederror", (e) => {
      console.error("WebGPU error:", (e as GPUUncapturedErrorEvent).error.message);
    });
    return { device, adapterInfo: `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.trim() };
  })();
  return found;
}
