// Matrix products shared among threads: the runtime's gemmSplit against
// gemm on one thread, bit for bit, over every kind of product it splits; and
// emitted modules with `threads: 2` against the same module with one thread:
// the same params, outputs, loss, gradients and training steps, exactly.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emitCpuModule } from "../src/backend/cpu/emit-module.ts";
import { gemmHelperSource } from "../src/backend/cpu/runtime-source.ts";
import { gemm, gemmWorkspace } from "../src/backend/cpu/runtime/gemm.ts";
import { createGemmTeam, disposeGemmTeam, GEMM_SPLIT_MIN_WORK, gemmSplit, HELPER_SLOT, startGemmHelpers, TEAM_SLOTS, type GemmTeam } from "../src/backend/cpu/runtime/threads.ts";
import { createKernelMemory, type KernelMemory } from "../src/backend/cpu/runtime/wasm.ts";
import { toJavaScript } from "../src/backend/cpu/strip-types.ts";
import { runGrad } from "../src/pipeline.ts";
import { rendered } from "./helpers.ts";

const ROOT = join(import.meta.dirname, "..");
const OUT = join(import.meta.dirname, ".generated", "threads");

/** Same bits: NaNs and signed zeros included. */
function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return x.every((v, i) => v === y[i]);
}

describe("stripping types for the helper threads", () => {
  it("removes annotations and interfaces and keeps defaults", () => {
    const ts = `interface I {\n  a: number;\n}\nfunction f(a: number, b: Float32Array | null = null, ...rest: readonly number[]): void {\n  const xs: number[] = [];\n  return;\n}`;
    expect(toJavaScript([ts])).toBe("function f(a, b = null, ...rest) {\n  const xs = [];\n  return;\n}\n");
  });

  it("makes a helper script that parses as JavaScript", () => {
    const source = gemmHelperSource();
    expect(() => new Function("require", source)).not.toThrow();
    expect(source).toMatch(/^function gemm\(ws, transA,/m);
    expect(source).not.toMatch(/: (number|boolean|Float32Array)\b/);
  });
});

// ------------------------------------------------------------------ runtime

const ARENA = 1 << 22;

interface Case {
  m: number;
  n: number;
  k: number;
  transA?: boolean;
  transB?: boolean;
  accumulate?: boolean;
  what: string;
}

const CASES: Case[] = [
  { m: 100, n: 100, k: 784, what: "a layer's forward product (rows, k over several blocks)" },
  { m: 784, n: 100, k: 100, transA: true, what: "a weight gradient, Aᵀ read in place" },
  { m: 64, n: 300, k: 100, transB: true, what: "more columns than rows, Bᵀ" },
  { m: 257, n: 129, k: 300, transA: true, transB: true, accumulate: true, what: "odd sizes, both transposed, accumulating" },
  { m: 2, n: 5000, k: 60, what: "two rows: the direct kernel, split by columns" },
  { m: 3000, n: 1, k: 200, what: "one column: the direct kernel, split by rows" },
  { m: 3000, n: 1, k: 200, transA: true, what: "one column of Aᵀ: the matrix-vector kernel, split by rows" },
];

/** Fills the arena with NaN, then a case's operands (C too, for accumulating products); returns their offsets. */
function place(arena: Float32Array, c: Case, seed: number): { a: number; b: number; out: number } {
  arena.fill(NaN);
  let s = seed;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
  const a = 13;
  const b = a + c.m * c.k + 5;
  const out = b + c.k * c.n + 3;
  for (let i = 0; i < c.m * c.k; i++) arena[a + i] = next();
  for (let i = 0; i < c.k * c.n; i++) arena[b + i] = next();
  for (let i = 0; i < c.m * c.n; i++) arena[out + i] = c.accumulate ? next() : NaN;
  return { a, b, out };
}

/** A model-like memory of ARENA floats for `threads` threads: WebAssembly (shared when threads > 1) or plain arrays. */
function memoryFor(threads: number, wasm: boolean): KernelMemory {
  const memory = createKernelMemory(ARENA, 0, threads, wasm);
  // WebAssembly SIMD is in every Node.js this project supports: a fallback here would test the wrong kernels.
  expect(memory.wasm !== null).toBe(wasm);
  return memory;
}

function run(team: GemmTeam | null, memory: KernelMemory, c: Case, at: ReturnType<typeof place>): void {
  const ws = gemmWorkspace(1024, 1024, 1024, memory.wasm);
  const arena = memory.arena;
  const lda = c.transA ? c.m : c.k;
  const ldb = c.transB ? c.k : c.n;
  const args = [c.transA ?? false, c.transB ?? false, c.m, c.n, c.k, arena, at.a, lda, arena, at.b, ldb, arena, at.out, c.n, c.accumulate ?? false] as const;
  if (team === null) gemm(ws, ...args);
  else gemmSplit(team, ws, ...args);
}

const jobsDone = (team: GemmTeam, helper: number) => team.control[TEAM_SLOTS * helper + HELPER_SLOT.done]!;

describe.each([
  { threads: 2, wasm: true, kernels: "WebAssembly" },
  { threads: 3, wasm: true, kernels: "WebAssembly" },
  { threads: 2, wasm: false, kernels: "JavaScript" },
  { threads: 3, wasm: false, kernels: "JavaScript" },
])("gemmSplit on $threads threads, $kernels kernels", ({ threads, wasm }) => {
  let team: GemmTeam;
  let shared: KernelMemory;
  beforeAll(() => {
    team = createGemmTeam(threads);
    shared = memoryFor(threads, wasm);
    startGemmHelpers(team, shared, gemmWorkspace(1024, 1024, 1024, shared.wasm), gemmHelperSource);
  });
  afterAll(() => disposeGemmTeam(team));

  it("starts its helpers", () => {
    expect(team.threads).toBe(threads);
    expect(team.note).toBeNull();
    expect(shared.arena.buffer).toBeInstanceOf(SharedArrayBuffer);
  });

  it.each(CASES)("$what: $m × $n × $k, the numbers of one thread bit for bit", (c) => {
    expect(c.m * c.n * c.k).toBeGreaterThanOrEqual(GEMM_SPLIT_MIN_WORK);
    const alone = memoryFor(1, wasm);
    run(null, alone, c, place(alone.arena, c, 7));
    const before = jobsDone(team, threads - 1);
    run(team, shared, c, place(shared.arena, c, 7));
    // The last helper took its part, and nothing outside C was written.
    expect(jobsDone(team, threads - 1)).toBe(before + 1);
    expect(sameBits(shared.arena, alone.arena)).toBe(true);
  });

  it("keeps a small product, or one outside the shared arena, on the calling thread", () => {
    const small: Case = { m: 20, n: 20, k: 20, what: "small" };
    const before = jobsDone(team, 1);
    run(team, shared, small, place(shared.arena, small, 3));
    const elsewhere = memoryFor(1, wasm);
    const c = CASES[0]!;
    run(team, elsewhere, c, place(elsewhere.arena, c, 3));
    expect(jobsDone(team, 1)).toBe(before);
    const alone = memoryFor(1, wasm);
    run(null, alone, c, place(alone.arena, c, 3));
    expect(sameBits(elsewhere.arena, alone.arena)).toBe(true);
  });
});

describe("a disposed team", () => {
  it("computes on the calling thread and says why", () => {
    const team = createGemmTeam(2);
    const shared = memoryFor(2, true);
    startGemmHelpers(team, shared, gemmWorkspace(1024, 1024, 1024, shared.wasm), gemmHelperSource);
    disposeGemmTeam(team);
    expect(team.threads).toBe(1);
    expect(team.note).toMatch(/dispose/);
    const c = CASES[1]!;
    const alone = memoryFor(1, true);
    run(null, alone, c, place(alone.arena, c, 5));
    run(team, shared, c, place(shared.arena, c, 5));
    expect(sameBits(shared.arena, alone.arena)).toBe(true);
  });
});

// ------------------------------------------------------------------ modules

interface Model {
  params: Record<string, Float32Array>;
  threads: number;
  threadsNote: string | null;
  wasm: boolean;
  forward(i: Record<string, Float32Array>, o?: { training?: boolean }): Record<string, Float32Array>;
  loss(b: Record<string, Float32Array>): number;
  gradients(b: Record<string, Float32Array>): Record<string, Float32Array>;
  trainStep(b: Record<string, Float32Array>): number;
  dispose(): void;
}
type CreateModel = (o: { dims: Record<string, number>; seed?: number; threads?: number; wasm?: boolean }) => Model;

async function compile(name: string, text?: string): Promise<{ createModel: CreateModel; path: string; code: string }> {
  const r = runGrad(`examples/${name}.nn`, text ?? readFileSync(join(ROOT, "examples", `${name}.nn`), "utf8"));
  if (!r.grad) throw new Error(rendered(r));
  mkdirSync(OUT, { recursive: true });
  const path = join(OUT, `${name}.ts`);
  const code = emitCpuModule(r.grad);
  writeFileSync(path, code);
  return { ...((await import(pathToFileURL(path).href)) as { createModel: CreateModel }), path, code };
}

/** A batch of inputs and one-hot targets in [0, 1), the same for every model. */
function batchFor(rows: number, inputs: Record<string, number>, targets: Record<string, number>): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const [name, width] of Object.entries(inputs)) out[name] = Float32Array.from({ length: rows * width }, (_, i) => (Math.sin(i * 0.37) + 1) / 2);
  for (const [name, width] of Object.entries(targets)) {
    out[name] = new Float32Array(rows * width);
    for (let r = 0; r < rows; r++) out[name][r * width + ((r * 7) % width)] = 1;
  }
  return out;
}

