// The steps of a lowered program: what runs, in what order, fused how.
import type { NodeId } from "../ir/graph.ts";
import type { Size } from "./size.ts";

/** m, n, k and the leading dimensions of a matrix product, as stored (transposes read in place). */
export interface GemmGeometry {
  readonly m: Size;
  readonly n: Size;
  readonly k: Size;
  readonly lda: Size;
  readonly ldb: Size;
  /** Products per step: null for one (A's leading axes folded into its rows), else one per batch entry of B's leading axes. */
  readonly batch: Size | null;
  /** With a batch: whether A has the batch axes too (else it is shared). */
  readonly aBatched: boolean;
  /**
   * With a batch, where A and B both have batch axes and they differ (one
   * repeats along an axis of the other): the output's batch axes, outermost
   * first, each with each operand's stride along it; the batch entry q is then
   * q's digits in these sizes. null where the operands' batch axes are equal
   * (entry q is at q times the matrix size in both) or A has none.
   */
  readonly broadcast: readonly BatchAxis[] | null;
}

/** One axis (or merged run of axes) of a broadcast batch. */
export interface BatchAxis {
  readonly size: Size;
  /** A's step, in elements, from one entry along this axis to the next; null where A repeats along it. */
  readonly a: Size | null;
  /** The same for B. */
  readonly b: Size | null;
}

export type FusedStep = {
  readonly kind: "fused";
  /** Scalar ops fused into one loop, in order; only `out` is stored. */
  readonly nodes: readonly NodeId[];
  readonly out: NodeId;
};

export type GemmStep = {
  readonly kind: "gemm";
  /** The value the product computes: the matmul node, or the sum_to a weight's gradient through a batch is summed by (summedProduct in schedule.ts). */
  readonly matmul: NodeId;
  readonly a: NodeId;
  readonly b: NodeId;
  readonly transA: boolean;
  readonly transB: boolean;
  readonly geometry: GemmGeometry;
  /**
   * The elementwise chain absorbed after the product (a bias added along
   * rows, activations, any scalar op): scalar nodes in order, computed on
   * each element of the product; `out` is the last (or the product itself).
   */
  readonly epilogue: readonly NodeId[];
  readonly out: NodeId;
};

export type KernelStep = { readonly kind: "kernel"; readonly node: NodeId; readonly out: NodeId };

export type Step = FusedStep | GemmStep | KernelStep;

/** The four programs of a module; without dropout, forward in training mode is the forward program. */
export type ProgramKind = "forward" | "forwardTraining" | "loss" | "train";
