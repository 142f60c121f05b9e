// One WebGPU device for the whole WebGPU suite (src/backend/webgpu/node-device.ts):
// Dawn on the machine's GPU or on SwiftShader from `npm run setup:webgpu`.
// Without an adapter the suite is skipped with the reason, unless
// NNC_REQUIRE_WEBGPU=1 (CI), where that is a failure.
import { nodeDevice, type NodeGpu } from "../src/backend/webgpu/node-device.ts";

export { SETUP_COMMAND, useSoftwareDriverIfPresent } from "../src/backend/webgpu/node-device.ts";
export const REQUIRED = process.env["NNC_REQUIRE_WEBGPU"] === "1";

export type GpuContext = NodeGpu;

/** The device, or the reason there is none. */
export function webgpuDevice(): Promise<GpuContext | string> {
  return nodeDevice();
}
