// The scalar expressions of the registry's elementwise ops, for the
// backends, the interpreter and the FLOP count: everything that renders or
// evaluates an elementwise op asks here.
import { OPS } from "./registry.ts";
import type { Scalar } from "./scalar/expr.ts";
import type { OpAttrs, OpName, ScalarOpName, ScalarRule } from "./types.ts";

/** Whether the op is one scalar expression (fused elementwise, no backend code). */
export function isScalarOp(op: OpName): op is ScalarOpName {
  return "scalar" in OPS[op];
}

/** The expression of a scalar op with these attributes; `training` false where dropout is off. */
export function registryScalar<K extends ScalarOpName>(op: K, attrs: OpAttrs[K], training: boolean): Scalar {
  return (OPS[op] as unknown as { readonly scalar: ScalarRule<K> }).scalar(attrs, training);
}

/** A graph node's expression, or undefined when its op is not a scalar op. */
export function scalarOf(node: { readonly op: OpName; readonly attrs: unknown }, training: boolean): Scalar | undefined {
  return isScalarOp(node.op) ? registryScalar(node.op, node.attrs as never, training) : undefined;
}

/**
 * Whether a scalar op's expression needs setup before its loop (a dropout
 * key), in training where that is when it does: such an op fuses into loops
 * but not into a matrix product's epilogue.
 */
export function needsSetup(node: { readonly op: OpName; readonly attrs: unknown }): boolean {
  const e = scalarOf(node, true);
  if (e === undefined) return false;
  const visit = (x: Scalar): boolean => {
    switch (x.k) {
      case "arg":
      case "num":
        return false;
      case "fn1":
        return visit(x.x);
      case "fn2":
        return visit(x.a) || visit(x.b);
      case "select":
        return x.cond.k === "keep" || (x.cond.k === "cmp" && (visit(x.cond.a) || visit(x.cond.b))) || visit(x.then) || visit(x.else);
    }
  };
  return visit(e);
}
