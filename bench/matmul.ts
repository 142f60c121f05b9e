// Throughput of the CPU runtime's gemm (src/backend/cpu/runtime/gemm.ts) on
// square float32 products, in GFLOP/s (2·n³ floating-point operations per
// product), the median of several timed runs after a warm-up, single-threaded.
// A plain triple loop over the same Float32Arrays runs in the same process
// for comparison; the cpu suite compares the same gemm with TensorFlow.js.
// Run on its own: `npx tsx bench/matmul.ts [sizes…]`.
import { gemm, gemmWorkspace } from "../src/backend/cpu/runtime/gemm.ts";
import { markdownTable } from "./table.ts";
import { breathe, filled, FULL, time, type TimingOptions } from "./timing.ts";

export interface MatmulRow {
  size: number;
  gflops: number;
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

export async function benchMatmul(o: TimingOptions, sizes: readonly number[] = [256, 512, 1024]): Promise<MatmulRow[]> {
  const rows: MatmulRow[] = [];
  const max = Math.max(...sizes);
  const ws = gemmWorkspace(max, max, max);
  for (const n of sizes) {
    const a = filled(n * n, 1, -0.5, 0.5);
    const b = filled(n * n, 2, -0.5, 0.5);
    const c = new Float32Array(n * n);
    const gflops = (ms: number) => (2 * n ** 3) / (ms / 1000) / 1e9;
    const t = await time(() => gemm(ws, false, false, n, n, n, a, 0, n, b, 0, n, c, 0, n, false, null, 0, 0), o);
    // The naive loop is only the baseline: a short measurement is enough.
    const tn = await time(() => naive(n, a, b, c), { ...o, warmup: 1, samples: 3, maxCaseMs: Math.min(o.maxCaseMs, 2000) });
    rows.push({ size: n, gflops: gflops(t.ms), naiveGflops: gflops(tn.ms) });
    await breathe();
  }
  return rows;
}

export async function matmulSuite(o: TimingOptions, sizes?: readonly number[]): Promise<unknown> {
  const rows = await benchMatmul(o, sizes);
  console.log(`\ngemm, float32, single thread (median of several runs)`);
  console.log(markdownTable(["n", "gemm GFLOP/s", "naive GFLOP/s", "speed-up"],
    rows.map((r) => [String(r.size), r.gflops.toFixed(2), r.naiveGflops.toFixed(2), `${(r.gflops / r.naiveGflops).toFixed(1)}×`])));
  return { rows };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
  await matmulSuite(FULL, sizes.length > 0 ? sizes : undefined);
}
