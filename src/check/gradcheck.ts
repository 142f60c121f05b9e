// `nnc gradcheck`: the derived gradients, evaluated by the float64 reference
// interpreter, against central finite differences of the loss. Small params
// are checked element by element (the full gradient); large ones along
// random directions. Dropout masks are the same in every evaluation, since
// they come from a counter-based RNG keyed by seed and step.
import type { GradGraph } from "../ir/graph.ts";
import { initParams } from "../interp/init.ts";
import { bindDims, interpret } from "../interp/interpret.ts";
import { resolveShape, size, tensor, type Tensor } from "../interp/tensor.ts";
import { uniform01 } from "../backend/cpu/runtime/rng.ts";

export interface GradCheckOptions {
  /** Sizes for dims; dims with no default and not given here get `defaultDim`. */
  readonly dims?: Record<string, number>;
  readonly defaultDim?: number;
  readonly seed?: number;
  /** Finite-difference step. */
  readonly eps?: number;
  /** Largest acceptable relative error. */
  readonly tolerance?: number;
  /** Params with at most this many elements are checked element by element. */
  readonly fullLimit?: number;
  /** Random directions for larger params. */
  readonly directions?: number;
  /** Inputs to use instead of random ones (by name; others stay random). */
  readonly feeds?: ReadonlyMap<string, Tensor>;
  /** Params to start from instead of the initializers' draws. */
  readonly params?: ReadonlyMap<string, Tensor>;
}

export interface ParamCheck {
  readonly name: string;
  readonly size: number;
  readonly method: "full" | "directions";
  readonly checks: number;
  readonly maxRelError: number;
  readonly ok: boolean;
}

export interface GradCheckResult {
  readonly dims: Record<string, number>;
  readonly loss: number;
  readonly params: readonly ParamCheck[];
  readonly ok: boolean;
}

const FEED_STREAM = 0x30000;
const DIRECTION_STREAM = 0x40000;

/** Random feeds: floats in [-1, 1), targets as one-hot rows (or [0, 1) for a single column), ids in range. */
export function randomFeeds(g: GradGraph, dims: ReadonlyMap<string, number>, seed: number): Map<string, Tensor> {
  const feeds = new Map<string, Tensor>();
  [...g.inputs, ...g.targets].forEach((d, k) => {
    const shape = resolveShape(g.shapes[d.node]!, dims);
    const n = size(shape);
    const u = (i: number) => uniform01(seed, FEED_STREAM + k, 0, i);
    const data = new Float64Array(n);
    const isTarget = g.targets.includes(d);
    if (g.dtypes[d.node] === "i32") {
      const limit = idLimit(g, d.node, dims);
      for (let i = 0; i < n; i++) data[i] = Math.floor(u(i) * limit);
    } else if (isTarget && shape.length > 0 && shape[shape.length - 1]! > 1) {
      const c = shape[shape.length - 1]!;
      for (let r = 0; r < n / c; r++) data[r * c + Math.floor(u(r) * c)] = 1;
    } else if (isTarget) {
      for (let i = 0; i < n; i++) data[i] = u(i);
    } else {
      for (let i = 0; i < n; i++) data[i] = 2 * u(i) - 1;
    }
    feeds.set(d.name, tensor(shape, data));
  });
  return feeds;
}

/** The number of valid ids for an integer input: the smallest table or class count it indexes. */
function idLimit(g: GradGraph, input: number, dims: ReadonlyMap<string, number>): number {
  let limit = Infinity;
  for (const n of g.nodes) {
    if (n.op === "embed" && n.args[0] === input) limit = Math.min(limit, resolveShape(g.shapes[n.args[1]!]!, dims)[0]!);
    if (n.op === "one_hot" && n.args[0] === input) limit = Math.min(limit, n.attrs.n);
  }
  return Number.isFinite(limit) ? limit : 2;
}

