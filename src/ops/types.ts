// The vocabulary every op definition is written in: shapes, element types,
// typed attributes per op, and the context a shape rule reports through.
import type { DiagCode } from "../diag/codes.ts";
import type { DiagOptions } from "../diag/diagnostic.ts";
import type { Span } from "../diag/source.ts";
import type { Scalar } from "./scalar/expr.ts";

/** A resolved dimension: a size, or the name of a symbolic `dim`. */
export type Dim = number | string;
export type Shape = readonly Dim[];
export type DType = "f32" | "i32";

/** An unknown size (a `_` in a param shape), solved by unification. */
export interface DimVar {
  readonly var: number;
}
/** A dimension during inference. */
export type IDim = Dim | DimVar;
export type IShape = readonly IDim[];

export function isVar(d: IDim): d is DimVar {
  return typeof d === "object";
}

export type Init =
  | { readonly kind: "zeros" }
  | { readonly kind: "ones" }
  | { readonly kind: "uniform"; readonly low: number; readonly high: number }
  | { readonly kind: "normal"; readonly mean: number; readonly std: number }
  | { readonly kind: "xavier" }
  | { readonly kind: "he" };

/** A reshape target entry: a size, a dim name, or -1 for "the rest". */
export type ReshapeDim = number | string;

/** Typed attributes of every op. Adding an op here forces every table keyed by OpName to cover it. */
export interface OpAttrs {
  // Graph sources
  input: { readonly role: "input" | "target"; readonly name: string };
  param: { readonly name: string; readonly init: Init };
  const: { readonly value: number };
  dimval: { readonly dim: string };
  // Arithmetic
  add: {};
  sub: {};
  mul: {};
  div: {};
  pow: {};
  neg: {};
  maximum: {};
  minimum: {};
  // Elementwise functions
  relu: {};
  leaky_relu: { readonly slope: number };
  sigmoid: {};
  tanh: {};
  exp: {};
  log: {};
  sqrt: {};
  abs: {};
  step: {};
  sign: {};
  /** x going forward; no gradient going back (for backward passes written by hand). */
  stop_gradient: {};
  // Linear algebra and shape
  matmul: {};
  transpose: {};
  reshape: { readonly shape: readonly ReshapeDim[] };
  flatten: {};
  one_hot: { readonly n: number };
  // Along an axis (null: over everything)
  softmax: { readonly axis: number };
  log_softmax: { readonly axis: number };
  sum: { readonly axis: number | null; readonly keepdims: boolean };
  mean: { readonly axis: number | null; readonly keepdims: boolean };
  max: { readonly axis: number | null; readonly keepdims: boolean };
  argmax: { readonly axis: number | null };
  // Layers
  /** `stream` numbers the dropouts of a model, so each draws its own random mask. */
  dropout: { readonly p: number; readonly stream: number };
  conv2d: { readonly stride: number; readonly padding: "valid" | "same" };
  maxpool2d: { readonly size: number };
  embed: {};
  // Losses and metrics
  mse: {};
  cross_entropy: {};
  softmax_cross_entropy: {};
  binary_cross_entropy: {};
  hinge: {};
  sumsq: {};
  sumabs: {};
  accuracy: {};
  // Internal ops: made by the compiler's passes (expansion, differentiation), never called by users.
  /** Sums a broadcast result back down to `shape` (gradients of broadcasting ops). */
  sum_to: { readonly shape: Shape };
  /** Repeats x up to `shape` by numpy broadcasting. */
  broadcast_to: { readonly shape: Shape };
  /** one_hot whose class count is the last axis of `shape`, a size that may be a dim (sparse_cross_entropy's gradient over a `vocab`). */
  one_hot_to: { readonly shape: Shape };
  /** 1.0 where a == b, else 0.0 (masks for max). */
  eq: {};
  /** The scaled keep-mask dropout(x, p) multiplied x by: 0 or 1/(1−p); all ones outside training. */
  dropout_mask: { readonly p: number; readonly stream: number };
  /** Cross-entropy of sigmoid(z) and y from logits, computed stably. */
  sigmoid_binary_cross_entropy: {};
  /** Gradient of conv2d with respect to its input x, from the output gradient g and kernel k. */
  conv2d_grad_input: { readonly stride: number; readonly padding: "valid" | "same"; readonly inputShape: Shape };
  /** Gradient of conv2d with respect to its kernel, from the input x and output gradient g. */
  conv2d_grad_kernel: { readonly stride: number; readonly padding: "valid" | "same"; readonly kernelShape: Shape };
  /** Gradient of maxpool2d: g routed to the position of each window's maximum in x. */
  maxpool2d_grad: { readonly size: number };
  /** Gradient of embed with respect to the table: rows of g added at the ids. */
  embed_grad: { readonly tableShape: Shape };
  /**
   * ∂f/∂(argument `arg`) of the elementwise op `of` (whose own attributes
   * follow), derived from its scalar expression: the slope of an op whose
   * derivative rule is `derived`.
   */
  derivative: { readonly of: Exclude<ScalarOpName, "derivative">; readonly arg: number; readonly [attr: string]: unknown };
}

