// Composite ops: built-ins defined as a composition of registry ops. The IR
// builder expands a call into its parts where it is written, so shape rules,
// derivatives and both backends' code come from the parts, and a part's
// diagnostic points at the user's call. An op that needs a rule of its own
// for stability or speed belongs in the registry instead (gelu, softplus).
import type { DiagCode } from "../diag/codes.ts";
import type { AttrSpecs, Init, OpAttrs, OpKind, OpName, Ref } from "./types.ts";

/** What an expansion may do: add registry ops, over the call's tensor arguments. */
export interface ExpandBuilder {
  op<K extends OpName>(op: K, args: readonly Ref[], attrs: OpAttrs[K]): Ref;
  /**
   * A new running statistic: a param of shape [_] named after the
   * definition the call is in (`h1.running_mean`), drawn by `init`, that no
   * optimizer trains; each training step writes `update(it)` into it.
   */
  runningStat(suffix: string, init: Init, update: (stat: Ref) => Ref): Ref;
  /** Reports an error at the call. */
  error(code: DiagCode, message: string): void;
}

export interface CompositeDef<A> {
  readonly callName: string;
  /** The group the documentation lists it in, with the registry's ops of that kind. */
  readonly kind: OpKind;
  /** Positional tensor parameters, in order. */
  readonly tensors: readonly string[];
  /** Non-tensor parameters, read as a registry op's are. */
  readonly attrs: AttrSpecs<A>;
  /** The call's value, or undefined after reporting an error. */
  expand(b: ExpandBuilder, args: readonly Ref[], attrs: A): Ref | undefined;
  /** One line for docs and `--help`. */
  readonly doc: string;
}

const defineComposite = <A>(def: CompositeDef<A>): CompositeDef<A> => def;

const logsumexp = defineComposite<OpAttrs["sum"]>({
  callName: "logsumexp",
  kind: "reduce",
  tensors: ["x"],
  attrs: { axis: { kind: "int?", default: null }, keepdims: { kind: "bool", default: false } },
  // m + log Σ e^(x − m) with m the maximum, held constant (stop_gradient): the
  // sum never overflows, and the slope is the softmax whatever m is.
  expand: (b, [x], { axis, keepdims }) => {
    const peak = (keep: boolean) => b.op("stop_gradient", [b.op("max", [x!], { axis, keepdims: keep })], {});
    const shifted = b.op("exp", [b.op("sub", [x!, peak(true)], {})], {});
    return b.op("add", [peak(keepdims), b.op("log", [b.op("sum", [shifted], { axis, keepdims })], {})], {});
  },
  doc: "logsumexp(x, axis = none, keepdims = false): log Σ e^x along an axis (or over everything), computed without overflow",
});

const variance = defineComposite<OpAttrs["sum"]>({
  callName: "var",
  kind: "reduce",
  tensors: ["x"],
  attrs: { axis: { kind: "int?", default: null }, keepdims: { kind: "bool", default: false } },
  // mean((x − mean(x))²): the population variance (divides by n), as numpy's
  // var and the statistics of layer and batch normalisation.
  expand: (b, [x], { axis, keepdims }) => {
    const centred = b.op("sub", [x!, b.op("mean", [x!], { axis, keepdims: true })], {});
    return b.op("mean", [b.op("mul", [centred, centred], {})], { axis, keepdims });
  },
  doc: "var(x, axis = none, keepdims = false): the population variance mean((x − mean(x))²) along an axis, a list of axes, or everything; it divides by n, not n − 1",
});

/** x − mean(x) and its variance along the last axis (kept as an axis of 1), for layernorm. */
const centred = (b: ExpandBuilder, x: Ref): { d: Ref; variance: Ref } => {
  const d = b.op("sub", [x, b.op("mean", [x], { axis: -1, keepdims: true })], {});
  return { d, variance: b.op("mean", [b.op("mul", [d, d], {})], { axis: -1, keepdims: true }) };
};

