// The optimizers of the CPU runtime: one in-place update of n elements of a
// param from its gradient, with the optimizer's state alongside, each array
// addressed by an offset into the arena. Weight decay is L2 regularisation
// folded into the gradient, g + wd·θ (θ before the update), so wd = 0 is the
// plain method. Each element is computed in float64 and stored once.
// src/interp/optim.ts holds the same updates over Float64Array, the
// reference the tests and the generated modules' parity checks compare with.

/** θ −= lr·(g + wd·θ). */
export function sgdStep(p: Float32Array, pOff: number, g: Float32Array, gOff: number, n: number, lr: number, wd: number): void {
  for (let i = 0; i < n; i++) {
    const t = p[pOff + i];
    p[pOff + i] = t - lr * (g[gOff + i] + wd * t);
  }
}

/** v = mu·v + g'; θ −= lr·v (heavy-ball momentum, velocity starting at 0). */
export function momentumStep(p: Float32Array, pOff: number, g: Float32Array, gOff: number, vel: Float32Array, velOff: number, n: number, lr: number, mu: number, wd: number): void {
  for (let i = 0; i < n; i++) {
    const t = p[pOff + i];
    const v = mu * vel[velOff + i] + (g[gOff + i] + wd * t);
    vel[velOff + i] = v;
    p[pOff + i] = t - lr * v;
  }
}

/** s = rho·s + (1 − rho)·g'²; θ −= lr·g' / (√s + eps). */
export function rmspropStep(
  p: Float32Array,
  pOff: number,
  g: Float32Array,
  gOff: number,
  sq: Float32Array,
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
  p: Float32Array,
  pOff: number,
  g: Float32Array,
  gOff: number,
  m: Float32Array,
  mOff: number,
  v: Float32Array,
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
export function adagradStep(p: Float32Array, pOff: number, g: Float32Array, gOff: number, acc: Float32Array, accOff: number, n: number, lr: number, eps: number, wd: number): void {
  for (let i = 0; i < n; i++) {
    const t = p[pOff + i];
    const gi = g[gOff + i] + wd * t;
    const a = acc[accOff + i] + gi * gi;
    acc[accOff + i] = a;
    p[pOff + i] = t - (lr * gi) / (Math.sqrt(a) + eps);
  }
}