/**
 * The ops defined by one scalar expression (elementwise, fused by the
 * backends); OpDef requires their `scalar` rule and no backend code. An
 * interface, like OpAttrs, so that a file of ops can declare its own
 * (src/ops/activations.ts augments both): adding such an op is one file.
 */
export interface ScalarOps {
  add: true; sub: true; mul: true; div: true; pow: true; neg: true; maximum: true; minimum: true;
  relu: true; leaky_relu: true; sigmoid: true; tanh: true; exp: true; log: true; sqrt: true; abs: true; step: true; sign: true; stop_gradient: true;
  eq: true; dropout: true; dropout_mask: true; derivative: true;
}
export type ScalarOpName = keyof ScalarOps & OpName;

export type OpName = keyof OpAttrs;

/** How a call's non-tensor argument is read; the value type must match the attribute's. */
export type AttrSpec<V> = {
  readonly kind: AttrKindOf<V>;
  /** Absent: the argument is required. */
  readonly default?: V;
  /** Accepted strings, for `string` attributes. */
  readonly oneOf?: readonly string[];
};

type AttrKindOf<V> = [V] extends [boolean]
  ? "bool"
  : [V] extends [number]
    ? "number" | "int"
    : [V] extends [number | null]
      ? "int?"
      : [V] extends [string]
        ? "string"
        : [V] extends [readonly number[]]
          ? "ints"
          : [V] extends [readonly ReshapeDim[]]
            ? "dims"
            : never;

/** Attribute specs for the user-visible attributes of an op (sources have none). */
export type AttrSpecs<A> = { readonly [P in keyof A]-?: AttrSpec<A[P]> };

export interface ArgInfo {
  readonly shape: IShape;
  readonly dtype: DType;
  readonly span: Span;
  /** The user's name for the value, when it has one (`W0`). */
  readonly name?: string;
  /** Where the value was declared or defined, for notes. */
  readonly origin?: { readonly span: Span; readonly declared: boolean };
}

/** What a shape rule can ask of the inference pass. */
export interface ShapeCtx {
  readonly span: Span;
  error(code: DiagCode, message: string, opts?: DiagOptions & { span?: Span }): void;
  /** Makes two dims equal, solving `_` where one is unknown; false (and reported) on conflict. */
  unify(a: IDim, b: IDim, conflict: (a: Dim, b: Dim) => void): boolean;
  resolve(d: IDim): IDim;
  /** Source text of an argument, for hints such as "did you mean `W0.T`?". */
  text(span: Span): string;
}

export type OpKind =
  | "source"
  | "elementwise"
  | "binary"
  | "linalg"
  | "shape"
  | "reduce"
  | "layer"
  | "loss"
  | "metric";

/**
 * An elementwise op's value at one element, as an expression over its
 * arguments (`arg(0)`…); `training` is false when dropout is off.
 */
export type ScalarRule<K extends OpName> = (attrs: OpAttrs[K], training: boolean) => Scalar;

/** How the backends compute an op: one scalar expression, or code of each backend's own. */
export type OpCode<K extends OpName> = [K] extends [ScalarOpName]
  ? ScalarCode<K>
  : [K] extends [Exclude<OpName, ScalarOpName>]
    ? BackendCode<K>
    : ScalarCode<K> | BackendCode<K>; // any op: ask with `"scalar" in def`

