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
