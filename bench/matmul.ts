// Throughput of the CPU runtime's gemm (src/backend/cpu/runtime/gemm.ts) on
// square float32 products, in GFLOP/s (2·n³ floating-point operations per
// product), the median of several timed runs after a warm-up, single-threaded:
// on the WebAssembly SIMD kernels (operands in a model-like WebAssembly
// memory, what emitted modules run) and on the JavaScript kernels (wasm:
// false, or a platform without WebAssembly SIMD). A plain triple loop over
// the same Float32Arrays runs in the same process for comparison; the cpu
// suite compares the same gemm with TensorFlow.js.
// Run on its own: `npx tsx bench/matmul.ts [sizes…]`.
import { gemm, gemmWorkspace } from "../src/backend/cpu/runtime/gemm.ts";
import { createKernelMemory } from "../src/backend/cpu/runtime/wasm.ts";
import { markdownTable } from "./table.ts";
import { breathe, filled, FULL, time, type TimingOptions } from "./timing.ts";

export interface MatmulRow {
  size: number;
  /** The WebAssembly kernels, what emitted modules use. */
  gflops: number;
  /** The JavaScript kernels. */
  jsGflops: number;
  naiveGflops: number;
}

/** i-k-j loops, the usual "naive" order (row of C updated by a row of B). */
function naive(n: number, a: Float32Array, b: Float32Array, c: Float32Array): void {
  c.fill(0);
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < n; p++) {
      const av = a[i * n + p]!;
      for (let j = 0; j < n; j++) c[i * n + j] += av * b[p * n + j]!;
    }
  }
}

/** A, B and C of an n×n×n product in one memory, as a model holds them, with the gemm workspace for it. */
export function squareProduct(n: number, wasm: boolean): () => void {
  const memory = createKernelMemory(3 * n * n, 0, 1, wasm);
  if (wasm && memory.wasm === null) throw new Error(`no WebAssembly kernels: ${memory.note}`);
  const arena = memory.arena;
  arena.set(filled(n * n, 1, -0.5, 0.5), 0);
  arena.set(filled(n * n, 2, -0.5, 0.5), n * n);
  const ws = gemmWorkspace(n, n, n, memory.wasm);
  return () => gemm(ws, false, false, n, n, n, arena, 0, n, arena, n * n, n, arena, 2 * n * n, n, false);
}

export async function benchMatmul(o: TimingOptions, sizes: readonly number[] = [256, 512, 1024]): Promise<MatmulRow[]> {
  const rows: MatmulRow[] = [];
  for (const n of sizes) {
    const gflops = (ms: number) => (2 * n ** 3) / (ms / 1000) / 1e9;
    const t = await time(squareProduct(n, true), o);
    const tj = await time(squareProduct(n, false), o);
    // The naive loop is only the baseline: a short measurement is enough.
    const a = filled(n * n, 1, -0.5, 0.5);
    const b = filled(n * n, 2, -0.5, 0.5);
    const c = new Float32Array(n * n);
    const tn = await time(() => naive(n, a, b, c), { ...o, warmup: 1, samples: 3, maxCaseMs: Math.min(o.maxCaseMs, 2000) });
    rows.push({ size: n, gflops: gflops(t.ms), jsGflops: gflops(tj.ms), naiveGflops: gflops(tn.ms) });
    await breathe();
  }
  return rows;
}

export async function matmulSuite(o: TimingOptions, sizes?: readonly number[]): Promise<unknown> {
  const rows = await benchMatmul(o, sizes);
  console.log(`\ngemm, float32, single thread (median of several runs)`);
  console.log(markdownTable(["n", "gemm, WebAssembly SIMD GFLOP/s", "gemm, JavaScript GFLOP/s", "naive GFLOP/s", "WebAssembly vs JavaScript"],
    rows.map((r) => [String(r.size), r.gflops.toFixed(2), r.jsGflops.toFixed(2), r.naiveGflops.toFixed(2), `${(r.gflops / r.jsGflops).toFixed(1)}×`])));
  return { rows };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
  await matmulSuite(FULL, sizes.length > 0 ? sizes : undefined);
}
