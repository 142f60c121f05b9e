// The optimizer update of a training step, as ONNX nodes: the same rules,
// options and defaults as the emitted modules' and the float64 reference's
// (src/interp/optim.ts). Weight decay is L2 folded into the gradient,
// g' = g + wd·θ. State tensors are named as in nnc's checkpoints
// (`state/NAME/1`, `state/NAME/2`), and `train/step` counts the steps
// taken before this one (Adam's bias correction uses t = step + 1).
import type { TrainSpec } from "../ir/graph.ts";
import type { OnnxBuilder } from "./onnx-builder.ts";

export type Method = "sgd" | "momentum" | "rmsprop" | "adam" | "adagrad";

/** The update's hyperparameters, with the defaults of optimizerStep. */
export function optimizerOf(train: TrainSpec | undefined): { method: Method; lr: number; o: (k: string, fallback: number) => number; slots: number } {
  const opts = train?.options;
  const o = (k: string, fallback: number) => opts?.get(k) ?? fallback;
  const named = train?.optimizer ?? "sgd";
  const method: Method = named === "sgd" && o("momentum", 0) !== 0 ? "momentum" : named;
  const slots = method === "sgd" ? 0 : method === "adam" ? 2 : 1;
  return { method, lr: o("lr", 0.01), o, slots };
}

export interface ParamUpdate {
  readonly param: string;
  readonly grad: string;
  /** The state inputs (as many as the method's slots). */
  readonly state: readonly string[];
}

/** Adds the update of one param; returns the new param and the new state, in order. */
export function update(b: OnnxBuilder, train: TrainSpec | undefined, u: ParamUpdate, step: string): string[] {
  const { method, lr, o } = optimizerOf(train);
  const c = (v: number) => b.floats([v]);
  const wd = o("weight_decay", 0);
  const eps = o("eps", method === "adam" ? 1e-8 : 1e-7);
  const g = wd !== 0 ? b.op("Add", [u.grad, b.op("Mul", [c(wd), u.param])]) : u.grad;
  const minus = (delta: string) => b.op("Sub", [u.param, delta]);
  const scaled = (num: string, den: string) => b.op("Div", [b.op("Mul", [c(lr), num]), b.op("Add", [b.op("Sqrt", [den]), c(eps)])]);
  const sq = b.op("Mul", [g, g]);
  switch (method) {
    case "sgd":
      return [minus(b.op("Mul", [c(lr), g]))];
    case "momentum": {
      const v = b.op("Add", [b.op("Mul", [c(o("momentum", 0.9)), u.state[0]!]), g]);
      return [minus(b.op("Mul", [c(lr), v])), v];
    }
    case "rmsprop": {
      const rho = o("rho", 0.9);
      const s = b.op("Add", [b.op("Mul", [c(rho), u.state[0]!]), b.op("Mul", [c(1 - rho), sq])]);
      return [minus(scaled(g, s)), s];
    }
    case "adagrad": {
      const a = b.op("Add", [u.state[0]!, sq]);
      return [minus(scaled(g, a)), a];
    }
    case "adam": {
      const b1 = o("beta1", 0.9);
      const b2 = o("beta2", 0.999);
      const t = b.op("Add", [step, c(1)]);
      const corr = (beta: number) => b.op("Sub", [c(1), b.op("Pow", [c(beta), t])]);
      const m = b.op("Add", [b.op("Mul", [c(b1), u.state[0]!]), b.op("Mul", [c(1 - b1), g])]);
      const v = b.op("Add", [b.op("Mul", [c(b2), u.state[1]!]), b.op("Mul", [c(1 - b2), sq])]);
      return [minus(scaled(b.op("Div", [m, corr(b1)]), b.op("Div", [v, corr(b2)]))), m, v];
    }
  }
}
