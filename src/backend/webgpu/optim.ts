// The optimizers in WGSL: one shader per update rule, run once per param with
// its own bind group (param, gradient, state). The hyperparameters come from
// one uniform buffer the host fills before each step with the runtime's
// optimizerHyper, which also picks the shader (adamw runs adam's with its
// decay decoupled); the updates are those of src/backend/cpu/runtime/optim.ts,
// in f32, and test/optim.test.ts runs each shader against them. Each element
// is read and written by one invocation, so params update in place.
import { HYPER_FIELDS, type OptimizerShader } from "../cpu/runtime/optim.ts";
import { THREADS_PER_GROUP } from "./kernels.ts";

export { HYPER_FIELDS };
export const METHODS: readonly OptimizerShader[] = ["sgd", "momentum", "rmsprop", "adam", "adagrad"];

/** Buffers each shader binds after the uniform: param, gradient, then its state. */
export const STATE: { readonly [M in OptimizerShader]: readonly ("m" | "v")[] } = { sgd: [], momentum: ["m"], rmsprop: ["m"], adam: ["m", "v"], adagrad: ["m"] };

const UPDATE: { readonly [M in OptimizerShader]: readonly string[] } = {
  // θ −= lr·(g + wd·θ)
  sgd: ["p[i] = t - h.lr * gi;"],
  // v = mu·v + g'; θ −= lr·v
  momentum: ["let v: f32 = h.mu * m[i] + gi;", "m[i] = v;", "p[i] = t - h.lr * v;"],
  // s = rho·s + (1 − rho)·g'²; θ −= lr·g' / (√s + eps)
  rmsprop: ["let s: f32 = h.rho * m[i] + (1.0 - h.rho) * gi * gi;", "m[i] = s;", "p[i] = t - (h.lr * gi) / (sqrt(s) + h.eps);"],
  // m = β1·m + (1 − β1)·g'; v = β2·v + (1 − β2)·g'²; θ ← θ·keep − lr·(m/c1) / (√(v/c2) + eps), c = 1 − βᵗ from the host,
  // keep = 1 − lr·wd for adamw (then wd = 0 in g') and 1 for adam
  adam: [
    "let mi: f32 = h.beta1 * m[i] + (1.0 - h.beta1) * gi;",
    "let vi: f32 = h.beta2 * v[i] + (1.0 - h.beta2) * gi * gi;",
    "m[i] = mi;",
    "v[i] = vi;",
    "p[i] = t * h.keep - (h.lr * (mi / h.c1)) / (sqrt(vi / h.c2) + h.eps);",
  ],
  // a += g'²; θ −= lr·g' / (√a + eps)
  adagrad: ["let a: f32 = m[i] + gi * gi;", "m[i] = a;", "p[i] = t - (h.lr * gi) / (sqrt(a) + h.eps);"],
};

export function optimizerShader(method: OptimizerShader): string {
  const lines = [
    `// ${method}: one update of a param from its gradient (L2 weight decay folded into the gradient: g' = g + wd·θ)`,
    `struct Hyper { ${HYPER_FIELDS.map((f) => `${f}: f32`).join(", ")} }`,
    "@group(0) @binding(0) var<uniform> h: Hyper;",
    "@group(0) @binding(1) var<storage, read_write> p: array<f32>;",
    "@group(0) @binding(2) var<storage, read> g: array<f32>;",
    ...STATE[method].map((s, k) => `@group(0) @binding(${3 + k}) var<storage, read_write> ${s}: array<f32>;`),
    "",
    `@compute @workgroup_size(${THREADS_PER_GROUP})`,
    "fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {",
    `  let i: u32 = gid.x + gid.y * groups.x * ${THREADS_PER_GROUP}u;`,
    "  if (i >= arrayLength(&p)) { return; }",
    "  let t: f32 = p[i];",
    "  let gi: f32 = g[i] + h.wd * t;",
    ...UPDATE[method].map((l) => `  ${l}`),
    "}",
  ];
  return lines.join("\n") + "\n";
}
