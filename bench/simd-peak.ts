// The ceiling of WebAssembly's 128-bit SIMD on this core: how many float32
// operations per second one thread can do with f32x4 multiplies and adds
// when nothing else stands in the way (no loads, no stores, no branches but
// the loop's). No matrix product written in WebAssembly SIMD can beat it, so
// a workload's products divided by it are a floor under that workload's time
// on one thread: the bound cpu-targets.ts prints beside the targets against
// PyTorch and ONNX Runtime, whose native kernels use the 256- and 512-bit
// vectors (AVX2, AVX-512) that WebAssembly does not have.
//
// The loop keeps CHAINS independent vectors, each updated as acc·m + c: a
// multiply then an add (plain SIMD), or one fused multiply-add (relaxed
// SIMD's f32x4.relaxed_madd, where the engine has it). On the AMD EPYC
// development core (family 26, Zen 5), plain: 8 chains reached 41 GFLOP/s, 10 reached 48, 12
// reached 58 and 13 fell back to 56 (V8 allocates 15 vector registers on x64
// and spills); fused: 65 with 12 chains (Node.js 20 with
// --experimental-wasm-relaxed-simd). The fused figure is the pipes' limit,
// 16 flops a cycle (two multiply or fused pipes, four lanes); the plain loop
// falls about a tenth short of it because a multiply then an add takes six
// cycles a chain, and twelve chains only just cover that. So where the
// engine has no relaxed SIMD the floor is stated from the plain figure and
// may be up to a tenth high.
import wabt from "wabt";

const CHAINS = 12;
/** Float operations per loop iteration: a multiply and an add on 4 lanes per chain. */
const FLOPS_PER_ITERATION = CHAINS * 2 * 4;

/** The module's text: peak(iterations) runs the loop and returns lane 0 of the sum, so that nothing is dead code. */
function peakWat(fused: boolean): string {
  const chains = Array.from({ length: CHAINS }, (_, i) => i);
  const update = (i: number) =>
    fused
      ? `(f32x4.relaxed_madd (local.get $a${i}) (local.get $m) (local.get $c))`
      : `(f32x4.add (f32x4.mul (local.get $a${i}) (local.get $m)) (local.get $c))`;
  return `(module
  (func (export "peak") (param $n i32) (result f32)
    (local $m v128) (local $c v128) ${chains.map((i) => `(local $a${i} v128)`).join(" ")}
    ;; acc·0.999 + 0.001 stays in (0, 1]: no denormals, no infinities.
    (local.set $m (f32x4.splat (f32.const 0.999)))
    (local.set $c (f32x4.splat (f32.const 0.001)))
    ${chains.map((i) => `(local.set $a${i} (f32x4.splat (f32.const ${(i + 1) / CHAINS})))`).join("\n    ")}
    (loop $each
      ${chains.map((i) => `(local.set $a${i} ${update(i)})`).join("\n      ")}
      (br_if $each (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    ${chains.slice(1).map((i) => `(local.set $a0 (f32x4.add (local.get $a0) (local.get $a${i})))`).join("\n    ")}
    (f32x4.extract_lane 0 (local.get $a0))))`;
}

interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> };
}

export interface SimdPeak {
  /** GFLOP/s of f32x4 multiplies and adds. */
  plain: number;
  /** GFLOP/s of f32x4.relaxed_madd, or null where the engine has no relaxed SIMD. */
  fused: number | null;
}

/**
 * The best of `samples` runs of about `ms` milliseconds each, in GFLOP/s
 * (the best, not the median: a ceiling is what the core does in its
 * quietest moment, and it bounds every engine alike).
 */
function timePeak(peak: (n: number) => number, samples: number, ms: number): number {
  // Warm-up: lets V8 tier the loop up from Liftoff to TurboFan, then sizes the samples.
  let n = 1 << 16;
  for (let t = performance.now(); performance.now() - t < ms; ) peak(n);
  const t0 = performance.now();
  peak(n);
  n = Math.max(1, Math.round((n * ms) / Math.max(performance.now() - t0, 0.01)));
  let best = 0;
  for (let s = 0; s < samples; s++) {
    const start = performance.now();
    peak(n);
    best = Math.max(best, (n * FLOPS_PER_ITERATION) / ((performance.now() - start) / 1000) / 1e9);
  }
  return best;
}

export async function simdPeak(samples = 7, ms = 40): Promise<SimdPeak> {
  const w = await wabt();
  const api = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
  const loop = (fused: boolean): ((n: number) => number) | null => {
    const module = w.parseWat("simd-peak.wat", peakWat(fused), { simd: true, relaxed_simd: fused });
    const bytes = module.toBinary({}).buffer;
    module.destroy();
    if (!api.validate(bytes)) return null; // no relaxed SIMD here (Node.js 20 without --experimental-wasm-relaxed-simd)
    return new api.Instance(new api.Module(bytes), {}).exports.peak as (n: number) => number;
  };
  const plain = loop(false);
  if (plain === null) throw new Error("simd-peak: this engine has no WebAssembly SIMD");
  const fused = loop(true);
  return { plain: timePeak(plain, samples, ms), fused: fused === null ? null : timePeak(fused, samples, ms) };
}
