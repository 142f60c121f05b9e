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
