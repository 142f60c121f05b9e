// Run by test/gemm-wasm.test.ts as `node --experimental-wasm-relaxed-simd --import tsx
// test/relaxed-gemm-check.ts` where the test's own engine has no relaxed SIMD (Node.js
// 20): the fused multiply-add variant of gemm.wat agrees with float64 products within
// the float32 bound, and a product split by rows or by columns gives the bits of the
// whole. Prints "relaxed gemm: N cases ok" or throws (a non-zero exit).
import { GEMM_WASM_PACK_FLOATS, GEMM_WASM_RELAXED_BASE64 } from "../src/backend/cpu/runtime/gemm-wasm.ts";
import { seededRandom } from "./helpers.ts";

type GemmFn = (...args: number[]) => void;
const api = (globalThis as unknown as { WebAssembly: { Memory: new (d: object) => { buffer: ArrayBuffer }; Module: new (b: Uint8Array) => object; Instance: new (m: object, i: object) => { exports: Record<string, unknown> } } }).WebAssembly;
const memory = new api.Memory({ initial: 256, maximum: 256 });
const gemm = new api.Instance(new api.Module(new Uint8Array(Buffer.from(GEMM_WASM_RELAXED_BASE64, "base64"))), { env: { memory } }).exports["gemm"] as GemmFn;
const f32 = new Float32Array(memory.buffer);
const u32 = new Uint32Array(memory.buffer);
const r = seededRandom(5);
const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
const PACK = 4_000_000;
let cases = 0;
for (let s = 0; s < 30; s++) {
  const [m, n, k] = [int(1, 140), int(1, 140), int(1, 600)];
  const [transA, transB] = [r() < 0.5, r() < 0.5];
  const [lda, ldb, ldc] = [transA ? m : k, transB ? k : n, n];
  const [A, B, C, D] = [0, 1_000_000, 2_000_000, 3_000_000];
  for (let i = 0; i < m * k; i++) f32[A + i] = 2 * r() - 1;
  for (let i = 0; i < k * n; i++) f32[B + i] = 2 * r() - 1;
  gemm(+transA, +transB, m, n, k, 4 * A, lda, 4 * B, ldb, 4 * C, ldc, 0, 4 * PACK, 1);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      let abs = 0;
      for (let p = 0; p < k; p++) {
        const x = f32[A + (transA ? p * lda + i : i * lda + p)]! * f32[B + (transB ? j * ldb + p : p * ldb + j)]!;
        sum += x;
        abs += Math.abs(x);
      }
      if (!(Math.abs(f32[C + i * ldc + j]! - sum) <= (k + 2) * 2 ** -23 * abs)) throw new Error(`case ${s} (${m}×${n}×${k}): C(${i}, ${j}) = ${f32[C + i * ldc + j]}, float64 ${sum}`);
    }
  }
  // Split by rows, then by columns, into D: the same bits as C.
  const cut = int(1, Math.max(1, m - 1));
  gemm(+transA, +transB, cut, n, k, 4 * A, lda, 4 * B, ldb, 4 * D, ldc, 0, 4 * PACK, 1);
  if (m > cut) gemm(+transA, +transB, m - cut, n, k, 4 * (A + (transA ? cut : cut * lda)), lda, 4 * B, ldb, 4 * (D + cut * ldc), ldc, 0, 4 * PACK, 1);
  for (let i = 0; i < m * n; i++) if (u32[C + i] !== u32[D + i]) throw new Error(`case ${s}: split by rows at ${cut} differs at ${i}`);
  const cutN = int(1, Math.max(1, n - 1));
  gemm(+transA, +transB, m, cutN, k, 4 * A, lda, 4 * B, ldb, 4 * D, ldc, 0, 4 * PACK, 1);
  if (n > cutN) gemm(+transA, +transB, m, n - cutN, k, 4 * A, lda, 4 * (B + (transB ? cutN * ldb : cutN)), ldb, 4 * (D + cutN), ldc, 0, 4 * PACK, 1);
  for (let i = 0; i < m * n; i++) if (u32[C + i] !== u32[D + i]) throw new Error(`case ${s}: split by columns at ${cutN} differs at ${i}`);
  cases++;
}
if (GEMM_WASM_PACK_FLOATS > 1_000_000) throw new Error("packing space overlaps the operands");
console.log(`relaxed gemm: ${cases} cases ok`);
