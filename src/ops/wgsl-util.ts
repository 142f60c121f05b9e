// Small helpers the ops' WGSL rules share: f32 literals, the (outer, len,
// inner) view of an axis, row-major coordinates, and the workgroup reduction
// that the "rows" kernels (softmax, sums, losses) end with. Sizes are u32
// expressions in the dims' pipeline constants (`dim_batch * 784`).
import { product } from "./cpu-util.ts";
import type { WgslValue } from "./types.ts";

/** Invocations per workgroup of a "rows" kernel: the width of `scratch`. */
export const WGSL_ROW_THREADS = 64;

/** A number as a WGSL f32 literal: `2.0`, `0.01`, `(-1.0)`, `1e-8`. */
export function wnum(v: number): string {
  if (!Number.isFinite(v)) return v > 0 ? "3.4028234663852886e38" : v < 0 ? "(-3.4028234663852886e38)" : "(0.0 / 0.0)";
  const s = String(Math.abs(v));
  const text = /[.e]/.test(s) ? s : `${s}.0`;
  return v < 0 || Object.is(v, -0) ? `(-${text})` : text;
}

/** The view of x around `axis` (null: everything is one axis). */
export function axisView(x: WgslValue, axis: number | null): { outer: string; len: string; inner: string } {
  if (axis === null) return { outer: "1", len: x.size, inner: "1" };
  const a = axis < 0 ? axis + x.shape.length : axis;
  return { outer: product(x.shape.slice(0, a)), len: x.shape[a] ?? "1", inner: product(x.shape.slice(a + 1)) };
}

/** Statements splitting the flat index `flat` of a row-major shape into `let NAME0 … NAMEr: u32` coordinates. */
export function coords(shape: readonly string[], flat: string, name: string): string[] {
  const out: string[] = [];
  for (let k = 0; k < shape.length; k++) {
    const inner = product(shape.slice(k + 1));
    const q = inner === "1" ? flat : `${flat} / (${inner})`;
    out.push(`let ${name}${k}: u32 = ${k === 0 ? q : `(${q}) % (${shape[k]})`};`);
  }
  return out;
}

/**
 * Statements reducing each invocation's `partial` (f32) over the workgroup:
 * afterwards `let NAME: f32` holds the sum (or max) of all of them, in every
 * invocation. The closing barrier lets the caller reduce again.
 */
export function workgroupReduce(partial: string, name: string, combine: "sum" | "max"): string[] {
  const op = (a: string, b: string) => (combine === "sum" ? `${a} + ${b}` : `max(${a}, ${b})`);
  return [
    `scratch[lid] = ${partial};`,
    "workgroupBarrier();",
    `for (var s: u32 = ${WGSL_ROW_THREADS / 2}u; s > 0u; s = s >> 1u) {`,
    `  if (lid < s) { scratch[lid] = ${op("scratch[lid]", "scratch[lid + s]")}; }`,
    "  workgroupBarrier();",
    "}",
    `let ${name}: f32 = scratch[0];`,
    "workgroupBarrier();",
  ];
}

/** A loop over `j` from this invocation's `lid` up to `len`, striding by the workgroup: the body's lines indented. */
export function strided(j: string, len: string, body: readonly string[]): string[] {
  return [`for (var ${j}: u32 = lid; ${j} < ${len}; ${j} = ${j} + ${WGSL_ROW_THREADS}u) {`, ...body.map((l) => `  ${l}`), "}"];
}

/** Strides of a row-major shape, as expressions, one per axis. */
export function strides(shape: readonly string[]): string[] {
  return shape.map((_, k) => product(shape.slice(k + 1)));
}

/** `a * b` without multiplying by 1. */
export function times(a: string, b: string): string {
  if (a === "1") return b;
  if (b === "1") return a;
  return `${a} * ${b}`;
}
