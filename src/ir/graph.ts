// The IR: an SSA graph. Nodes are stored in topological order (every node's
// arguments come before it), each with the op, typed attributes and the span
// of the source it came from.
import type { SourceFile, Span } from "../diag/source.ts";
import type { ScheduleName } from "../train/schedule.ts";
import type { DType, IShape, OpAttrs, OpName, Shape } from "../ops/types.ts";
import type { OptimizerMethod } from "../backend/cpu/runtime/optim.ts";

export type NodeId = number;

/** One use of a `fn` or layer that a node was expanded from: where, and the note that says so. */
export interface Expansion {
  readonly span: Span;
  /** "in the `fn` expanded here", "in `block2`, a use of layer `block`". */
  readonly note: string;
}

interface NodeBase<K extends OpName> {
  readonly id: NodeId;
  readonly op: K;
  readonly args: readonly NodeId[];
  /** Where each argument was written at this use (the `h` in `h W1`), for carets and hints. */
  readonly argSpans: readonly Span[];
  readonly attrs: OpAttrs[K];
  /** The expression (or declaration) this node came from. */
  readonly span: Span;
  /** The user's name, when a definition or declaration names this value. */
  readonly name?: string;
  /** Where the `fn`s and layers this node was expanded from were used, innermost first. */
  readonly expandedFrom?: readonly Expansion[];
}

/** A node of any op, discriminated by `op` so that `attrs` narrows with it. */
export type Node = { [K in OpName]: NodeBase<K> }[OpName];

export interface DimDecl {
  readonly name: string;
  readonly default?: number;
  readonly span: Span;
}

/** The optimizers, as the runtime's one table (OPTIMIZERS) lists them. */
export type OptimizerName = OptimizerMethod;

export interface TrainSpec {
  readonly optimizer: OptimizerName;
  /** Options as given (lr, batch, epochs, momentum, ...), validated per optimizer. */
  readonly options: ReadonlyMap<string, number>;
  /** `schedule = "…"`: the learning-rate schedule's name (its numbers, warmup, step_size and gamma, are in options). */
  readonly schedule?: ScheduleName;
  readonly span: Span;
}

export interface Declared {
  readonly name: string;
  readonly node: NodeId;
  readonly span: Span;
}

/**
 * A running statistic (batchnorm's mean and variance): a param that no
 * optimizer trains and that gets no gradient; each training step writes the
 * value of `update` (computed in training mode) into it, after the step.
 */
export interface RunningStat {
  /** The param's name (`h1.running_mean`). */
  readonly name: string;
  /** The param node. */
  readonly node: NodeId;
  /** Its new value after a training step. */
  readonly update: NodeId;
}

/** What the builder produces: names resolved, `fn`s expanded, shapes not yet inferred. */
export interface Graph {
  readonly stage: "graph";
  readonly file: SourceFile;
  readonly modelName: string;
  readonly dims: readonly DimDecl[];
  readonly nodes: readonly Node[];
  readonly inputs: readonly Declared[];
  readonly targets: readonly Declared[];
  readonly params: readonly Declared[];
  /** Params that are running statistics (a subset of params); absent when there are none. */
  readonly runningStats?: readonly RunningStat[];
  readonly outputs: readonly Declared[];
  readonly loss?: Declared;
  readonly train?: TrainSpec;
  /** Declared shapes of sources (`_` as unknowns), indexed by node id. */
  readonly declaredShapes: ReadonlyMap<NodeId, { shape: IShape; dtype: DType }>;
  /** Spans of the `_` unknowns, by variable number. */
  readonly unknowns: readonly { readonly span: Span; readonly owner: string; /** The layer use that declared it. */ readonly use?: Expansion }[];
}

/** After shape inference: every node has a fully known shape and element type. */
export interface ShapedGraph extends Omit<Graph, "stage"> {
  readonly stage: "shaped";
  readonly shapes: readonly Shape[];
  readonly dtypes: readonly DType[];
}

export interface Gradient {
  /** The value differentiated with respect to (a param, or a value named with --wrt). */
  readonly name: string;
  readonly of: NodeId;
  /** The node holding d loss / d name. */
  readonly node: NodeId;
}

/**
 * The forward graph followed by its backward graph: nodes [0, forwardCount)
 * are the forward pass, the rest compute the gradients. Backward nodes keep
 * the span of the forward expression they came from.
 */
export interface GradGraph extends Omit<ShapedGraph, "stage"> {
  readonly stage: "grad";
  readonly forwardCount: number;
  readonly gradients: readonly Gradient[];
  /** The adjoint (d loss / d value) node of forward nodes that have one. */
  readonly adjoints: ReadonlyMap<NodeId, NodeId>;
}