// Sizes large enough that the big products are split: with small ones every product would stay on one thread.
// Each on the WebAssembly kernels (the default), and mnist_tanh on the JavaScript ones too.
const MODELS: { name: string; dims: { batch: number }; inputs: Record<string, number>; targets: Record<string, number>; wasm: boolean }[] = [
  { name: "mnist_tanh", dims: { batch: 100 }, inputs: { l0: 784 }, targets: { y: 10 }, wasm: true },
  { name: "mnist_tanh", dims: { batch: 100 }, inputs: { l0: 784 }, targets: { y: 10 }, wasm: false },
  { name: "keras_mnist", dims: { batch: 64 }, inputs: { x: 784 }, targets: { y: 10 }, wasm: true },
  { name: "mnist_conv", dims: { batch: 32 }, inputs: { pixels: 784 }, targets: { y: 10 }, wasm: true },
];

describe.each(MODELS)("$name with threads: 2 (wasm: $wasm)", ({ name, dims, inputs, targets, wasm }) => {
  it("computes what one thread computes, bit for bit", async () => {
    const { createModel } = await compile(name);
    const one = createModel({ dims, seed: 5, wasm });
    const two = createModel({ dims, seed: 5, threads: 2, wasm });
    try {
      expect([one.threads, two.threads, two.threadsNote]).toEqual([1, 2, null]);
      expect([one.wasm, two.wasm]).toEqual([wasm, wasm]);
      const batch = batchFor(dims.batch, inputs, targets);
      const same = (a: Record<string, Float32Array>, b: Record<string, Float32Array>) => Object.keys(a).every((k) => sameBits(a[k]!, b[k]!));
      expect(same(two.forward(batch), one.forward(batch))).toBe(true);
      expect(same(two.forward(batch, { training: true }), one.forward(batch, { training: true }))).toBe(true);
      expect(two.loss(batch)).toBe(one.loss(batch));
      expect(same(two.gradients(batch), one.gradients(batch))).toBe(true);
      for (let s = 0; s < 3; s++) expect(two.trainStep(batch)).toBe(one.trainStep(batch));
      expect(same(two.params, one.params)).toBe(true);
      // After dispose the model goes on, on one thread, with the same numbers.
      two.dispose();
      expect(two.threads).toBe(1);
      expect(two.trainStep(batch)).toBe(one.trainStep(batch));
      expect(same(two.params, one.params)).toBe(true);
    } finally {
      two.dispose();
    }
  });
});

