// One thread against two for the CPU backend: the runtime's gemm against
// gemmSplit with one helper thread on square float32 products, and the
// training step of examples/mnist_tanh.nn (784-100-10, tanh, softmax with
// cross-entropy) at batch 100 through the emitted module, created with
// `threads: 1` and `threads: 2`. The fastest of alternating timed runs after
// a warm-up; a speed-up needs two otherwise idle cores. Run:
// `npx tsx bench/threads.ts`.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { emitCpuModule } from "../src/backend/cpu/emit-module.ts";
import { gemmHelperSource } from "../src/backend/cpu/runtime-source.ts";
import { gemm, gemmWorkspace } from "../src/backend/cpu/runtime/gemm.ts";
import { createGemmTeam, disposeGemmTeam, gemmSplit, startGemmHelpers } from "../src/backend/cpu/runtime/threads.ts";
import { createKernelMemory } from "../src/backend/cpu/runtime/wasm.ts";
import { runGrad } from "../src/pipeline.ts";

const ROOT = join(import.meta.dirname, "..");

/**
 * Fastest milliseconds of f and of g over `runs` alternating calls each,
 * after `warm` untimed ones: alternating, so that both see the same load on
 * a shared machine, and the fastest, which such load can only slow.
 */
function fastest(f: () => void, g: () => void, runs: number, warm: number): [number, number] {
  for (let i = 0; i < warm; i++) {
    f();
    g();
  }
  let tf = Infinity;
  let tg = Infinity;
  for (let i = 0; i < runs; i++) {
    let t0 = performance.now();
    f();
    tf = Math.min(tf, performance.now() - t0);
    t0 = performance.now();
    g();
    tg = Math.min(tg, performance.now() - t0);
  }
  return [tf, tg];
}

export interface ThreadsRow {
  what: string;
  /** Milliseconds per call on one thread and on two. */
  one: number;
  two: number;
  /** GFLOP/s on one and two threads, for the plain products. */
  gflops?: [number, number];
}

export function benchGemmThreads(sizes: readonly number[] = [256, 512, 1024]): ThreadsRow[] {
  const max = Math.max(...sizes);
  // A, B and two results in one shared memory, as a model lays it out: the helper only works on operands it can see.
  const memory = createKernelMemory(4 * max * max, 0, 2, true);
  const arena = memory.arena;
  for (let i = 0; i < 2 * max * max; i++) arena[i] = Math.sin(i) / 2;
  const ws = gemmWorkspace(max, max, max, memory.wasm);
  const team = createGemmTeam(2);
  startGemmHelpers(team, memory, ws, gemmHelperSource);
  if (team.threads !== 2) throw new Error(`no helper thread: ${team.note}`);
  const rows: ThreadsRow[] = [];
  for (const n of sizes) {
    const b = max * max;
    const c = 2 * max * max;
    const runs = n >= 1024 ? 7 : 25;
    const [one, two] = fastest(
      () => gemm(ws, false, false, n, n, n, arena, 0, n, arena, b, n, arena, c, n, false),
      () => gemmSplit(team, ws, false, false, n, n, n, arena, 0, n, arena, b, n, arena, c, n, false),
      runs,
      2,
    );
    const gflops = (ms: number) => (2 * n ** 3) / (ms / 1000) / 1e9;
    rows.push({ what: `matmul ${n}×${n}×${n}`, one, two, gflops: [gflops(one), gflops(two)] });
  }
  disposeGemmTeam(team);
  return rows;
}

interface Model {
  threads: number;
  threadsNote: string | null;
  trainStep(batch: Record<string, Float32Array>): number;
  dispose(): void;
}

export async function benchTrainThreads(batch = 100): Promise<ThreadsRow> {
  const file = "mnist_tanh.nn";
  const r = runGrad(`examples/${file}`, readFileSync(join(ROOT, "examples", file), "utf8"));
  if (!r.grad) throw new Error(`${file} does not compile`);
  const dir = join(ROOT, "bench", "results");
  mkdirSync(dir, { recursive: true });
  const path = join(dir, "threads-mnist_tanh.ts");
  writeFileSync(path, emitCpuModule(r.grad));
  const mod = (await import(pathToFileURL(path).href)) as { createModel(o: { dims: { batch: number }; threads?: number }): Model };
  const data = {
    l0: Float32Array.from({ length: batch * 784 }, (_, i) => (Math.sin(i) + 1) / 2),
    y: Float32Array.from({ length: batch * 10 }, (_, i) => (i % 10 === Math.floor(i / 10) % 10 ? 1 : 0)),
  };
  const one = mod.createModel({ dims: { batch }, threads: 1 });
  const two = mod.createModel({ dims: { batch }, threads: 2 });
  if (two.threads !== 2) throw new Error(`threads: 2 gave ${two.threads}: ${two.threadsNote}`);
  const [t1, t2] = fastest(() => one.trainStep(data), () => two.trainStep(data), 300, 30);
  two.dispose();
  return { what: `mnist_tanh training step, batch ${batch}`, one: t1, two: t2 };
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  const rows = [...benchGemmThreads(), await benchTrainThreads()];
  console.log(`CPU backend, one thread against two (${process.version}; fastest of alternating runs)`);
  console.log("| case | 1 thread | 2 threads | speed-up |\n|---|---:|---:|---:|");
  for (const r of rows) {
    const cell = (ms: number, i: number) => (r.gflops ? `${ms.toFixed(2)} ms (${r.gflops[i]!.toFixed(2)} GFLOP/s)` : `${ms.toFixed(3)} ms`);
    console.log(`| ${r.what} | ${cell(r.one, 0)} | ${cell(r.two, 1)} | ${(r.one / r.two).toFixed(2)}× |`);
  }
}
