// What the tests that compare emitted modules with the float64 interpreter
// on models of their own share (test/structure.test.ts, test/heads.test.ts):
// writing a generated module where it can be imported, and the
// interpreter's outputs and gradients for a random batch.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { randomFeeds } from "../src/check/gradcheck.ts";
import type { GradGraph } from "../src/ir/graph.ts";
import { initParams } from "../src/interp/init.ts";
import { bindDims, interpret } from "../src/interp/interpret.ts";
import { tensor, type Tensor } from "../src/interp/tensor.ts";

export type Data = Record<string, Float32Array | Int32Array>;

/** Writes `code` as `dir/name` and imports it. */
export async function loadGenerated<T>(dir: string, name: string, code: string): Promise<T> {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileSync(path, code);
  return (await import(pathToFileURL(path).href)) as T;
}

/** A tensor's values rounded to float32, as the modules hold them, so both sides start from the same numbers. */
export const rounded = (t: Tensor): Tensor => tensor(t.shape, Float64Array.from(t.data, Math.fround));

/** The interpreter's outputs and gradients for a random batch (params seed 7, feeds seed 3), and that batch as the modules take it. */
export function interpreterReference(g: GradGraph, batchSize: number, more: Record<string, number> = {}) {
  const dims = bindDims(g, { batch: batchSize, ...more });
  const params = new Map([...initParams(g, dims, 7)].map(([k, v]) => [k, rounded(v)]));
  const feeds = new Map([...randomFeeds(g, dims, 3)].map(([k, v]) => [k, rounded(v)]));
  const declared = (name: string) => (g.inputs.find((d) => d.name === name) ?? g.targets.find((d) => d.name === name))!.node;
  const batch: Data = Object.fromEntries([...feeds].map(([k, v]) => [k, g.dtypes[declared(k)] === "i32" ? Int32Array.from(v.data) : Float32Array.from(v.data)]));
  const env = { dims, feeds, params, seed: 7 };
  const outs = interpret(g, { ...env, training: false, roots: g.outputs.map((o) => o.node) });
  const grads = interpret(g, { ...env, training: true, step: 0, roots: g.gradients.map((x) => x.node) });
  return { batch, outs, grads };
}
