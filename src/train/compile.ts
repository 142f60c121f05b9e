// Compiles a .nn file for training: the CPU or WebGPU module written to disk
// (so the user has it) and imported, plus what the data loader needs to know.
import { mkdirSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { emitCpuModule } from "../backend/cpu/emit-module.ts";
import { emitWebgpuModule } from "../backend/webgpu/emit-module.ts";
import type { DataSpec } from "../data/dataset.ts";
import type { GradGraph } from "../ir/graph.ts";
import type { TrainableModel } from "./loop.ts";

export type Target = "cpu" | "webgpu";

export interface CompiledModule {
  /** The CPU module's answers at once; the WebGPU module's is a promise, and takes the device to run on. */
  createModel(options: { dims: Record<string, number>; seed?: number; device?: unknown; threads?: number }): TrainableModel | Promise<TrainableModel>;
  spec: { model: string; train: { optimizer: string; lr: number; batch?: number; epochs?: number } };
}

/**
 * Writes the module to `dir/model.ts` for the user, and imports a copy named
 * by its content hash with the .mts extension, which is an ES module wherever
 * it lies (the out directory may sit under no package.json at all).
 */
export async function compileAndLoad(g: GradGraph, dir: string, target: Target = "cpu"): Promise<CompiledModule> {
  mkdirSync(dir, { recursive: true });
  const code = target === "webgpu" ? emitWebgpuModule(g).code : emitCpuModule(g);
  writeFileSync(join(dir, "model.ts"), code);
  const cache = join(tmpdir(), "nnc-modules");
  mkdirSync(cache, { recursive: true });
  const path = resolve(join(cache, `${g.modelName}-${target}-${createHash("sha256").update(code).digest("hex").slice(0, 16)}.mts`));
  writeFileSync(path, code);
  return (await import(pathToFileURL(path).href)) as CompiledModule;
}

/** The model's inputs and targets, as the data loader reads them. */
export function dataSpecs(g: GradGraph): DataSpec[] {
  return [...g.inputs.map((d) => ({ d, role: "input" as const })), ...g.targets.map((d) => ({ d, role: "target" as const }))].map(({ d, role }) => ({
    name: d.name,
    shape: g.shapes[d.node]!,
    dtype: g.dtypes[d.node] === "i32" ? "i32" : "f32",
    role,
  }));
}
