// The reference optimizer step of the interpreter: the runtime's one
// implementation (src/backend/cpu/runtime/optim.ts) over Float64Arrays, with
// the options a model's `train` statement gives resolved by the same table
// as a generated module's trainStep. Tests and parity checks of generated
// modules compare their steps with this one.
import { optimizerSettings, optimizerStep as runtimeStep, newOptimizerSettings, type OptimizerOptions } from "../backend/cpu/runtime/optim.ts";
import type { TrainSpec } from "../ir/graph.ts";
import { fileOptimizerOptions } from "../backend/train-options.ts";

/**
 * One step of a model's optimizer over whole params: the `train` statement's
 * method and options, overridden by `call` (as a module's trainStep(batch,
 * call) would be); `m` and `v` are the param's state (v for adam and adamw
 * only), `t` counts steps from 1 (Adam's bias correction).
 */
export function optimizerStep(train: TrainSpec | undefined, call: OptimizerOptions | undefined, p: Float64Array, g: Float64Array, m: Float64Array, v: Float64Array, t: number): void {
  const s = optimizerSettings(call, fileOptimizerOptions(train), newOptimizerSettings());
  runtimeStep(s, p, 0, g, 0, m, 0, v, 0, p.length, t);
}
