// `nnc gradcheck`: the derived gradients, evaluated by the float64 reference
// interpreter, against central finite differences of the loss. Small params
// are checked element by element (the full gradient); large ones along
// random directions. Dropout masks are the same in every evaluation, since
// they come from a counter-based RNG keyed by seed and step.
//
// A check passes when |analytic − numeric| ≤ atol + rtol·|numeric| (as
// PyTorch's gradcheck), plus the rounding the loss difference itself carries.
// A check that fails is retried with smaller steps (a kink of relu, abs, max
// … lay within the step but not at the point); if it still fails while the
// one-sided differences disagree and the analytic value lies between them,
// the point sits on a kink: it is reported as non-smooth, not as a failure.
import type { GradGraph } from "../ir/graph.ts";
import { initParams } from "../interp/init.ts";
import { bindDims, interpret } from "../interp/interpret.ts";
import { resolveShape, size, tensor, type Tensor } from "../interp/tensor.ts";
import { OPS } from "../ops/registry.ts";
import { uniform01 } from "../backend/cpu/runtime/rng.ts";

export interface GradCheckOptions {
  /** Sizes for dims; dims with no default and not given here get `defaultDim`. */
  readonly dims?: Record<string, number>;
  readonly defaultDim?: number;
  readonly seed?: number;
  /** Finite-difference step. */
  readonly eps?: number;
  /** Absolute tolerance (atol). */
  readonly atol?: number;
  /** Relative tolerance (rtol), of the numeric value. */
  readonly rtol?: number;
  /** Params with at most this many elements are checked element by element. */
  readonly fullLimit?: number;
  /** Random directions for larger params. */
  readonly directions?: number;
  /** Inputs to use instead of random ones (by name; others stay random). */
  readonly feeds?: ReadonlyMap<string, Tensor>;
  /** Params to start from instead of the initializers' draws. */
  readonly params?: ReadonlyMap<string, Tensor>;
  /** The most memory the float64 values may take (TooLargeError beyond). */
  readonly maxBytes?: number;
}

/** The sizes asked for need more memory than allowed: `bytes` for the float64 values at `dims`. */
export class TooLargeError extends Error {
  constructor(
    readonly bytes: number,
    readonly dims: Record<string, number>,
  ) {
    super(`the values would take ${bytes} bytes`);
  }
}

export interface ParamCheck {
  readonly name: string;
  readonly size: number;
  readonly method: "full" | "directions";
  readonly checks: number;
  /** Largest |analytic − numeric| over the smooth checks. */
  readonly maxAbsError: number;
  /** Largest |analytic − numeric| / |numeric| over the smooth checks whose values exceed atol / rtol. */
  readonly maxRelError: number;
  /** Checks at a kink: the one-sided differences disagree and bracket the analytic value. */
  readonly nonSmooth: number;
  readonly ok: boolean;
}

export interface GradCheckResult {
  readonly dims: Record<string, number>;
  readonly loss: number;
  readonly params: readonly ParamCheck[];
  readonly atol: number;
  readonly rtol: number;
  readonly ok: boolean;
}

const FEED_STREAM = 0x30000;
const ONE_HOT_LOSSES: ReadonlySet<string> = new Set(["cross_entropy", "softmax_cross_entropy", "hinge"]);
const DIRECTION_STREAM = 0x40000;

