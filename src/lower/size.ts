// Sizes as data: a product of a number and the model's dim names, so that a
// backend renders it in its own language (`dim_batch * 784` in TypeScript and
// in WGSL, where dims are u32 pipeline constants) and the statistics evaluate
// it, without any expression text being parsed again.
import type { Shape } from "../ops/types.ts";

export interface Size {
  /** The product of the numeric factors. */
  readonly factor: number;
  /** Dim names multiplied in, in the order they appear (repeats allowed). */
  readonly dims: readonly string[];
}

export const ONE: Size = { factor: 1, dims: [] };

/** The size of one axis. */
export const axisSize = (d: string | number): Size => (typeof d === "number" ? { factor: d, dims: [] } : { factor: 1, dims: [d] });

export function sizeProduct(sizes: readonly Size[]): Size {
  return { factor: sizes.reduce((a, s) => a * s.factor, 1), dims: sizes.flatMap((s) => s.dims) };
}

/** The element count of a shape (or of some of its axes). */
export const shapeSize = (shape: Shape): Size => sizeProduct(shape.map(axisSize));

/** A key equal for equal sizes (the same factor and the same dims in any order). */
export const sizeKey = (s: Size): string => [String(s.factor), ...[...s.dims].sort()].join("*");

/** The number, when the size depends on no dim. */
export const constantSize = (s: Size): number | undefined => (s.dims.length === 0 ? s.factor : undefined);

export function evalSize(s: Size, dims: Readonly<Record<string, number>>): number {
  return s.dims.reduce((a, d) => a * dims[d]!, s.factor);
}