describe("the threads option", () => {
  it("falls back to one thread, saying why, where node:worker_threads cannot be reached", async () => {
    const { createModel } = await compile("mnist_tanh");
    const proc = process as { getBuiltinModule?: unknown };
    const saved = proc.getBuiltinModule;
    proc.getBuiltinModule = undefined;
    try {
      const model = createModel({ dims: { batch: 4 }, threads: 2 });
      expect(model.threads).toBe(1);
      expect(model.threadsNote).toMatch(/node:worker_threads.*Node\.js 20\.16/);
    } finally {
      proc.getBuiltinModule = saved;
    }
  });

  it("is one thread, with a note, for a model with no large product", async () => {
    const fixed = "model fixed\ninput x: [8, 3]\ntarget y: [8, 2]\nparam W: [3, 2]\np = softmax(x W)\noutput p\nloss = cross_entropy(p, y)\n";
    const { createModel, code } = await compile("fixed", fixed);
    expect(code).not.toMatch(/gemmSplit|GEMM_HELPER_SOURCE|createGemmTeam|startGemmHelpers/);
    const model = createModel({ dims: {}, threads: 2 });
    expect(model.threads).toBe(1);
    expect(model.threadsNote).toMatch(/no matrix product/);
  });

  it("must be a positive integer", async () => {
    const { createModel } = await compile("mnist_tanh");
    expect(() => createModel({ dims: { batch: 4 }, threads: 0 })).toThrow("threads must be a positive integer, got 0");
    expect(() => createModel({ dims: { batch: 4 }, threads: 1.5 })).toThrow("got 1.5");
  });

  it("does not keep Node alive when the model is never disposed", async () => {
    const { path } = await compile("mnist_tanh");
    const script = join(OUT, "exit.ts");
    writeFileSync(
      script,
      `import { createModel } from ${JSON.stringify(pathToFileURL(path).href)};\n` +
        `const model = createModel({ dims: { batch: 100 }, threads: 2 });\n` +
        `model.trainStep({ l0: new Float32Array(78400).fill(0.5), y: new Float32Array(1000).fill(0.1) });\n` +
        `console.log(model.threads);\n`,
    );
    const out = execFileSync(process.execPath, ["--import", "tsx", script], { encoding: "utf8", timeout: 30_000, cwd: ROOT });
    expect(out.trim()).toBe("2");
  });
});