export function gradcheck(g: GradGraph, opts: GradCheckOptions = {}): GradCheckResult {
  const seed = opts.seed ?? 1;
  const eps = opts.eps ?? 1e-6;
  const tolerance = opts.tolerance ?? 1e-5;
  const fullLimit = opts.fullLimit ?? 64;
  const directions = opts.directions ?? 4;
  const given: Record<string, number> = { ...opts.dims };
  for (const d of g.dims) if (given[d.name] === undefined && d.default === undefined) given[d.name] = opts.defaultDim ?? 3;
  const dims = bindDims(g, given);
  const feeds = new Map([...randomFeeds(g, dims, seed), ...(opts.feeds ?? [])]);
  const params = new Map([...initParams(g, dims, seed), ...(opts.params ?? [])]);
  const lossNode = g.loss!.node;
  const env = { dims, feeds, training: true, seed, step: 0 };

  // stop_gradient promises a derivative of zero, so the finite differences
  // hold every stop_gradient at its value: they then measure what the rules
  // promise, also in a backward pass written by hand.
  const stopped = g.nodes.filter((n) => n.op === "stop_gradient").map((n) => n.id);
  const values = interpret(g, { ...env, params, roots: [lossNode, ...g.gradients.map((x) => x.node), ...stopped] });
  const frozen = new Map(stopped.map((id) => [id, values[id]!]));
  const lossAt = (p: Map<string, Tensor>) => interpret(g, { ...env, params: p, roots: [lossNode], frozen })[lossNode]!.data[0]!;
  const loss = values[lossNode]!.data[0]!;

  const checks: ParamCheck[] = g.gradients.map((grad, k) => {
    const base = params.get(grad.name) ?? feeds.get(grad.name);
    if (!base) throw new Error(`internal: no value for ${grad.name}`);
    const analytic = values[grad.node]!.data;
    const n = base.data.length;
    const gradScale = analytic.reduce((m, v) => Math.max(m, Math.abs(v)), 1e-12);
    const moved = (dir: Float64Array, scale: number) => {
      const data = Float64Array.from(base.data, (v, i) => v + scale * dir[i]!);
      const p = new Map(params);
      if (params.has(grad.name)) p.set(grad.name, tensor(base.shape, data));
      return p;
    };
    const differenceAlong = (dir: Float64Array) => (lossAt(moved(dir, eps)) - lossAt(moved(dir, -eps))) / (2 * eps);
    let maxRel = 0;
    let count = 0;
    const compare = (fd: number, an: number, floor: number) => {
      const err = Math.abs(fd - an) / Math.max(Math.abs(fd), Math.abs(an), floor);
      maxRel = Math.max(maxRel, Number.isNaN(err) ? Infinity : err);
      count++;
    };
    const full = n <= fullLimit;
    if (full) {
      for (let i = 0; i < n; i++) {
        const dir = new Float64Array(n);
        dir[i] = 1;
        compare(differenceAlong(dir), analytic[i]!, 1e-4 * gradScale);
      }
    } else {
      for (let d = 0; d < directions; d++) {
        // ±1 per element: every element moves by eps, so a gradient on a few rows of a large table still shows.
        const dir = Float64Array.from({ length: n }, (_, i) => (uniform01(seed, DIRECTION_STREAM + k, d, i) < 0.5 ? -1 : 1));
        const an = analytic.reduce((s, v, i) => s + v * dir[i]!, 0);
        compare(differenceAlong(dir), an, 1e-4 * gradScale);
      }
    }
    return { name: grad.name, size: n, method: full ? "full" : "directions", checks: count, maxRelError: maxRel, ok: maxRel <= tolerance };
  });
  return { dims: Object.fromEntries(dims), loss, params: checks, ok: checks.every((c) => c.ok) };
}

export function formatGradCheck(r: GradCheckResult, tolerance = 1e-5): string {
  const dims = Object.entries(r.dims).map(([k, v]) => `${k} = ${v}`).join(", ");
  const lines = [`# gradient check: float64, central differences (${dims || "no dims"}), loss ${r.loss.toPrecision(6)}`];
  const w = Math.max(5, ...r.params.map((p) => p.name.length));
  lines.push(`${"param".padEnd(w)}  ${"size".padStart(7)}  ${"method".padEnd(14)}  max rel. error`);
  for (const p of r.params) {
    const method = p.method === "full" ? "every element" : `${p.checks} directions`;
    lines.push(`${p.name.padEnd(w)}  ${String(p.size).padStart(7)}  ${method.padEnd(14)}  ${p.maxRelError.toExponential(2)}  ${p.ok ? "ok" : `FAILED (> ${tolerance})`}`);
  }
  lines.push(r.ok ? "all gradients match" : "some gradients do not match their finite differences");
  return lines.join("\n") + "\n";
}
