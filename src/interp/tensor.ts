// Dense float64 tensors for the reference interpreter, and the index
// arithmetic its kernels share (row-major strides, numpy broadcasting, axes).
// Integer tensors (ids, argmax) hold integral values in the same Float64Array,
// so one type serves every op and comparisons with backends stay simple.
import type { Shape } from "../ops/types.ts";

export interface Tensor {
  readonly shape: readonly number[];
  readonly data: Float64Array;
}

export function size(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides: the last axis is contiguous. */
export function strides(shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    out[i] = s;
    s *= shape[i]!;
  }
  return out;
}

export function formatDims(shape: readonly (number | string)[]): string {
  return `[${shape.join(", ")}]`;
}

/** A tensor of the given shape: zeros, or a copy of `data` (a number array or Float64Array of exactly the right length). */
export function tensor(shape: readonly number[], data?: ArrayLike<number>): Tensor {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`invalid tensor shape ${formatDims(shape)}`);
  }
  const n = size(shape);
  if (data !== undefined && data.length !== n) {
    throw new Error(`a tensor of shape ${formatDims(shape)} needs ${n} values, got ${data.length}`);
  }
  return { shape: [...shape], data: data === undefined ? new Float64Array(n) : Float64Array.from(data) };
}

export function scalar(value: number): Tensor {
  return { shape: [], data: Float64Array.of(value) };
}

export function sameDims(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** A shape from the IR with every symbolic dim replaced by its bound size. */
export function resolveShape(shape: Shape, dims: ReadonlyMap<string, number>): number[] {
  return shape.map((d) => {
    if (typeof d === "number") return d;
    const v = dims.get(d);
    if (v === undefined) throw new Error(`dim \`${d}\` is not bound to a size (in shape ${formatDims(shape)})`);
    return v;
  });
}

/** numpy broadcasting of two shapes; throws when they do not broadcast. */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = i < rank - a.length ? 1 : a[i - (rank - a.length)]!;
    const db = i < rank - b.length ? 1 : b[i - (rank - b.length)]!;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`cannot broadcast ${formatDims(a)} with ${formatDims(b)}`);
    out.push(da === 1 ? db : da);
  }
  return out;
}

/**
 * For each flat index of `to`, the flat index of `from` that broadcasting
 * reads there. `from` must broadcast to `to` (aligned from the right, each
 * size equal or 1).
 */
export function broadcastIndex(from: readonly number[], to: readonly number[]): Int32Array {
  const lead = to.length - from.length;
  if (lead < 0) throw new Error(`cannot broadcast ${formatDims(from)} to ${formatDims(to)}`);
  const fromStrides = strides(from);
  // The stride of `from` along each axis of `to`; 0 where it is broadcast.
  const bstr = to.map((d, i) => {
    if (i < lead) return 0;
    const f = from[i - lead]!;
    if (f !== d && f !== 1) throw new Error(`cannot broadcast ${formatDims(from)} to ${formatDims(to)}`);
    return f === 1 ? 0 : fromStrides[i - lead]!;
  });
  const n = size(to);
  const out = new Int32Array(n);
  const counter = new Array<number>(to.length).fill(0);
  let offset = 0;
  for (let k = 0; k < n; k++) {
    out[k] = offset;
    // Odometer increment, last axis fastest.
    for (let ax = to.length - 1; ax >= 0; ax--) {
      counter[ax]!++;
      offset += bstr[ax]!;
      if (counter[ax]! < to[ax]!) break;
      offset -= bstr[ax]! * to[ax]!;
      counter[ax] = 0;
    }
  }
  return out;
}

/** Normalises a possibly negative axis, throwing when it is out of range. */
export function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(axis) || a < 0 || a >= rank) throw new Error(`axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/**
 * A shape viewed as [outer, len, inner] around one axis: element (o, j, i)
 * lies at (o · len + j) · inner + i.
 */
export function axisView(shape: readonly number[], axis: number): { outer: number; len: number; inner: number } {
  return { outer: size(shape.slice(0, axis)), len: shape[axis]!, inner: size(shape.slice(axis + 1)) };
}

/** Checks that a value meant as an id is an integer in [0, n), naming the id and n on failure. */
export function checkIndex(v: number, n: number, what: string, of: string): number {
  if (!Number.isInteger(v)) throw new Error(`${what}: id ${v} is not an integer`);
  if (v < 0 || v >= n) throw new Error(`${what}: id ${v} is out of range for ${n} ${of} (ids run from 0 to ${n - 1})`);
  return v;
}
