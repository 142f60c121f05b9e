// The optimizer update of a training step, as ONNX nodes: the settings come
// from the runtime's one option table (optimizerSettings over the `train`
// statement, as an emitted module's trainStep resolves them), and the
// updates are the runtime's (src/backend/cpu/runtime/optim.ts), written as
// graph nodes. Weight decay is L2 folded into the gradient, g' = g + wd·θ,
// except for adamw, whose decay is decoupled: θ·(1 − lr·wd) − lr·m̂/(√v̂ + eps).
// State tensors are named as in nnc's checkpoints (`state/NAME/1`,
// `state/NAME/2`), and `train/step` counts the steps taken before this one
// (Adam's bias correction uses t = step + 1).
import type { TrainSpec } from "../ir/graph.ts";
import { newOptimizerSettings, optimizerSettings, type OptimizerMethod, type OptimizerSettings } from "../backend/cpu/runtime/optim.ts";
import { fileOptimizerOptions } from "../backend/train-options.ts";
import type { OnnxBuilder } from "./onnx-builder.ts";

/** The update's settings, and how many state tensors each param has. `sgd` with momentum runs momentum's update. */
export function optimizerOf(train: TrainSpec | undefined): { method: OptimizerMethod; s: OptimizerSettings; slots: number } {
  const s = optimizerSettings(undefined, fileOptimizerOptions(train), newOptimizerSettings());
  const method: OptimizerMethod = s.method === "sgd" && s.momentum > 0 ? "momentum" : s.method;
  const slots = method === "sgd" ? 0 : method === "adam" || method === "adamw" ? 2 : 1;
  return { method, s, slots };
}

export interface ParamUpdate {
  readonly param: string;
  readonly grad: string;
  /** The state inputs (as many as the method's slots). */
  readonly state: readonly string[];
}

/** Adds the update of one param; returns the new param and the new state, in order. */
export function update(b: OnnxBuilder, train: TrainSpec | undefined, u: ParamUpdate, step: string): string[] {
  const { method, s } = optimizerOf(train);
  const c = (v: number) => b.floats([v]);
  const lr = s.lr;
  const decoupled = method === "adamw";
  const g = s.weightDecay !== 0 && !decoupled ? b.op("Add", [u.grad, b.op("Mul", [c(s.weightDecay), u.param])]) : u.grad;
  const minus = (delta: string) => b.op("Sub", [u.param, delta]);
  const scaled = (num: string, den: string) => b.op("Div", [b.op("Mul", [c(lr), num]), b.op("Add", [b.op("Sqrt", [den]), c(s.eps)])]);
  const sq = b.op("Mul", [g, g]);
  switch (method) {
    case "sgd":
      return [minus(b.op("Mul", [c(lr), g]))];
    case "momentum": {
      const v = b.op("Add", [b.op("Mul", [c(s.momentum), u.state[0]!]), g]);
      return [minus(b.op("Mul", [c(lr), v])), v];
    }
    case "rmsprop": {
      const r = b.op("Add", [b.op("Mul", [c(s.rho), u.state[0]!]), b.op("Mul", [c(1 - s.rho), sq])]);
      return [minus(scaled(g, r)), r];
    }
    case "adagrad": {
      const a = b.op("Add", [u.state[0]!, sq]);
      return [minus(scaled(g, a)), a];
    }
    case "adam":
    case "adamw": {
      const t = b.op("Add", [step, c(1)]);
      const corr = (beta: number) => b.op("Sub", [c(1), b.op("Pow", [c(beta), t])]);
      const m = b.op("Add", [b.op("Mul", [c(s.beta1), u.state[0]!]), b.op("Mul", [c(1 - s.beta1), g])]);
      const v = b.op("Add", [b.op("Mul", [c(s.beta2), u.state[1]!]), b.op("Mul", [c(1 - s.beta2), sq])]);
      const delta = scaled(b.op("Div", [m, corr(s.beta1)]), b.op("Div", [v, corr(s.beta2)]));
      // θ·keep with keep = 1 − lr·wd, as the runtime's adamStep computes it.
      const kept = decoupled ? b.op("Mul", [u.param, c(1 - lr * s.weightDecay)]) : u.param;
      return [b.op("Sub", [kept, delta]), m, v];
    }
  }
}
