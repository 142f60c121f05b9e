// Reference optimizers in float64: the same in-place updates as the CPU
// runtime's src/backend/cpu/runtime/optim.ts, with the same names and
// argument order, over Float64Array. They define what one training step of
// each method means, for the runtime's tests and for parity checks of
// generated modules. Weight decay is L2 folded into the gradient, g + wd·θ.

/** θ −= lr·(g + wd·θ). */
export function sgdStep(p: Float64Array, pOff: number, g: Float64Array, gOff: number, n: number, lr: number, wd: number): void {
  for (let i = 0; i < n; i++) {
    const t = p[pOff + i];
    p[pOff + i] = t - lr * (g[gOff + i] + wd * t);
  }
}

/** v = mu·v + g'; θ −= lr·v (heavy-ball momentum, velocity starting at 0). */
export function momentumStep(p: Float64Array, pOff: number, g: Float64Array, gOff: number, vel: Float64Array, velOff: number, n: number, lr: number, mu: number, wd: number): void {
  for (let i = 0; i < n; i++) {
    const t = p[pOff + i];
    const v = mu * vel[velOff + i] + (g[gOff + i] + wd * t);
    vel[velOff + i] = v;
    p[pOff + i] = t - lr * v;
  }
}

/** s = rho·s + (1 − rho)·g'²; θ −= lr·g' / (√s + eps). */
export function rmspropStep(
  p: Float64Array,
  pOff: number,
  g: Float64Array,
  gOff: number,
  sq: Float64Array,
  sqOff: number,
  n: number,
  lr: number,
  rho: number,
  eps: number,
  wd: number,
): void {
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
 * θ −= lr·m̂ / (√v̂ + eps).
 */
export function adamStep(
  p: Float64Array,
  pOff: number,
  g: Float64Array,
  gOff: number,
  m: Float64Array,
  mOff: number,
  v: Float64Array,
  vOff: number,
  n: number,
  lr: number,
  beta1: number,
  beta2: number,
  eps: number,
  t: number,
  wd: number,
): void {
  const c1 = 1 - Math.pow(beta1, t);
  const c2 = 1 - Math.pow(beta2, t);
  for (let i = 0; i < n; i++) {
    const th = p[pOff + i];
    const gi = g[gOff + i] + wd * th;
    const mi = beta1 * m[mOff + i] + (1 - beta1) * gi;
    const vi = beta2 * v[vOff + i] + (1 - beta2) * gi * gi;
    m[mOff + i] = mi;
    v[vOff + i] = vi;
    p[pOff + i] = th - (lr * (mi / c1)) / (Math.sqrt(vi / c2) + eps);
  }
}

/** a += g'²; θ −= lr·g' / (√a + eps). */
export function adagradStep(p: Float64Array, pOff: number, g: Float64Array, gOff: number, acc: Float64Array, accOff: number, n: number, lr: number, eps: number, wd: number): void {
  for (let i = 0; i < n; i++) {
    const t = p[pOff + i];
    const gi = g[gOff + i] + wd * t;
    const a = acc[accOff + i] + gi * gi;
    acc[accOff + i] = a;
    p[pOff + i] = t - (lr * gi) / (Math.sqrt(a) + eps);
  }
}

/**
 * One step of the optimizer a model's `train` statement names, with its
 * options and the same defaults as the emitted modules (momentum 0.9 for
 * `momentum`, rho 0.9, beta1 0.9, beta2 0.999, eps 1e-8 for adam else 1e-7).
 * `m` and `v` are the method's state (v for adam only); `t` counts steps
 * from 1 (adam's bias correction).
 */
export function optimizerStep(
  method: string,
  options: ReadonlyMap<string, number> | undefined,
  lr: number,
  p: Float64Array,
  g: Float64Array,
  m: Float64Array,
  v: Float64Array,
  t: number,
): void {
  const o = (k: string, fallback: number) => options?.get(k) ?? fallback;
  const n = p.length;
  const wd = o("weight_decay", 0);
  const eps = o("eps", method === "adam" ? 1e-8 : 1e-7);
  if (method === "sgd" && o("momentum", 0) === 0) sgdStep(p, 0, g, 0, n, lr, wd);
  else if (method === "sgd" || method === "momentum") momentumStep(p, 0, g, 0, m, 0, n, lr, o("momentum", 0.9), wd);
  else if (method === "rmsprop") rmspropStep(p, 0, g, 0, m, 0, n, lr, o("rho", 0.9), eps, wd);
  else if (method === "adam") adamStep(p, 0, g, 0, m, 0, v, 0, n, lr, o("beta1", 0.9), o("beta2", 0.999), eps, t, wd);
  else if (method === "adagrad") adagradStep(p, 0, g, 0, m, 0, n, lr, eps, wd);
  else throw new Error(`unknown optimizer "${method}"`);
}
