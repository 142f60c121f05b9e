// The optimizers, in their one definition: which options each method reads
// and their defaults (OPTIMIZERS), how a step's options are resolved
// (optimizerSettings), and the in-place updates. A generated CPU module runs
// them over its Float32Array arena, the interpreter (src/interp/optim.ts)
// over Float64Arrays; a WebGPU module resolves its options here too and fills
// its shaders' uniform with optimizerHyper (the WGSL updates of
// src/backend/webgpu/optim.ts are tested against these). Each element is
// computed in float64 and stored once. The updates are PyTorch's at equal
// hyperparameters; docs/language.md ("Optimizers") states each one exactly.
import { option } from "./support.ts";

/** The arrays the numerical runtime works on: float32 in a generated module, float64 in the interpreter. */
export type Floats = Float32Array | Float64Array;

/**
 * Every optimizer with the options it reads and their defaults. `lr` (default
 * LR_DEFAULT) and `weightDecay` are read by all: weight decay is an L2 term
 * added to the gradient, g' = g + wd·θ, except for adamw, where it is
 * decoupled (PyTorch's AdamW: θ ← θ − lr·wd·θ besides the Adam step).
 */
export const OPTIMIZERS = {
  sgd: { momentum: 0, weightDecay: 0 },
  momentum: { momentum: 0.9, weightDecay: 0 },
  rmsprop: { rho: 0.9, eps: 1e-7, weightDecay: 0 },
  adam: { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 },
  adamw: { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 },
  adagrad: { eps: 1e-7, weightDecay: 0 },
} as const;

/** The learning rate when neither the call nor the `train` statement gives one. */
export const LR_DEFAULT = 0.01;

export type OptimizerMethod = keyof typeof OPTIMIZERS;

/** Training options as a caller (or a `train` statement) gives them: any may be missing. */
export interface OptimizerOptions {
  readonly optimizer?: string;
  readonly lr?: number;
  readonly momentum?: number;
  readonly rho?: number;
  readonly beta1?: number;
  readonly beta2?: number;
  readonly eps?: number;
  readonly weightDecay?: number;
}

