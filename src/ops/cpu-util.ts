// Small helpers the ops' CPU rules share: products of size expressions and
// the (outer, len, inner) view of an axis that the runtime's axis kernels take.
import type { CpuValue } from "./types.ts";

export function product(dims: readonly string[]): string {
  const nums = dims.filter((d) => /^\d+$/.test(d)).reduce((a, d) => a * Number(d), 1);
  const syms = dims.filter((d) => !/^\d+$/.test(d));
  if (syms.length === 0) return String(nums);
  return [...syms, ...(nums !== 1 ? [String(nums)] : [])].join(" * ");
}

/** The view of x around `axis` (null: everything is one axis). */
export function axisView(x: CpuValue, axis: number | null): { outer: string; len: string; inner: string } {
  if (axis === null) return { outer: "1", len: x.size, inner: "1" };
  const a = axis < 0 ? axis + x.shape.length : axis;
  return { outer: product(x.shape.slice(0, a)), len: x.shape[a] ?? "1", inner: product(x.shape.slice(a + 1)) };
}

/** Rows × width of a [..., width] value: the layout of the class losses. */
export function rowsOf(x: CpuValue): { rows: string; width: string } {
  if (x.shape.length === 0) return { rows: "1", width: "1" };
  return { rows: product(x.shape.slice(0, -1)), width: x.shape[x.shape.length - 1]! };
}

/**
 * Where `small` (aligned to big's last axis) repeats along big's leading
 * axes: its axes from the first that is not `one` equal big's last ones, with
 * only `one`s before. The index of big's axis where that trailing block
 * starts (big.length when small is all `one`s); null for any other broadcast
 * (a 1 between sizes). Used on shapes (`one` 1) and on their size
 * expressions (`one` "1").
 */
export function trailingStart<T>(small: readonly T[], big: readonly T[], one: T): number | null {
  const first = small.findIndex((d) => d !== one);
  const kept = first < 0 ? [] : small.slice(first);
  const start = big.length - kept.length;
  if (start < 0 || kept.some((d, k) => d !== big[start + k])) return null;
  return start;
}
