// Trains an example on the data `nnc train` finds for it (its table in
// examples/data/), through the same library calls as the CLI, for the tests
// and the README's figures of the seed systems (test/seed-figures.test.ts).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { defaultDataSource, loadDataset, type LoadedData } from "../src/data/index.ts";
import { runGrad } from "../src/pipeline.ts";
import { compileAndLoad, dataSpecs } from "../src/train/compile.ts";
import type { EpochMetrics } from "../src/train/files.ts";
import { trainLoop, type TrainableModel } from "../src/train/loop.ts";

export const ROOT = join(import.meta.dirname, "..");

export interface SeedRun {
  history: EpochMetrics[];
  data: LoadedData;
  model: TrainableModel;
  /** A fresh model (batch `n`) with the trained params. */
  trained(n: number): Promise<TrainableModel>;
}

export interface SeedOptions {
  /** Changes the example's text (a constant, the epochs). */
  edit?: (text: string) => string;
  /** Params to start from instead of the seeded initializers (the book's own starting weights). */
  params?: Record<string, Float32Array>;
}

/** Trains examples/NAME.nn for its train statement's epochs, seed 1, rows in file order: as `nnc train --no-shuffle`. */
export async function seedRun(name: string, { edit = (t) => t, params }: SeedOptions = {}): Promise<SeedRun> {
  const path = join(ROOT, "examples", `${name}.nn`);
  const result = runGrad(path, edit(readFileSync(path, "utf8")));
  const g = result.grad;
  if (!g) throw new Error(`${name}: ${result.diagnostics.items.map((d) => d.message).join("; ")}`);
  const { mod } = await compileAndLoad(g);
  const dims: Record<string, number> = {};
  for (const d of g.dims) if (d.default !== undefined) dims[d.name] = d.default;
  const data = loadDataset(defaultDataSource(path), dataSpecs(g), dims, {});
  const spec = Object.fromEntries(g.train?.options ?? []);
  const batch = spec["batch"] ?? 32, epochs = spec["epochs"] ?? 10;
  const make = (n: number) => mod.createModel({ dims: { ...dims, batch: n }, seed: 1 }) as TrainableModel;
  const model = make(batch);
  if (params) await model.setParams(params);
  const options = {
    epochs, batch, startEpoch: 0, evalEvery: epochs, trainOptions: {},
    inputs: g.inputs.map((d) => d.name), targets: g.targets.map((d) => d.name), output: g.outputs[0]!.name,
  };
  const history = await trainLoop(make, data.train, undefined, options, {}, model);
  const trained = async (n: number) => {
    const m = make(n);
    await m.setParams(await model.getParams());
    return m;
  };
  return { history, data, model, trained };
}

/** Row r of a dataset column. */
export function row(data: LoadedData, column: string, r: number): Float32Array | Int32Array {
  const col = data.train.columns.get(column)!;
  const size = col.length / data.train.rows;
  return col.subarray(r * size, (r + 1) * size);
}
