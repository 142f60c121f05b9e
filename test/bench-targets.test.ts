// The floors the cpu suite prints beside issue 16's targets against native
// peers (bench/cpu-targets.ts): the products' FLOPs counted from the model,
// the time they need at the measured f32x4 ceiling, and the ratio to the peer.
import { describe, expect, it } from "vitest";
import { cpuTargets, productFloor } from "../bench/cpu-targets.ts";
import { ENGINES, type CpuRow } from "../bench/cpu.ts";
import { compileExample, productFlops } from "../bench/nnc-models.ts";
import { simdPeak } from "../bench/simd-peak.ts";

const row = (id: string, ms: Partial<Record<string, number>>): CpuRow => ({
  id,
  label: id,
  ms: Object.fromEntries(ENGINES.map((e) => [e.id, ms[e.id] ?? null])) as CpuRow["ms"],
  notes: {},
});

describe("bench floors", () => {
  it("counts the products of mnist_tanh's forward pass and training step from its shapes", async () => {
    const ex = await compileExample("mnist_tanh.nn");
    const [batch, inputs, hidden, classes] = [100, 784, 100, 10];
    const forward = 2 * batch * inputs * hidden + 2 * batch * hidden * classes;
    // Backward: dW1 = l1ᵀ·d2, d1 = d2·W1ᵀ, dW0 = l0ᵀ·d1 (no gradient for the input).
    const backward = 2 * hidden * batch * classes + 2 * batch * classes * hidden + 2 * inputs * batch * hidden;
    expect(productFlops(ex, { batch })).toEqual({ forward, step: forward + backward });
  }, 60_000);

  it("puts the products at the best ceiling the engine has, as a ratio of the peer's time", () => {
    // 64 MFLOP at 32 GFLOP/s is 2 ms: twice a 1 ms peer.
    expect(productFloor(64e6, { plain: 32, fused: null }, 1)).toBe(
      "floor 64.00 MFLOP of products at the f32x4 ceiling 32.0 GFLOP/s (plain SIMD; this engine has no relaxed SIMD): 2000 µs, 2.00× the peer's time");
    // Fused multiply-adds at 64 GFLOP/s halve it.
    expect(productFloor(64e6, { plain: 32, fused: 64 }, 4)).toMatch(/ceiling 64\.0 GFLOP\/s \(plain SIMD 32\.0, fused 64\.0\): 1000 µs, 0\.25× the peer's time$/);
    expect(productFloor(64e6, { plain: 32, fused: null }, null)).toMatch(/: 2000 µs$/);
  });

  it("sets a floor beside the two targets against native peers, and only there", () => {
    const rows = ["matmul256", "matmul512", "matmul1024", "mlpTrain", "mlpInfer100", "mlpInfer1", "convTrain", "convInfer"].map((id) =>
      row(id, { nnc: 1, torch: 0.5, ortNode: 0.25 }));
    const bound = { peak: { plain: 10, fused: null }, mlpTrainFlops: 8e6, mlpInfer100Flops: 4e6 };
    const floors = cpuTargets(rows, bound).filter((c) => c.floor !== undefined);
    expect(floors.map((c) => [c.target, c.met, c.floor!.match(/(\d+) µs, ([\d.]+)×/)!.slice(1)])).toEqual([
      ["MLP train step, 1 thread: nnc time ≤ 1.0× PyTorch's", false, ["800", "1.60"]],
      ["MLP inference, batch 100: nnc time ≤ 1.5× ONNX Runtime native's", false, ["400", "1.60"]],
    ]);
    expect(cpuTargets(rows).some((c) => c.floor !== undefined)).toBe(false);
  });

  it("measures a plain f32x4 ceiling on this engine", async () => {
    const peak = await simdPeak(2, 5);
    expect(peak.plain).toBeGreaterThan(1); // GFLOP/s: any SIMD engine does far more
    expect(peak.fused === null || peak.fused > 1).toBe(true);
  });
});
