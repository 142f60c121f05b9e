// The speed targets the issues set for the cpu suite, checked on one run's
// rows: the CPU backend's (against TensorFlow.js) and issue 16's (against
// PyTorch and ONNX Runtime). Ratios from one run only; a peer that was not
// measured leaves its target "–", never met.
//
// Beside the targets against native peers goes a floor: the workload's
// matrix products alone, at the ceiling of WebAssembly's 128-bit SIMD
// measured on this core in the same run (bench/simd-peak.ts), as a ratio of
// the peer's time. A floor above the target's ratio means no WebAssembly
// kernel on one thread can meet it here, however little else it spends.
import type { CpuRow, EngineId } from "./cpu.ts";
import type { SimdPeak } from "./simd-peak.ts";

export interface TargetCheck {
  target: string;
  value: string;
  met: boolean | null;
  /** Where a floor applies: the products at the SIMD ceiling, over the peer's time. */
  floor?: string;
}

/** What the floors need: the ceiling, and the products' floating-point operations per call of each MLP case. */
export interface ProductBound {
  peak: SimdPeak;
  /** Of a train step (forward and backward products), and of inference at batch 100. */
  mlpTrainFlops: number;
  mlpInfer100Flops: number;
}

/**
 * The floor line of a case: its products at the best ceiling the engine has
 * (the fused multiply-adds where it has relaxed SIMD), in time and as a
 * ratio of the peer's time.
 */
export function productFloor(flops: number, peak: SimdPeak, peerMs: number | null): string {
  const gflops = Math.max(peak.plain, peak.fused ?? 0);
  const ms = flops / (gflops * 1e9) * 1000;
  const ceiling = peak.fused === null
    ? `${peak.plain.toFixed(1)} GFLOP/s (plain SIMD; this engine has no relaxed SIMD)`
    : `${gflops.toFixed(1)} GFLOP/s (plain SIMD ${peak.plain.toFixed(1)}, fused ${peak.fused.toFixed(1)})`;
  const ratio = peerMs === null ? "" : `, ${(ms / peerMs).toFixed(2)}× the peer's time`;
  return `floor ${(flops / 1e6).toFixed(2)} MFLOP of products at the f32x4 ceiling ${ceiling}: ${(ms * 1000).toFixed(0)} µs${ratio}`;
}

const check = (target: string, value: number | null, met: (v: number) => boolean, unit: string): TargetCheck => ({
  target,
  value: value === null ? "n/a" : `${value.toFixed(2)}${unit}`,
  met: value === null ? null : met(value),
});

/** The engines batch-1 inference must beat: every peer in the suite. */
const PEERS: readonly EngineId[] = ["tfjsCpu", "tfjsWasm", "torch", "ortNode", "ortWeb"];

export function cpuTargets(rows: readonly CpuRow[], bound?: ProductBound): TargetCheck[] {
  const byId = (id: string) => rows.find((r) => r.id === id)!;
  /** Peer time over nnc time: above 1, nnc is faster. */
  const speedup = (id: string, engine: EngineId, peer: EngineId) => {
    const r = byId(id);
    return r.ms[engine] === null || r.ms[peer] === null ? null : r.ms[peer]! / r.ms[engine]!;
  };
  const out = ["matmul256", "matmul512", "matmul1024"].map((id) =>
    check(`${byId(id).label}: ≥ 6 GFLOP/s per thread`, byId(id).gflops?.nnc ?? null, (v) => v >= 6, " GFLOP/s"));
  out.push(
    check("MLP train step: ≥ 1.25× faster than tfjs-wasm, 1 thread", speedup("mlpTrain", "nnc", "tfjsWasm"), (v) => v >= 1.25, "×"),
    check("MLP train step, nnc on 2 threads: ≥ 2.4× faster than tfjs-wasm, 1 thread", speedup("mlpTrain", "nnc2", "tfjsWasm"), (v) => v >= 2.4, "×"),
    check("MLP train step: ≥ 7× faster than tfjs-cpu", speedup("mlpTrain", "nnc", "tfjsCpu"), (v) => v >= 7, "×"),
  );
  const infer1 = byId("mlpInfer1").ms.nnc;
  out.push(check("MLP inference, batch 1: ≤ 60 µs", infer1 === null ? null : infer1 * 1000, (v) => v <= 60, " µs"));

  // Issue 16. Written as the issue states them: a ratio of times, nnc over the peer, for "≤ 1.0× PyTorch".
  const slowdown = (id: string, peer: EngineId) => {
    const s = speedup(id, "nnc", peer);
    return s === null ? null : 1 / s;
  };
  const withFloor = (c: TargetCheck, id: string, peer: EngineId, flops: number | undefined): TargetCheck =>
    bound && flops !== undefined ? { ...c, floor: productFloor(flops, bound.peak, byId(id).ms[peer]) } : c;
  out.push(
    withFloor(check("MLP train step, 1 thread: nnc time ≤ 1.0× PyTorch's", slowdown("mlpTrain", "torch"), (v) => v <= 1, "×"), "mlpTrain", "torch", bound?.mlpTrainFlops),
    check("conv train step, 1 thread: nnc time ≤ 1.0× PyTorch's", slowdown("convTrain", "torch"), (v) => v <= 1, "×"),
    withFloor(check("MLP inference, batch 100: nnc time ≤ 1.5× ONNX Runtime native's", slowdown("mlpInfer100", "ortNode"), (v) => v <= 1.5, "×"), "mlpInfer100", "ortNode", bound?.mlpInfer100Flops),
    check("MLP inference, batch 100: nnc time ≤ 1.0× onnxruntime-web's", slowdown("mlpInfer100", "ortWeb"), (v) => v <= 1, "×"),
  );
  // Ahead of every peer that ran: the slowest margin is the one that counts.
  const margins = PEERS.map((p) => speedup("mlpInfer1", "nnc", p)).filter((v): v is number => v !== null);
  const ran = PEERS.filter((p) => speedup("mlpInfer1", "nnc", p) !== null);
  out.push(check(`MLP inference, batch 1: ahead of every peer (${ran.join(", ") || "none ran"}), the smallest speed-up`, margins.length ? Math.min(...margins) : null, (v) => v > 1, "×"));
  return out;
}
