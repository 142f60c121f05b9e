// A/B timing of versions of src/backend/cpu/runtime/gemm.wat, plain or fused
// (relaxed SIMD), in one process on one memory: every version runs each
// shape in turn, round after round, so that a busy machine slows all of them
// alike (timings of separate runs on a shared machine differ by more than
// the kernels do). Each sample is the process's CPU time (user + system)
// over a batch of calls, so a time slice lost to another process does not
// count; printed, in GFLOP/s, are the median and the speed at the 10th
// percentile of the times (the fast end).
//
//   git show HEAD~1:src/backend/cpu/runtime/gemm.wat > /tmp/old.wat
//   node --experimental-wasm-relaxed-simd --import tsx bench/gemm-ab.ts \
//     old=/tmp/old.wat new=src/backend/cpu/runtime/gemm.wat \
//     old-fused=/tmp/old.wat:relaxed new-fused=src/backend/cpu/runtime/gemm.wat:relaxed
//
// ROUNDS=n sets the rounds (default 60); SHAPES=100x4x784,T784x4x100 the
// shapes (m × n × k, T: A transposed) instead of the MLP's and two squares. The fused versions need relaxed
// SIMD (Node.js 20: --experimental-wasm-relaxed-simd).
import { readFileSync } from "node:fs";
import { assembleGemm, gemmPackFloats } from "../scripts/build-wasm.ts";

/** The parts of the WebAssembly API used here, typed by hand (the project's types have no DOM lib). */
interface WasmApi {
  Memory: new (descriptor: { initial: number; maximum: number }) => { readonly buffer: ArrayBuffer };
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> };
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
type GemmFn = (transA: number, transB: number, m: number, n: number, k: number, a: number, lda: number, b: number, ldb: number, c: number, ldc: number, accumulate: number, pack: number, alpha: number) => void;

/** The shapes of issue 16: the MLP's forward product, its weight gradient (Aᵀ·B), and two squares. */
const DEFAULT_SHAPES: readonly { name: string; transA: number; m: number; n: number; k: number }[] = [
  { name: "100 × 100 × 784", transA: 0, m: 100, n: 100, k: 784 },
  { name: "Aᵀ 784 × 100 × 100", transA: 1, m: 784, n: 100, k: 100 },
  { name: "512³", transA: 0, m: 512, n: 512, k: 512 },
  { name: "256³", transA: 0, m: 256, n: 256, k: 256 },
];
/** SHAPES=100x4x784,T784x4x100 (a leading T: A transposed) times those shapes instead, e.g. an edge sliver alone. */
const SHAPES = process.env["SHAPES"]
  ? process.env["SHAPES"].split(",").map((spec) => {
      const match = /^(T?)(\d+)x(\d+)x(\d+)$/.exec(spec);
      if (match === null) throw new Error(`SHAPES: expected [T]MxNxK, got ${spec}`);
      const [m, n, k] = [Number(match[2]), Number(match[3]), Number(match[4])];
      return { name: `${match[1] ? "Aᵀ " : ""}${m} × ${n} × ${k}`, transA: match[1] ? 1 : 0, m, n, k };
    })
  : DEFAULT_SHAPES;
const ROUNDS = Number(process.env["ROUNDS"] ?? 60);

// Byte layout: A, B, C (up to 1.1M floats each), then the largest packing workspace of the versions.
const A = 0;
const B = 4 * 1_100_000;
const C = 4 * 2_200_000;
const PACK = 4 * 3_300_000;
const versions: { name: string; gemm: GemmFn }[] = [];
const specs = process.argv.slice(2);
if (specs.length === 0) throw new Error("usage: bench/gemm-ab.ts name=file.wat[:relaxed] …");
const texts = specs.map((spec) => {
  const [name, rest] = spec.split("=") as [string, string | undefined];
  if (rest === undefined) throw new Error(`expected name=file.wat[:relaxed], got ${spec}`);
  const relaxed = rest.endsWith(":relaxed");
  return { name, relaxed, wat: readFileSync(relaxed ? rest.slice(0, -":relaxed".length) : rest, "utf8") };
});
const packFloats = Math.max(...texts.map((t) => gemmPackFloats(t.wat)));
const memory = new wasmApi.Memory({ initial: Math.ceil((PACK + 4 * packFloats) / 65536), maximum: 65536 });
for (const { name, relaxed, wat } of texts) {
  const bytes = await assembleGemm(false, wat, relaxed);
  versions.push({ name, gemm: new wasmApi.Instance(new wasmApi.Module(bytes), { env: { memory } }).exports["gemm"] as GemmFn });
  console.log(`${name}: ${bytes.length} bytes${relaxed ? " (fused)" : ""}`);
}
const heap = new Float32Array(memory.buffer);
// Values in [−0.5, 0.5): no denormals, no overflow.
for (let i = 0; i < C / 4; i++) heap[i] = ((i * 7919) % 1000) / 1000 - 0.5;

const call = (v: { gemm: GemmFn }, s: (typeof SHAPES)[number]) => v.gemm(s.transA, 0, s.m, s.n, s.k, A, s.transA ? s.m : s.k, B, s.n, C, s.n, 0, PACK, 1);
// Warm-up: every version on every shape for 300 ms, so that TurboFan's code runs everywhere before timing.
for (const s of SHAPES) for (const v of versions) for (const t = performance.now(); performance.now() - t < 300; ) call(v, s);

console.log(`\nGFLOP/s: median / at the 10th percentile of the times, ${ROUNDS} rounds\n\n| shape | ${versions.map((v) => v.name).join(" | ")} |\n|---|${versions.map(() => "---:|").join("")}`);
for (const s of SHAPES) {
  const flops = 2 * s.m * s.n * s.k;
  // About 200 MFLOP a batch: 2–4 ms, many scheduler ticks.
  const inner = Math.max(1, Math.round(1e8 / (s.m * s.n * s.k)));
  const samples = versions.map(() => [] as number[]);
  for (let r = 0; r < ROUNDS; r++) {
    versions.forEach((v, i) => {
      const before = process.cpuUsage();
      for (let c = 0; c < inner; c++) call(v, s);
      const used = process.cpuUsage(before);
      samples[i]!.push((flops * inner) / ((used.user + used.system) * 1e3));
    });
  }
  const cells = samples.map((g) => {
    g.sort((x, y) => x - y);
    return `${g[g.length >> 1]!.toFixed(1)} / ${g[Math.floor(g.length * 0.9)]!.toFixed(1)}`;
  });
  console.log(`| ${s.name} | ${cells.join(" | ")} |`);
}