interface ScalarCode<K extends OpName> {
  readonly scalar: ScalarRule<K>;
}
interface BackendCode<K extends OpName> {
  /** The CPU backend's code for this op. */
  readonly cpu: CpuRule<K>;
  /** The WebGPU backend's code for this op (WGSL). */
  readonly wgsl: WgslRule<K>;
}

export type OpDef<K extends OpName> = OpDefBase<K> & OpCode<K>;

export interface OpDefBase<K extends OpName> {
  readonly name: K;
  readonly kind: OpKind;
  /** The name users call it by, if it can be called (`relu`); sources and operators have none. */
  readonly callName?: string;
  /** Positional tensor parameters, in order. */
  readonly tensors: readonly string[];
  /**
   * The last tensor parameter repeats (concat(a, b, c, …)): a call takes at
   * least `tensors.length` tensors, every positional argument is one, and
   * attributes are given by keyword only.
   */
  readonly variadic?: boolean;
  /** Non-tensor parameters; positional ones follow the tensors in this order. */
  readonly attrs: AttrSpecs<UserAttrs<K>>;
  /**
   * The derivative rule (vector-Jacobian product), or "nograd" for ops that
   * pass no gradient by definition (step, sign, argmax, accuracy, integer
   * ops), or "unsupported" where a gradient would be needed but nnc has no
   * rule (a compile-time diagnostic if a loss ever needs it).
   */
  readonly vjp: Vjp<K>;
  /** Output shape, or undefined after reporting an error through ctx. */
  shape(args: readonly ArgInfo[], attrs: OpAttrs[K], ctx: ShapeCtx): IShape | undefined;
  /**
   * Element type of the result (default f32); args are already checked.
   * "first": the first argument's, for ops that only move values (slice, take, concat).
   */
  readonly dtype?: DType | "first";
  /**
   * Element types each tensor argument must have (default: all f32); "any":
   * either. A variadic op's last entry stands for every repeated argument.
   */
  readonly argTypes?: readonly (DType | "any")[];
  /**
   * What it computes, in one line users read: the built-in tables of
   * docs/language.md are generated from it (`npm run docs:generate`), beside
   * the call's signature, so it need not repeat the signature. Markdown.
   */
  readonly doc: string;
}

/** Attributes a user writes; sources are built by the compiler, not called. */
export type UserAttrs<K extends OpName> = K extends "input" | "param" | "const" | "dimval" | "derivative"
  ? {}
  : K extends "dropout"
    ? Omit<OpAttrs[K], "stream"> // numbered by the IR builder, not written by users
    : OpAttrs[K];

/** A node in the graph being differentiated. */
export type Ref = number;

/**
 * What a derivative rule may do: create nodes (hash-consed and simplified as
 * they are made) and ask shapes. Shapes here are fully inferred.
 */
export interface GradBuilder {
  op<K extends OpName>(op: K, args: readonly Ref[], attrs: OpAttrs[K]): Ref;
  shape(r: Ref): Shape;
  /** A scalar constant. */
  c(value: number): Ref;
  /** The product of some sizes of a shape (all axes by default) as a scalar: constants and `dim` values. */
  count(shape: Shape, axes?: readonly number[]): Ref;
  add(a: Ref, b: Ref): Ref;
  sub(a: Ref, b: Ref): Ref;
  mul(a: Ref, b: Ref): Ref;
  div(a: Ref, b: Ref): Ref;
  neg(a: Ref): Ref;
  matmul(a: Ref, b: Ref): Ref;
  transpose(a: Ref): Ref;
  reshape(a: Ref, shape: Shape): Ref;
}

export interface VjpArgs<K extends OpName> {
  /** The gradient of the loss with respect to this op's output. */
  readonly g: Ref;
  readonly args: readonly Ref[];
  /** This op's output, for slopes cheaper from the result (tanh′ = 1 − y²). */
  readonly out: Ref;
  readonly attrs: OpAttrs[K];
  readonly b: GradBuilder;
  /** Which arguments need a gradient; a rule may skip the others. */
  readonly needs: readonly boolean[];
}

