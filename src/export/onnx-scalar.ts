// An elementwise op in ONNX from its one scalar expression (src/ops/scalar):
// each function, comparison and select becomes a node, a shared
// subexpression one value. Ops with a native ONNX form (Relu, Sigmoid, …)
// keep their own rule; every other scalar op (gelu, silu, softplus, elu, the
// derived slopes) is written from its formula, so it needs no rule here.
import { registryScalar } from "../ops/scalar-rule.ts";
import type { Cond, Fn1, Fn2, Scalar } from "../ops/scalar/expr.ts";
import type { ScalarOpName } from "../ops/types.ts";
import type { Rule } from "./onnx-rules.ts";

const FN1: { readonly [F in Fn1]: string } = { neg: "Neg", exp: "Exp", log: "Log", tanh: "Tanh", sqrt: "Sqrt", abs: "Abs", sign: "Sign" };
const FN2: { readonly [F in Fn2]: string } = { add: "Add", sub: "Sub", mul: "Mul", div: "Div", pow: "Pow", max: "Max", min: "Min" };
const CMP: { readonly [C in Extract<Cond, { k: "cmp" }>["op"]]: string } = { ">": "Greater", ">=": "GreaterOrEqual", "==": "Equal" };

/** The rule that writes op K from its scalar expression (dropout's keep-mask has no such form: its own rule feeds the mask). */
export function fromScalar<K extends ScalarOpName>(op: K): Rule<K> {
  return ({ b, args, attrs, out, training }) => {
    const memo = new Map<Scalar, string>();
    const cond = (c: Cond): string => {
      if (c.k === "keep") throw new Error(`internal: ${op}'s keep-mask has no ONNX form`);
      return b.op(CMP[c.op], [value(c.a), value(c.b)]);
    };
    const value = (e: Scalar, name?: string): string => {
      const known = memo.get(e);
      if (known !== undefined) return known;
      let v: string;
      if (e.k === "arg") v = args[e.i]!;
      else if (e.k === "num") v = b.floats([e.v]);
      else if (e.k === "fn1") v = b.op(FN1[e.f], [value(e.x)], {}, name);
      else if (e.k === "fn2") v = b.op(FN2[e.f], [value(e.a), value(e.b)], {}, name);
      else v = b.op("Where", [cond(e.cond), value(e.then), value(e.else)], {}, name);
      memo.set(e, v);
      return v;
    };
    const root = registryScalar(op, attrs, training);
    return root.k === "arg" || root.k === "num" ? b.op("Identity", [value(root)], {}, out) : value(root, out);
  };
}
