// Where the time of batch-1 inference goes: examples/mnist_tanh.nn
// (784-100 tanh, 10 softmax) compiled in-process, `forward({ l0 })` on a
// model created with `dims: { batch: 1 }`, and the pieces of that call timed
// alone with the runtime's own kernels (WebAssembly, as the model runs
// them) on arrays of the same sizes: copying
// the input, the 1×784 by 784×100 product with its tanh, the 1×100 by 100×10
// product, the softmax. Medians of interleaved samples. Run:
// `npx tsx bench/batch1.ts` (`--rounds 15` for more samples).
import { parseArgs } from "node:util";
import { gemm, gemmWorkspace } from "../src/backend/cpu/runtime/gemm.ts";
import { softmax } from "../src/backend/cpu/runtime/nn.ts";
import { createKernelMemory } from "../src/backend/cpu/runtime/wasm.ts";
import { compileExample } from "./nnc-models.ts";
import { filled, median } from "./timing.ts";

const { values } = parseArgs({ options: { rounds: { type: "string", default: "9" }, threads: { type: "string", default: "1" } } });
const rounds = Number(values.rounds);

const mlp = await compileExample("mnist_tanh.nn");
const model = mlp.createModel({ dims: { batch: 1 }, seed: 1, threads: Number(values.threads) });
const x = filled(784, 1);
// The pieces work in a memory laid out as the model's: x, W0, h, W1, z, p.
const memory = createKernelMemory(784 + 78400 + 100 + 1000 + 10 + 10, 0, 1, true);
const arena = memory.arena;
const [X, W0, H, W1, Z, P] = [0, 784, 79184, 79284, 80284, 80294];
arena.set(x, X);
arena.set(model.params["W0"]!, W0);
arena.set(model.params["W1"]!, W1);
const ws = gemmWorkspace(1, 100, 784, memory.wasm);

const cases: [string, () => unknown][] = [
  ["forward({ l0 }), whole call", () => model.forward({ l0: x })],
  ["input copy (f32.set, 784 values)", () => arena.set(x, X)],
  [
    "gemm 1×784 · 784×100, then tanh (the model's epilogue loop)",
    () => {
      gemm(ws, false, false, 1, 100, 784, arena, X, 784, arena, W0, 100, arena, H, 100, false);
      for (let i = 0; i < 100; i++) arena[H + i] = Math.tanh(arena[H + i]!);
    },
  ],
  ["gemm 1×100 · 100×10", () => gemm(ws, false, false, 1, 10, 100, arena, H, 100, arena, W1, 10, arena, Z, 10, false)],
  ["softmax of 10", () => softmax(arena, Z, arena, P, 1, 10, 1)],
];

/** Microseconds per call of one sample lasting at least 20 ms. */
function sample(f: () => unknown): number {
  let n = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) f();
    const ms = performance.now() - t0;
    if (ms >= 20) return (ms * 1000) / n;
    n *= ms < 2 ? 10 : 2;
  }
}

for (const [, f] of cases) for (let i = 0; i < 2000; i++) f(); // warm up (JIT)
const us: number[][] = cases.map(() => []);
for (let r = 0; r < rounds; r++) cases.forEach(([, f], i) => us[i]!.push(sample(f)));
console.log(`batch-1 inference of mnist_tanh, ${rounds} interleaved samples, median (min) µs per call`);
cases.forEach(([label], i) => console.log(`${label.padEnd(34)} ${median(us[i]!).toFixed(2).padStart(8)} (${Math.min(...us[i]!).toFixed(2)})`));
model.dispose?.();