// A composite rather than an op of its own: the parts give the same numbers
// as a fused kernel to rounding (the variance is two-pass, of x − mean, as
// PyTorch's), their derivatives compose into the textbook gradient, and
// both backends, the interpreter and ONNX need no new code. The scale and
// shift are one op (norm_affine) so that their sizes are checked as such.
const layernorm = defineComposite<{ eps: number }>({
  callName: "layernorm",
  kind: "layer",
  tensors: ["x", "gamma", "beta"],
  attrs: { eps: { kind: "number", default: 1e-5 } },
  expand: (b, [x, gamma, beta], { eps }) => {
    if (!(eps > 0)) {
      b.error("NNC235", `layernorm's eps must be positive, got ${eps}`);
      return undefined;
    }
    const { d, variance } = centred(b, x!);
    const xhat = b.op("div", [d, b.op("sqrt", [b.op("add", [variance, b.op("const", [], { value: eps })], {})], {})], {});
    return b.op("norm_affine", [xhat, gamma!, beta!], { what: "layernorm" });
  },
  doc: "layer normalisation over the last axis: (x − mean) / √(variance + eps) · gamma + beta, with `gamma`, `beta` vectors of the last axis's size (the variance is the biased one, as PyTorch's)",
});

/** `stat + momentum · (value − stat)`: a running statistic's update. */
const ema = (b: ExpandBuilder, stat: Ref, value: Ref, momentum: number): Ref =>
  b.op("add", [stat, b.op("mul", [b.op("const", [], { value: momentum }), b.op("sub", [value, stat], {})], {})], {});

// Batch normalisation: the statistics are batch_mean and batch_var, which
// are the batch's in training and the running statistics in inference; the
// rest is ordinary ops, as in layernorm. The running statistics are params
// of the model (saved in checkpoints, exported) that no optimizer touches:
// each training step moves them by `momentum` towards the batch's (the
// variance unbiased, as PyTorch's running_var).
const batchnorm = defineComposite<{ momentum: number; eps: number }>({
  callName: "batchnorm",
  kind: "layer",
  tensors: ["x", "gamma", "beta"],
  attrs: { momentum: { kind: "number", default: 0.1 }, eps: { kind: "number", default: 1e-5 } },
  expand: (b, [x, gamma, beta], { momentum, eps }) => {
    if (!(momentum >= 0 && momentum <= 1) || !(eps > 0)) {
      b.error("NNC235", !(eps > 0) ? `batchnorm's eps must be positive, got ${eps}` : `batchnorm's momentum must be in [0, 1], got ${momentum}`);
      return undefined;
    }
    let mean: Ref | undefined;
    let variance: Ref | undefined;
    b.runningStat("running_mean", { kind: "zeros" }, (stat) => {
      mean = b.op("batch_mean", [x!, stat], {});
      return ema(b, stat, mean, momentum);
    });
    b.runningStat("running_var", { kind: "ones" }, (stat) => {
      variance = b.op("batch_var", [x!, stat], { unbiased: false });
      return ema(b, stat, b.op("batch_var", [x!, stat], { unbiased: true }), momentum);
    });
    const d = b.op("sub", [x!, mean!], {});
    const xhat = b.op("div", [d, b.op("sqrt", [b.op("add", [variance!, b.op("const", [], { value: eps })], {})], {})], {});
    return b.op("norm_affine", [xhat, gamma!, beta!], { what: "batchnorm" });
  },
  doc: "batch normalisation of each channel (the last axis) over every other axis: (x − mean) / √(variance + eps) · gamma + beta; in training the batch's statistics, which also move the running statistics by `momentum`; in inference the running statistics (params named `NAME.running_mean`, `NAME.running_var`, saved with the model, never trained)",
});

/** Composite built-ins by the name users call them. A Map, so `constructor` or `__proto__` find nothing. */
export const COMPOSITES: ReadonlyMap<string, CompositeDef<never>> = new Map([logsumexp, variance, layernorm, batchnorm].map((c) => [c.callName, c as CompositeDef<never>]));
