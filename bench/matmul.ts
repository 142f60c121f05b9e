// Throughput of the CPU runtime's gemm (src/backend/cpu/runtime/gemm.ts) on
// square float32 products, in GFLOP/s (2·n³ floating-point operations per
// product), best of several timed runs after a warm-up, single-threaded.
// A plain triple loop over the same Float32Arrays runs in the same process
// for comparison. Run on its own: `npx tsx bench/matmul.ts [sizes…]`.
import { gemm, gemmWorkspace } from "../src/backend/cpu/runtime/gemm.ts";

export interface MatmulRow {
  size: number;
  gflops: number;
  naiveGflops: number;
}

function randomMatrix(n: number, seed: number): Float32Array {
  const out = new Float32Array(n * n);
  let s = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    // A small LCG: the values only need to be non-trivial, not random.
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
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

/** Best seconds of `runs` timed calls of f, after `warm` untimed ones. */
function best(f: () => void, runs: number, warm: number): number {
  for (let i = 0; i < warm; i++) f();
  let t = Infinity;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    f();
    t = Math.min(t, (performance.now() - t0) / 1000);
  }
  return t;
}

export async function benchMatmul(sizes = [256, 512, 1024]): Promise<{ size: number; gflops: number; naiveGflops: number }[]> {
  const rows: MatmulRow[] = [];
  const max = Math.max(...sizes);
  const ws = gemmWorkspace(max, max, max);
  for (const n of sizes) {
    const a = randomMatrix(n, 1);
    const b = randomMatrix(n, 2);
    const c = new Float32Array(n * n);
    const flops = 2 * n ** 3;
    // Enough runs for about a second of gemm per size, at least 3.
    const runs = Math.max(3, Math.min(20, Math.round(6e9 / flops)));
    const t = best(() => gemm(ws, false, false, n, n, n, a, 0, n, b, 0, n, c, 0, n, false, null, 0, 0), runs, 2);
    const tn = best(() => naive(n, a, b, c), n >= 1024 ? 2 : 3, 1);
    rows.push({ size: n, gflops: flops / t / 1e9, naiveGflops: flops / tn / 1e9 });
    // Yield between sizes so a caller's event loop (and output) keeps up.
    await new Promise((r) => setTimeout(r, 0));
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
  const rows = await benchMatmul(sizes.length > 0 ? sizes : undefined);
  console.log(`gemm, float32, single thread (${process.version}; best of several runs)`);
  console.log("| n | gemm GFLOP/s | naive GFLOP/s | speed-up |\n|---:|---:|---:|---:|");
  for (const r of rows) console.log(`| ${r.size} | ${r.gflops.toFixed(2)} | ${r.naiveGflops.toFixed(2)} | ${(r.gflops / r.naiveGflops).toFixed(1)}× |`);
}