/** One step's options, resolved: every number present, finite and not negative. */
export interface OptimizerSettings {
  method: OptimizerMethod;
  lr: number;
  momentum: number;
  rho: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/** A settings object for optimizerSettings to fill (a module makes one at start-up and reuses it every step). */
export function newOptimizerSettings(): OptimizerSettings {
  return { method: "sgd", lr: 0, momentum: 0, rho: 0, beta1: 0, beta2: 0, eps: 0, weightDecay: 0 };
}

/**
 * The options of one step, into `out`: each from the call, else from the
 * model's `train` statement (`file`, which holds only what the file states,
 * plus its optimizer), else the method's default in OPTIMIZERS (0 for one it
 * does not read).
 */
export function optimizerSettings(call: OptimizerOptions | undefined, file: OptimizerOptions, out: OptimizerSettings): OptimizerSettings {
  const method = call?.optimizer ?? file.optimizer ?? "sgd";
  if (!Object.prototype.hasOwnProperty.call(OPTIMIZERS, method)) {
    throw new Error(`unknown optimizer "${method}"; use ${Object.keys(OPTIMIZERS).join(", ")}`);
  }
  const m = method as OptimizerMethod;
  out.method = m;
  out.lr = optimizerOption(call, file, m, "lr");
  out.momentum = optimizerOption(call, file, m, "momentum");
  out.rho = optimizerOption(call, file, m, "rho");
  out.beta1 = optimizerOption(call, file, m, "beta1");
  out.beta2 = optimizerOption(call, file, m, "beta2");
  out.eps = optimizerOption(call, file, m, "eps");
  out.weightDecay = optimizerOption(call, file, m, "weightDecay");
  return out;
}

function optimizerOption(call: OptimizerOptions | undefined, file: OptimizerOptions, method: OptimizerMethod, k: Exclude<keyof OptimizerOptions, "optimizer">): number {
  const defaults: { readonly [k: string]: number | undefined } = OPTIMIZERS[method];
  return option(call?.[k], file[k] ?? defaults[k] ?? (k === "lr" ? LR_DEFAULT : 0), k);
}

/**
 * The learning rate of a plain SGD step (no momentum, no weight decay), which
 * a module may fold into the last product of a weight's gradient
 * (W = W − lr·A·B, see sgdFolds in emit-steps.ts); 0 for every other step.
 * Rounded to float32, as the WebAssembly kernels and helper threads take it,
 * so that every kernel and every split of a product scales by the same number.
 */
export function sgdFoldRate(s: OptimizerSettings): number {
  return s.method === "sgd" && s.momentum === 0 && s.weightDecay === 0 ? Math.fround(s.lr) : 0;
}

/**
 * One update of n elements of a param at step t (counting from 1: Adam's bias
 * correction), by resolved settings. m is the method's first state array
 * (velocity, square average, first moment or accumulator), v Adam's second
 * moment; both start at 0 and are unused by methods without them.
 */
export function optimizerStep(s: OptimizerSettings, p: Floats, pOff: number, g: Floats, gOff: number, m: Floats, mOff: number, v: Floats, vOff: number, n: number, t: number): void {
  const wd = s.weightDecay;
  switch (s.method) {
    case "sgd":
      if (s.momentum > 0) momentumStep(p, pOff, g, gOff, m, mOff, n, s.lr, s.momentum, wd);
      else sgdStep(p, pOff, g, gOff, n, s.lr, wd);
      return;
    case "momentum":
      momentumStep(p, pOff, g, gOff, m, mOff, n, s.lr, s.momentum, wd);
      return;
    case "rmsprop":
      rmspropStep(p, pOff, g, gOff, m, mOff, n, s.lr, s.rho, s.eps, wd);
      return;
    case "adam":
    case "adamw":
      adamStep(p, pOff, g, gOff, m, mOff, v, vOff, n, s.lr, s.beta1, s.beta2, s.eps, t, wd, s.method === "adamw");
      return;
    case "adagrad":
      adagradStep(p, pOff, g, gOff, m, mOff, n, s.lr, s.eps, wd);
      return;
  }
}

/** The slots of the WebGPU optimizers' `Hyper` uniform, in order (f32 each; optimizerHyper writes them by index). */
export const HYPER_FIELDS = ["lr", "wd", "mu", "rho", "beta1", "beta2", "eps", "c1", "c2", "keep"] as const;

/** The WGSL shaders: adamw runs adam's with its decay decoupled, sgd with momentum runs momentum's. */
export type OptimizerShader = "sgd" | "momentum" | "rmsprop" | "adam" | "adagrad";

/**
 * Fills a WebGPU module's `Hyper` uniform (HYPER_FIELDS order) for step t
 * (from 1) and returns the shader to run: wd is the L2 term added to the
 * gradient, keep = 1 − lr·wd the factor of decoupled decay (adamw; exactly 1
 * otherwise), c1 and c2 Adam's bias corrections 1 − βᵗ, computed in float64 here.
 */
export function optimizerHyper(s: OptimizerSettings, t: number, out: Float32Array): OptimizerShader {
  const decoupled = s.method === "adamw";
  out[0] = s.lr;
  out[1] = decoupled ? 0 : s.weightDecay;
  out[2] = s.momentum;
  out[3] = s.rho;
  out[4] = s.beta1;
  out[5] = s.beta2;
  out[6] = s.eps;
  out[7] = 1 - Math.pow(s.beta1, t);
  out[8] = 1 - Math.pow(s.beta2, t);
  out[9] = decoupled ? 1 - s.lr * s.weightDecay : 1;
  if (s.method === "sgd") return s.momentum > 0 ? "momentum" : "sgd";
  if (s.method === "adamw") return "adam";
  return s.method;
}

/** θ −= lr·(g + wd·θ). */
export function sgdStep(p: Floats, pOff: number, g: Floats, gOff: number, n: number, lr: number, wd: number): void {
  for (let i = 0; i < n; i++) {
    const t = p[pOff + i];
    p[pOff + i] = t - lr * (g[gOff + i] + wd * t);
  }
}

/** v = mu·v + g'; θ −= lr·v (heavy-ball momentum, velocity starting at 0). */
export function momentumStep(p: Floats, pOff: number, g: Floats, gOff: number, vel: Floats, velOff: number, n: number, lr: number, mu: number, wd: number): void {
  for (let i = 0; i < n; i++) {
    const t = p[pOff + i];
    const v = mu * vel[velOff + i] + (g[gOff + i] + wd * t);
    vel[velOff + i] = v;
    p[pOff + i] = t - lr * v;
  }
}

/** s = rho·s + (1 − rho)·g'²; θ −= lr·g' / (√s + eps). */
export function rmspropStep(p: Floats, pOff: number, g: Floats, gOff: number, sq: Floats, sqOff: number, n: number, lr: number, rho: number, eps: number, wd: number): void {
  for (let i = 0; i < n; i++) {
    const t = p[pOff + i];
    const gi = g[gOff + i] + wd * t;
    const s = rho * sq[sqOff + i] + (1 - rho) * gi * gi;
    sq[sqOff + i] = s;
    p[pOff + i] = t - (lr * gi) / (Math.sqrt(s) + eps);
  }
}

/**
 * Adam at step t ≥ 1 (the first update is t = 1): m = β1·m + (1 − β1)·g',
 * v = β2·v + (1 − β2)·g'², m̂ = m/(1 − β1ᵗ), v̂ = v/(1 − β2ᵗ),
 * θ −= lr·m̂ / (√v̂ + eps). With `decoupled` (AdamW) g' = g and the update is
 * θ ← θ·(1 − lr·wd) − lr·m̂ / (√v̂ + eps), as PyTorch's AdamW.
 */
export function adamStep(
  p: Floats,
  pOff: number,
  g: Floats,
  gOff: number,
  m: Floats,
  mOff: number,
  v: Floats,
  vOff: number,
  n: number,
  lr: number,
  beta1: number,
  beta2: number,
  eps: number,
  t: number,
  wd: number,
  decoupled: boolean,
): void {
  const c1 = 1 - Math.pow(beta1, t);
  const c2 = 1 - Math.pow(beta2, t);
  const l2 = decoupled ? 0 : wd;
  // 1 exactly without decoupled decay, so that θ·keep is θ.
  const keep = decoupled ? 1 - lr * wd : 1;
  for (let i = 0; i < n; i++) {
    const th = p[pOff + i];
    const gi = g[gOff + i] + l2 * th;
    const mi = beta1 * m[mOff + i] + (1 - beta1) * gi;
    const vi = beta2 * v[vOff + i] + (1 - beta2) * gi * gi;
    m[mOff + i] = mi;
    v[vOff + i] = vi;
    p[pOff + i] = th * keep - (lr * (mi / c1)) / (Math.sqrt(vi / c2) + eps);
  }
}

/** a += g'²; θ −= lr·g' / (√a + eps) (the accumulator starts at 0). */
export function adagradStep(p: Floats, pOff: number, g: Floats, gOff: number, acc: Floats, accOff: number, n: number, lr: number, eps: number, wd: number): void {
  for (let i = 0; i < n; i++) {
    const t = p[pOff + i];
    const gi = g[gOff + i] + wd * t;
    const a = acc[accOff + i] + gi * gi;
    acc[accOff + i] = a;
    p[pOff + i] = t - (lr * gi) / (Math.sqrt(a) + eps);
  }
}
