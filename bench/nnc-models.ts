// The nnc side of the benchmarks: an example compiled in-process (front end,
// differentiation, the CPU emitter, as the tests do) and imported as a module.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { emitCpuModule } from "../src/backend/cpu/emit-module.ts";
import type { GradGraph } from "../src/ir/graph.ts";
import { nodeFlops, statsDims } from "../src/passes/stats.ts";
import { runGrad } from "../src/pipeline.ts";

type Arrays = Record<string, Float32Array | Int32Array>;

/** What the benchmarks call on an emitted model. A threaded model may answer with promises. */
export interface BenchModel {
  readonly params: Record<string, Float32Array>;
  forward(inputs: Arrays, options?: { training?: boolean }): Arrays | Promise<Arrays>;
  trainStep(batch: Arrays, options?: { lr?: number }): number | Promise<number>;
  setParams(params: Record<string, Float32Array>): void;
  /** Threads the model really uses, where the module has the threads option. */
  readonly threads?: number;
  /** Why it uses fewer than asked for. */
  readonly threadsNote?: string | null;
  /** Stops helper threads, where the module has them. */
  dispose?(): void;
}

export interface CreateOptions {
  dims: Record<string, number>;
  seed?: number;
  threads?: number;
}

export interface CompiledExample {
  graph: GradGraph;
  spec: { model: string; train: { lr: number; batch?: number } };
  createModel(options: CreateOptions): BenchModel;
  /**
   * Whether createModel takes a `threads` option. Unknown options are simply
   * ignored by JavaScript, so trying is no test: the emitted CreateOptions
   * type is.
   */
  threadsOption: boolean;
}

const ROOT = join(import.meta.dirname, "..");

export async function compileExample(file: string): Promise<CompiledExample> {
  const path = join("examples", file);
  const r = runGrad(path, readFileSync(join(ROOT, path), "utf8"));
  if (!r.grad) throw new Error(`${path} does not compile: ${r.diagnostics.sorted().map((d) => `${d.code} ${d.message}`).join("; ")}`);
  const code = emitCpuModule(r.grad);
  // Named by content, with .mts so it is an ES module wherever the temporary directory lies.
  const dir = join(tmpdir(), "nnc-bench");
  mkdirSync(dir, { recursive: true });
  const modulePath = join(dir, `${r.grad.modelName}-${createHash("sha256").update(code).digest("hex").slice(0, 16)}.mts`);
  writeFileSync(modulePath, code);
  const mod = (await import(pathToFileURL(modulePath).href)) as Pick<CompiledExample, "spec" | "createModel">;
  const threadsOption = /interface CreateOptions \{[^}]*\bthreads\??:/.test(code);
  return { graph: r.grad, spec: mod.spec, createModel: mod.createModel, threadsOption };
}

/**
 * A model running on `threads` threads, or why there is none. A module
 * without the option gives a reason instead of a silently one-threaded model.
 */
export function threadedModel(ex: CompiledExample, dims: Record<string, number>, threads: number): BenchModel | string {
  if (!ex.threadsOption) return "n/a (threads option not available)";
  let model: BenchModel;
  try {
    model = ex.createModel({ dims, seed: 1, threads });
  } catch (e) {
    return `n/a (createModel with threads: ${threads} failed: ${(e as Error).message})`;
  }
  // A model may settle for fewer threads (no SharedArrayBuffer, no worker_threads): that is no threaded row.
  if (model.threads !== undefined && model.threads < threads) {
    model.dispose?.();
    return `n/a (runs ${model.threads} thread(s): ${model.threadsNote ?? "no reason given"})`;
  }
  return model;
}

/** Floating-point operations of the matrix products of one forward pass, and of one training step (forward and backward), at `dims`. */
export function productFlops(ex: CompiledExample, dims: Record<string, number>): { forward: number; step: number } {
  const g = ex.graph;
  const flops = nodeFlops(g, statsDims(g, dims));
  let forward = 0;
  let step = 0;
  g.nodes.forEach((n, i) => {
    if (n.op !== "matmul") return;
    step += flops[i]!;
    if (i < g.forwardCount) forward += flops[i]!;
  });
  return { forward, step };
}
