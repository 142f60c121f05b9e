// The bridge between a `train` statement (its options by their `.nn` names)
// and the runtime's one optimizer table (src/backend/cpu/runtime/optim.ts):
// what the front end accepts for each optimizer, what an emitted module's
// TRAIN_DEFAULTS holds, and what the interpreter's reference step reads.
import type { TrainSpec } from "../ir/graph.ts";
import { LR_DEFAULT, OPTIMIZERS, type OptimizerMethod, type OptimizerOptions } from "./cpu/runtime/optim.ts";

export type OptionName = Exclude<keyof OptimizerOptions, "optimizer">;

/** How a `train` statement spells each option (snake_case), by its name in the API. */
export const NN_OPTION_NAME: { readonly [K in OptionName]: string } = {
  lr: "lr",
  momentum: "momentum",
  rho: "rho",
  beta1: "beta1",
  beta2: "beta2",
  eps: "eps",
  weightDecay: "weight_decay",
};

const OPTION_NAMES = Object.keys(NN_OPTION_NAME) as OptionName[];

/** The options a method reads besides lr and weightDecay (which every method reads), by their API names, in table order. */
export function methodOptions(method: OptimizerMethod): OptionName[] {
  return (Object.keys(OPTIMIZERS[method]) as OptionName[]).filter((k) => k !== "weightDecay");
}

/** The methods that read an option, for the emitted TrainOptions' comments. */
export function methodsReading(option: OptionName): OptimizerMethod[] | "all" {
  if (option === "lr" || option === "weightDecay") return "all";
  return (Object.keys(OPTIMIZERS) as OptimizerMethod[]).filter((m) => option in OPTIMIZERS[m]);
}

/**
 * What a `train` statement sets for the optimizer, by API names: its
 * optimizer, its lr (LR_DEFAULT when it gives none) and only the options it
 * states, so that a step that names another optimizer gets that one's defaults.
 */
export function fileOptimizerOptions(train: TrainSpec | undefined): OptimizerOptions & { optimizer: string; lr: number } {
  const out: { optimizer: string; lr: number } & { [K in OptionName]?: number } = { optimizer: train?.optimizer ?? "sgd", lr: LR_DEFAULT };
  for (const k of OPTION_NAMES) {
    const v = train?.options.get(NN_OPTION_NAME[k]);
    if (v !== undefined) out[k] = v;
  }
  return out;
}