/**
 * Returns one contribution per argument: a node, null (no gradient flows), or
 * "unsupported" (a needed gradient nnc has no rule for: a diagnostic). A
 * contribution may have the op's broadcast output shape: the gradient pass
 * sums it down to the argument's shape, once, in one place.
 */
export type VjpRule<K extends OpName> = (a: VjpArgs<K>) => readonly (Ref | null | "unsupported")[];
export type Vjp<K extends OpName> = VjpRule<K> | "nograd" | "unsupported";

/** A value as the CPU emitter sees it: an arena, an offset, and its shape as TypeScript expressions. */
export interface CpuValue {
  /** The array holding it: "f32" or "i32". */
  readonly arr: string;
  /** Offset of its first element (a TypeScript expression). */
  readonly off: string;
  /** Sizes as TypeScript expressions ("batch", "784"). */
  readonly shape: readonly string[];
  /** Number of elements (a TypeScript expression). */
  readonly size: string;
}

/** What a backend's kernel rule is given: the op's values as that backend sees them, its attributes, the mode. */
interface KernelCtx<V, K extends OpName> {
  readonly out: V;
  readonly args: readonly V[];
  readonly attrs: OpAttrs[K];
  /** Training mode: dropout active. */
  readonly training: boolean;
  /** A numeric constant in the backend's language (exact, readable). */
  num(v: number): string;
}

export interface CpuKernelCtx<K extends OpName> extends KernelCtx<CpuValue, K> {
  /** A constant made once at createModel from this expression (a stride table); returns its name. */
  table(init: string): string;
  /** The module's WebAssembly SIMD elementwise kernels as an expression: `vec` where it has them, else `null`. */
  vec: string;
}

/**
 * How the CPU backend computes a non-elementwise op: lines of TypeScript
 * calling the runtime's kernels. (Elementwise ops are scalar expressions.)
 */
export type CpuRule<K extends OpName> =
  | { readonly kernel: (c: CpuKernelCtx<K>) => readonly string[] }
  /** Graph sources: inputs and params live in memory, constants are written inline. */
  | "source"
  /** Matrix products: scheduled as gemm steps, with their epilogues. */
  | "gemm";

/**
 * A value as the WebGPU emitter sees it: a storage buffer bound under a WGSL
 * name, its shape as expressions. Sizes are written so that the same text is
 * valid WGSL (dims are u32 pipeline-overridable constants `dim_NAME`) and
 * valid TypeScript (dims are consts of the same names at createModel).
 */
export interface WgslValue {
  /** The WGSL variable of its storage buffer (`array<f32>` or `array<i32>`). */
  readonly ref: string;
  readonly type: "f32" | "i32";
  /** Sizes as u32 expressions ("dim_batch", "784"). */
  readonly shape: readonly string[];
  /** Number of elements. */
  readonly size: string;
}

export type WgslKernelCtx<K extends OpName> = KernelCtx<WgslValue, K>;

/**
 * A WGSL kernel, as the statements of its entry point. "threads": one
 * invocation per `i` below `count` (the flat index `i: u32` is given).
 * "rows": one workgroup of WGSL_ROW_THREADS invocations per row `row: u32`
 * below `count`, `lid: u32` the invocation's index in it, for workgroup
 * reductions (`scratch: array<f32, WGSL_ROW_THREADS>` is declared).
 */
export interface WgslKernel {
  readonly mode: "threads" | "rows";
  /** How many invocations (threads) or rows; an expression valid in WGSL and TypeScript. */
  readonly count: string;
  readonly body: readonly string[];
  /** Functions of the WGSL library (src/backend/webgpu/wgsl-lib.ts) the body calls. */
  readonly uses?: readonly string[];
}

/**
 * How the WebGPU backend computes a non-elementwise op: a kernel of its own.
 * Sources and matrix products are the backend's, as on the CPU.
 */
export type WgslRule<K extends OpName> =
  | { readonly kernel: (c: WgslKernelCtx<K>) => WgslKernel }
  | "source"
  | "gemm";

export function defineOp<K extends OpName>(def: OpDef<K>): OpDef<K> {
  return def;
}
