// Algebraic simplification, applied as nodes are built (so the backward
// graph never holds `x · 1`, `−(−x)` or two copies of one expression):
// constant folding, identities, and common subexpressions by hash-consing.
import type { OpAttrs, OpName, Shape } from "../ops/types.ts";

/** What the simplifier needs to know about existing nodes. */
export interface NodeView {
  op(id: number): OpName;
  args(id: number): readonly number[];
  attrs(id: number): unknown;
  shape(id: number): Shape;
  /** The value of an unnamed scalar constant node, if it is one. */
  constant(id: number): number | undefined;
}

const SCALAR_FOLD: Partial<Record<OpName, (...xs: number[]) => number>> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: (a, b) => a ** b,
  neg: (a) => -a,
  maximum: (a, b) => Math.max(a, b),
  minimum: (a, b) => Math.min(a, b),
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  abs: Math.abs,
};

const BROADCASTING = new Set<OpName>(["add", "sub", "mul", "div", "pow", "maximum", "minimum"]);

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * The result of a rewrite: an existing node, a constant to make, or a
 * different op to build instead. Undefined: build the node as asked.
 */
export type Rewrite =
  | { readonly kind: "node"; readonly id: number }
  | { readonly kind: "const"; readonly value: number }
  | { readonly kind: "op"; readonly op: OpName; readonly args: readonly number[]; readonly attrs: unknown }
  /** Build `value · id`, with a new constant. */
  | { readonly kind: "scale"; readonly value: number; readonly id: number };

/** One step of rewriting for `op(args)` whose result would have shape `out`. */
export function rewrite<K extends OpName>(op: K, args: readonly number[], attrs: OpAttrs[K], out: Shape, v: NodeView): Rewrite | undefined {
  const c = args.map((a) => v.constant(a));
  const fold = SCALAR_FOLD[op];
  if (fold && c.every((x) => x !== undefined) && out.length === 0) {
    const value = fold(...(c as number[]));
    if (Number.isFinite(value)) return { kind: "const", value };
  }
  const [a, b] = args;
  // An identity may only drop an operand whose shape is already the result's.
  const keep = (id: number): Rewrite | undefined => (sameShape(v.shape(id), out) ? { kind: "node", id } : undefined);
  // x ∘ broadcast(s)  →  x ∘ s: the elementwise op broadcasts by itself, nothing is materialised.
  if (BROADCASTING.has(op) && args.length === 2) {
    for (const i of [0, 1]) {
      const arg = args[i]!;
      const other = args[1 - i]!;
      if (v.op(arg) === "broadcast_to" && sameShape(v.shape(other), out)) {
        const inner = v.args(arg)[0]!;
        return { kind: "op", op, args: i === 0 ? [inner, other] : [other, inner], attrs };
      }
    }
  }
  switch (op) {
    case "add":
      if (c[1] === 0) return keep(a!);
      if (c[0] === 0) return keep(b!);
      break;
    case "sub":
      if (c[1] === 0) return keep(a!);
      if (c[0] === 0 && sameShape(v.shape(b!), out)) return { kind: "op", op: "neg", args: [b!], attrs: {} };
      break;
    case "mul": {
      if (c[1] === 1) return keep(a!);
      if (c[0] === 1) return keep(b!);
      // (1 / n) · x  →  x / n, so gradients read as they are written on paper.
      for (const [s, x] of [
        [a!, b!],
        [b!, a!],
      ] as const) {
        if (v.op(s) === "div" && v.constant(v.args(s)[0]!) === 1 && sameShape(v.shape(x), out)) {
          return { kind: "op", op: "div", args: [x, v.args(s)[1]!], attrs: {} };
        }
      }
      // c₁ · (c₂ · x)  →  (c₁c₂) · x
      if (c[0] !== undefined && v.op(b!) === "mul" && v.constant(v.args(b!)[0]!) !== undefined) {
        return { kind: "scale", value: c[0] * v.constant(v.args(b!)[0]!)!, id: v.args(b!)[1]! };
      }
      break;
    }
    case "div":
      if (c[1] === 1) return keep(a!);
      break;
    case "pow":
      if (c[1] === 1) return keep(a!);
      break;
    case "neg":
      if (v.op(a!) === "neg") return keep(v.args(a!)[0]!);
      break;
    case "transpose":
      if (v.op(a!) === "transpose") return keep(v.args(a!)[0]!);
      if (v.shape(a!).length < 2) return keep(a!);
      break;
    case "reshape":
    case "sum_to":
    case "broadcast_to":
      if (sameShape(v.shape(a!), out)) return keep(a!);
      // broadcast(reshape(s)) of a scalar s is broadcast(s)
      if (op === "broadcast_to" && v.op(a!) === "reshape" && v.shape(v.args(a!)[0]!).length === 0) {
        return { kind: "op", op, args: [v.args(a!)[0]!], attrs };
      }
      if (op === "reshape" && v.op(a!) === "reshape") return { kind: "op", op: "reshape", args: [v.args(a!)[0]!], attrs };
      break;
  }
  return undefined;
}

/** A hash-consing key: equal keys mean equal values. */
export function nodeKey(op: OpName, args: readonly number[], attrs: unknown): string {
  return `${op}(${args.join(",")})${JSON.stringify(attrs)}`;
}