/** Random feeds: floats in [-1, 1), targets as one-hot rows (or [0, 1) for a single column, but of a multiclass loss), ids in range. */
export function randomFeeds(g: GradGraph, dims: ReadonlyMap<string, number>, seed: number): Map<string, Tensor> {
  const feeds = new Map<string, Tensor>();
  [...g.inputs, ...g.targets].forEach((d, k) => {
    const shape = resolveShape(g.shapes[d.node]!, dims);
    const n = size(shape);
    const u = (i: number) => uniform01(seed, FEED_STREAM + k, 0, i);
    const data = new Float64Array(n);
    const isTarget = g.targets.includes(d);
    // Targets of the multiclass losses are one-hot rows; over one column (NNC230) that row is [1].
    const oneHot = isTarget && g.nodes.some((n) => ONE_HOT_LOSSES.has(n.op) && n.args[1] === d.node);
    if (g.dtypes[d.node] === "i32") {
      const limit = idLimit(g, d.node, dims);
      for (let i = 0; i < n; i++) data[i] = Math.floor(u(i) * limit);
    } else if (isTarget && shape.length > 0 && (shape[shape.length - 1]! > 1 || oneHot)) {
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

/**
 * The number of valid ids for an integer input: the smallest table or class
 * count it indexes, directly or through ops that only move values (`ids[:, 1:]`).
 */
function idLimit(g: GradGraph, input: number, dims: ReadonlyMap<string, number>): number {
  let limit = Infinity;
  const carries = new Set([input]);
  for (const n of g.nodes) {
    if ((OPS[n.op] as { readonly dtype?: string }).dtype === "first" && n.args.some((a) => carries.has(a))) carries.add(n.id);
    if (n.op === "embed" && carries.has(n.args[0]!)) limit = Math.min(limit, resolveShape(g.shapes[n.args[1]!]!, dims)[0]!);
    if (n.op === "one_hot" && carries.has(n.args[0]!)) limit = Math.min(limit, n.attrs.n);
    if ((n.op === "sparse_cross_entropy" || n.op === "accuracy") && carries.has(n.args[1]!)) limit = Math.min(limit, resolveShape(g.shapes[n.args[0]!]!, dims).at(-1)!);
  }
  return Number.isFinite(limit) ? limit : 2;
}

export const DEFAULT_ATOL = 1e-7;
export const DEFAULT_RTOL = 1e-5;
/** Smaller steps a failed check is retried with, as fractions of the step. */
const RETRY_STEPS = [0.1, 0.01];

export function gradcheck(g: GradGraph, opts: GradCheckOptions = {}): GradCheckResult {
  const seed = opts.seed ?? 1;
  const eps = opts.eps ?? 1e-6;
  const atol = opts.atol ?? DEFAULT_ATOL;
  const rtol = opts.rtol ?? DEFAULT_RTOL;
  const fullLimit = opts.fullLimit ?? 64;
  const directions = opts.directions ?? 4;
  // No prototype: a dim may be called `__proto__` or `constructor`.
  const given: Record<string, number> = Object.assign(Object.create(null), opts.dims);
  for (const d of g.dims) if (!Object.hasOwn(given, d.name) && d.default === undefined) given[d.name] = opts.defaultDim ?? 3;
  const dims = bindDims(g, given);
  // Every node's value at once, in float64: refuse before the interpreter fails on an allocation.
  const bytes = 8 * g.nodes.reduce((sum, n) => sum + size(resolveShape(g.shapes[n.id]!, dims)), 0);
  if (bytes > (opts.maxBytes ?? 2 ** 31)) throw new TooLargeError(bytes, Object.fromEntries(dims));
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
  // The float64 rounding of L(x + h) − L(x − h), divided by 2h: below it no difference can be trusted.
  const noise = (h: number) => (1e3 * Number.EPSILON * Math.max(1, Math.abs(loss))) / h;
  const tol = { atol, rtol, noise };

  const checks: ParamCheck[] = g.gradients.map((grad, k) => {
    const base = params.get(grad.name) ?? feeds.get(grad.name);
    if (!base) throw new Error(`internal: no value for ${grad.name}`);
    const lossAlong = (dir: Float64Array, scale: number) => {
      const data = Float64Array.from(base.data, (v, i) => v + scale * dir[i]!);
      const p = new Map(params);
      if (params.has(grad.name)) p.set(grad.name, tensor(base.shape, data));
      return lossAt(p);
    };
    const tally = new Tally(tol);
    for (const [dir, an] of checkDirections(values[grad.node]!.data, base.data.length <= fullLimit, directions, seed, k)) {
      tally.add(an, (h) => [lossAlong(dir, h), lossAlong(dir, -h)], eps, loss);
    }
    const n = base.data.length;
    return { name: grad.name, size: n, method: n <= fullLimit ? "full" : "directions", checks: tally.count, maxAbsError: tally.maxAbs, maxRelError: tally.maxRel, nonSmooth: tally.nonSmooth, ok: tally.ok };
  });
  return { dims: Object.fromEntries(dims), loss, params: checks, atol, rtol, ok: checks.every((c) => c.ok) };
}

/** The directions a param is checked along, with the analytic directional derivative along each. */
function* checkDirections(analytic: Float64Array, full: boolean, directions: number, seed: number, k: number): Generator<[Float64Array, number]> {
  const n = analytic.length;
  if (full) {
    for (let i = 0; i < n; i++) {
      const dir = new Float64Array(n);
      dir[i] = 1;
      yield [dir, analytic[i]!];
    }
    return;
  }
  for (let d = 0; d < directions; d++) {
    // ±1 per element: every element moves by eps, so a gradient on a few rows of a large table still shows.
    const dir = Float64Array.from({ length: n }, (_, i) => (uniform01(seed, DIRECTION_STREAM + k, d, i) < 0.5 ? -1 : 1));
    yield [dir, analytic.reduce((s, v, i) => s + v * dir[i]!, 0)];
  }
}

/** The loss a step either side of the point. */
interface Step {
  readonly h: number;
  readonly up: number;
  readonly down: number;
}

interface Tolerance {
  readonly atol: number;
  readonly rtol: number;
  readonly noise: (h: number) => number;
}

/** The verdicts of one param's checks. */
class Tally {
  count = 0;
  maxAbs = 0;
  maxRel = 0;
  nonSmooth = 0;
  ok = true;
  constructor(private readonly tol: Tolerance) {}

  private close(an: number, num: number, h: number): boolean {
    return Math.abs(an - num) <= this.tol.atol + this.tol.rtol * Math.abs(num) + this.tol.noise(h);
  }

  /** Checks one analytic derivative against `at(h)` = [L(x + h·dir), L(x − h·dir)]. */
  add(an: number, at: (h: number) => [number, number], eps: number, loss: number): void {
    this.count++;
    const [up, down] = at(eps);
    const central = (up - down) / (2 * eps);
    if (this.close(an, central, eps)) return this.record(an, central);
    let finest = { h: eps, up, down };
    for (const f of RETRY_STEPS) {
      const h = eps * f;
      const [u, d] = at(h);
      if (this.close(an, (u - d) / (2 * h), h)) return this.record(an, (u - d) / (2 * h));
      finest = { h, up: u, down: d };
    }
    if (this.atKink(an, loss, { h: eps, up, down }, finest)) {
      this.nonSmooth++;
      return;
    }
    this.ok = false;
    this.record(an, central);
  }

  /**
   * Whether the point sits on a kink, where finite differences cannot judge
   * a derivative rule: either the slopes either side of the point differ by a
   * gap that does not shrink with the step (a kink at the point itself; a
   * smooth curve's gap shrinks in proportion), or one kink lies within the
   * step and the analytic value lies between the one-sided slopes.
   */
  private atKink(an: number, loss: number, coarse: Step, fine: Step): boolean {
    const slack = (h: number) => this.tol.atol + this.tol.rtol * Math.abs(an) + 2 * this.tol.noise(h);
    const gap = (s: Step) => Math.abs(s.up + s.down - 2 * loss) / s.h;
    const gapFine = gap(fine);
    if (gapFine > slack(fine.h) && gap(coarse) < 3 * gapFine) return true;
    const forward = (coarse.up - loss) / coarse.h;
    const backward = (loss - coarse.down) / coarse.h;
    const [lo, hi] = forward < backward ? [forward, backward] : [backward, forward];
    return hi - lo > slack(coarse.h) && an >= lo - slack(coarse.h) && an <= hi + slack(coarse.h);
  }

  private record(an: number, num: number): void {
    const diff = Math.abs(an - num);
    this.maxAbs = Math.max(this.maxAbs, Number.isNaN(diff) ? Infinity : diff);
    // Relative errors of values near zero say nothing; those are held to atol alone.
    const scale = Math.max(Math.abs(an), Math.abs(num));
    if (scale > this.tol.atol / this.tol.rtol || Number.isNaN(diff)) this.maxRel = Math.max(this.maxRel, Number.isNaN(diff) ? Infinity : diff / scale);
  }
}

export function formatGradCheck(r: GradCheckResult): string {
  const dims = Object.entries(r.dims).map(([k, v]) => `${k} = ${v}`).join(", ");
  const lines = [
    `# gradient check: float64, central differences (${dims || "no dims"}), loss ${r.loss.toPrecision(6)}`,
    `# passes where |analytic − numeric| <= ${r.atol.toExponential()} + ${r.rtol.toExponential()}·|numeric|`,
  ];
  const w = Math.max(5, ...r.params.map((p) => p.name.length));
  lines.push(`${"param".padEnd(w)}  ${"size".padStart(7)}  ${"method".padEnd(14)}  max abs. error  max rel. error`);
  for (const p of r.params) {
    const method = p.method === "full" ? "every element" : `${p.checks} directions`;
    const kinks = p.nonSmooth > 0 ? ` (${p.nonSmooth} of ${p.checks} non-smooth: at a kink, not checked)` : "";
    lines.push(`${p.name.padEnd(w)}  ${String(p.size).padStart(7)}  ${method.padEnd(14)}  ${p.maxAbsError.toExponential(2).padStart(14)}  ${p.maxRelError.toExponential(2).padStart(14)}  ${p.ok ? "ok" : "FAILED"}${kinks}`);
  }
  lines.push(r.ok ? "all gradients match" : "some gradients do not match their finite differences");
  return lines.join("\n") + "\n";
}
