// Times the WebAssembly SIMD gemm (src/backend/cpu/runtime/gemm.wat) next to
// the JavaScript gemm of src/backend/cpu/runtime/gemm.ts, single-threaded:
// square products n × n × n in GFLOP/s (2·n³ per product) and the batch-1
// matrix-vector product 1 × 784 · 784 × 100 in µs, each the median of several
// timed runs after a warm-up (which also lets V8 tier the wasm up from
// Liftoff to TurboFan).
//
//   npx tsx bench/gemm-wasm.ts [sizes…]          the module checked in (gemm-wasm.ts)
//   npx tsx bench/gemm-wasm.ts --wat [sizes…]    gemm.wat assembled now (while tuning it)
import { GEMM_WASM_BASE64, GEMM_WASM_PACK_FLOATS } from "../src/backend/cpu/runtime/gemm-wasm.ts";
import { gemm, gemmWorkspace } from "../src/backend/cpu/runtime/gemm.ts";
import { filled } from "./timing.ts";

/** The parts of the WebAssembly API used here, typed by hand (the project's types have no DOM lib). */
interface WasmApi {
  Memory: new (descriptor: { initial: number; maximum: number }) => { readonly buffer: ArrayBuffer };
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> };
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

type GemmFn = (transA: number, transB: number, m: number, n: number, k: number, a: number, lda: number, b: number, ldb: number, c: number, ldc: number, accumulate: number, pack: number) => void;
type GemvFn = (mm: number, nn: number, k: number, a: number, sai: number, sap: number, b: number, sbp: number, c: number, sci: number, scj: number, accumulate: number) => void;

const args = process.argv.slice(2);
const fromWat = args.includes("--wat");
const sizes = args.filter((s) => s !== "--wat").map(Number).filter((n) => n > 0);
if (sizes.length === 0) sizes.push(256, 512, 1024);

async function moduleBytes(): Promise<Uint8Array> {
  if (!fromWat) return new Uint8Array(Buffer.from(GEMM_WASM_BASE64, "base64"));
  const { assembleGemm } = await import("../scripts/build-wasm.ts");
  return assembleGemm(false);
}

/** Median milliseconds of one call of f: `warmup` untimed calls, then `samples` timed batches of `inner` calls. */
function median(f: () => void, samples: number, inner = 1, warmup = 3): number {
  for (let i = 0; i < warmup * inner; i++) f();
  const times: number[] = [];
  for (let s = 0; s < samples; s++) {
    const t0 = performance.now();
    for (let i = 0; i < inner; i++) f();
    times.push((performance.now() - t0) / inner);
  }
  times.sort((x, y) => x - y);
  return times[times.length >> 1]!;
}

/** Deterministic values in [−0.5, 0.5), written into x. */
const fill = (x: Float32Array, seed: number) => x.set(filled(x.length, seed, -0.5, 0.5));

const bytes = await moduleBytes();
const maxN = Math.max(...sizes, 784);
const align = (x: number) => Math.ceil(x / 64) * 64;
// Byte layout: A, B, C (maxN² floats each), then the packing workspace.
const aAt = 0;
const bAt = align(aAt + 4 * maxN * maxN);
const cAt = align(bAt + 4 * maxN * maxN);
const packAt = align(cAt + 4 * maxN * maxN);
const pages = Math.ceil((packAt + 4 * GEMM_WASM_PACK_FLOATS) / 65536);
const memory = new wasmApi.Memory({ initial: pages, maximum: 65536 });
const instance = new wasmApi.Instance(new wasmApi.Module(bytes), { env: { memory } });
const wasmGemm = instance.exports.gemm as GemmFn;
const wasmGemv = instance.exports.gemv as GemvFn;
const heap = new Float32Array(memory.buffer);

console.log(`wasm module: ${bytes.length} bytes${fromWat ? " (assembled from gemm.wat)" : ""}; packing workspace ${GEMM_WASM_PACK_FLOATS} floats`);
console.log("\n| n | wasm GFLOP/s | JS GFLOP/s | wasm/JS |\n|---|---|---|---|");
const ws = gemmWorkspace(maxN, maxN, maxN);
for (const n of sizes) {
  const a = heap.subarray(aAt / 4, aAt / 4 + n * n);
  const b = heap.subarray(bAt / 4, bAt / 4 + n * n);
  fill(a, 1);
  fill(b, 2);
  const gflops = (ms: number) => (2 * n ** 3) / (ms / 1000) / 1e9;
  const samples = n <= 256 ? 31 : n <= 512 ? 11 : 5;
  const inner = n <= 256 ? 4 : 1;
  const tw = median(() => wasmGemm(0, 0, n, n, n, aAt, n, bAt, n, cAt, n, 0, packAt), samples, inner);
  const ja = a.slice();
  const jb = b.slice();
  const jc = new Float32Array(n * n);
  const tj = median(() => gemm(ws, false, false, n, n, n, ja, 0, n, jb, 0, n, jc, 0, n, false), Math.min(samples, 5), inner, 1);
  console.log(`| ${n} | ${gflops(tw).toFixed(2)} | ${gflops(tj).toFixed(2)} | ${(tj / tw).toFixed(1)}× |`);
}

// Batch-1 inference's x·W: one row of 784 against a row-major 784 × 100 W.
{
  const k = 784;
  const nn = 100;
  const x = heap.subarray(aAt / 4, aAt / 4 + k);
  const w = heap.subarray(bAt / 4, bAt / 4 + k * nn);
  fill(x, 3);
  fill(w, 4);
  const tw = median(() => wasmGemv(1, nn, k, aAt, k, 1, bAt, nn, cAt, nn, 1, 0), 31, 2000);
  const jx = x.slice();
  const jw = w.slice();
  const jc = new Float32Array(nn);
  const tj = median(() => gemm(ws, false, false, 1, nn, k, jx, 0, k, jw, 0, nn, jc, 0, nn, false), 31, 200);
  console.log(`\n1 × 784 · 784 × 100: wasm gemv ${(tw * 1000).toFixed(1)} µs, JS gemm ${(tj * 1000).toFixed(1)} µs`);
  // Batch 2: the two rows share every load of W.
  const x2 = heap.subarray(aAt / 4, aAt / 4 + 2 * k);
  fill(x2, 5);
  const tw2 = median(() => wasmGemv(2, nn, k, aAt, k, 1, bAt, nn, cAt, nn, 1, 0), 31, 1000);
  const jx2 = x2.slice();
  const jc2 = new Float32Array(2 * nn);
  const tj2 = median(() => gemm(ws, false, false, 2, nn, k, jx2, 0, k, jw, 0, nn, jc2, 0, nn, false), 31, 100);
  console.log(`2 × 784 · 784 × 100: wasm gemv ${(tw2 * 1000).toFixed(1)} µs, JS gemm ${(tj2 * 1000).toFixed(1)} µs`);
}
